package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
)

// BenchmarkUpdateCommand is one `rrdash update` call with 1,000 ARGs,
// minus process start-up: open, apply, fsync, checkpoint, close.
func BenchmarkUpdateCommand(b *testing.B) {
	dir := b.TempDir()
	ctx := context.Background()
	if err := run(ctx, []string{"--data", dir, "create", "S", "--start", "1000000000", "--step", "10", "DS:a:GAUGE:100:U:U", "DS:b:COUNTER:100:U:U",
		"RRA:AVERAGE:0.5:1:8640", "RRA:MAX:0.5:6:1440", "RRA:AVERAGE:0.5:360:1000"}, nil, io.Discard, io.Discard); err != nil {
		b.Fatal(err)
	}
	k := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		args := []string{"--data", dir, "update", "S"}
		for j := 0; j < 1000; j++ {
			k++
			args = append(args, fmt.Sprintf("%d:%d.%d:%d", 1000000000+10*k, k%1000, k%7, k*37))
		}
		if err := run(ctx, args, nil, io.Discard, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPipeUpdates is pipe mode (rrdash -) over 100 lines of 1,000
// ARGs, in process: the work per update without process start-up.
func BenchmarkPipeUpdates(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		if err := run(ctx, []string{"--data", dir, "create", "S", "--start", "1000000000", "--step", "10", "DS:a:GAUGE:100:U:U", "DS:b:COUNTER:100:U:U",
			"RRA:AVERAGE:0.5:1:8640", "RRA:MAX:0.5:6:1440", "RRA:AVERAGE:0.5:360:1000"}, nil, io.Discard, io.Discard); err != nil {
			b.Fatal(err)
		}
		var in strings.Builder
		k := 0
		for l := 0; l < 100; l++ {
			in.WriteString("update S")
			for j := 0; j < 1000; j++ {
				k++
				fmt.Fprintf(&in, " %d:%d.%d:%d", 1000000000+10*k, k%1000, k%7, k*37)
			}
			in.WriteByte('\n')
		}
		b.StartTimer()
		if err := run(ctx, []string{"--data", dir, "-"}, strings.NewReader(in.String()), io.Discard, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100000)/b.Elapsed().Seconds(), "updates/s")
}

// BenchmarkPipeManySeries is workload (b) in pipe mode, in process: 1,000
// series, one line of 100 ARGs each.
func BenchmarkPipeManySeries(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		var create, in strings.Builder
		for s := 0; s < 1000; s++ {
			fmt.Fprintf(&create, "create s%d --start 1000000000 --step 10 DS:a:GAUGE:100:U:U DS:b:COUNTER:100:U:U RRA:AVERAGE:0.5:1:8640 RRA:MAX:0.5:6:1440 RRA:AVERAGE:0.5:360:1000\n", s)
			fmt.Fprintf(&in, "update s%d", s)
			for k := 0; k < 100; k++ {
				fmt.Fprintf(&in, " %d:%d.%d:%d", 1000000000+10*(k+1), k%1000, k%7, k*37)
			}
			in.WriteByte('\n')
		}
		if err := run(ctx, []string{"--data", dir, "-"}, strings.NewReader(create.String()), io.Discard, io.Discard); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := run(ctx, []string{"--data", dir, "-"}, strings.NewReader(in.String()), io.Discard, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100000)/b.Elapsed().Seconds(), "updates/s")
}

// BenchmarkPipeWorkloads is issue 22's three workloads in pipe mode, in
// process: one "update sN T:V" a line, series round-robin, the series
// created before the clock runs.
func BenchmarkPipeWorkloads(b *testing.B) {
	for _, w := range []struct {
		name            string
		series, updates int
	}{{"1x100000", 1, 100000}, {"1000x100", 1000, 100}, {"10000x10", 10000, 10}} {
		b.Run(w.name, func(b *testing.B) {
			ctx := context.Background()
			for range b.N {
				b.StopTimer()
				dir := b.TempDir()
				var create, in strings.Builder
				for s := range w.series {
					fmt.Fprintf(&create, "create s%d --start 1700000000 --step 10 DS:v:GAUGE:600:U:U RRA:AVERAGE:0.5:1:1000 RRA:MAX:0.5:60:100\n", s)
				}
				for u := range w.updates {
					for s := range w.series {
						fmt.Fprintf(&in, "update s%d %d:%d\n", s, 1700000000+10*(u+1), u%97)
					}
				}
				if err := run(ctx, []string{"--data", dir, "-"}, strings.NewReader(create.String()), io.Discard, io.Discard); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := run(ctx, []string{"--data", dir, "-"}, strings.NewReader(in.String()), io.Discard, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*w.series*w.updates)/b.Elapsed().Seconds(), "updates/s")
		})
	}
}
