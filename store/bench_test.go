package store

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// cpuNanos is the process's user and system CPU time: on a shared machine
// it varies far less than the wall time benchmarks report.
func cpuNanos() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkEngineUpdate is the in-process update path on one core: parse
// and apply a GAUGE+COUNTER reading to a series with three archives.
func BenchmarkEngineUpdate(b *testing.B) {
	spec := Spec{Step: 10, Start: 1000000000, DS: []DS{{Name: "a", Type: Gauge, Heartbeat: 100, Min: math.NaN(), Max: math.NaN()},
		{Name: "b", Type: Counter, Heartbeat: 100, Min: math.NaN(), Max: math.NaN()}},
		RRA: []RRA{{CF: Average, XFF: 0.5, Steps: 1, Rows: 8640}, {CF: Max, XFF: 0.5, Steps: 6, Rows: 1440}, {CF: Average, XFF: 0.5, Steps: 360, Rows: 1000}}}
	r, _ := NewRRD(spec)
	vals := make([][]string, 1000)
	for i := range vals {
		vals[i] = []string{fmt.Sprintf("%d.%d", i, i%7), fmt.Sprint(i * 37)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := r.Update(1000000000+int64(i+1)*10, 0, vals[i%1000]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
}

// BenchmarkDBApply is the durable path: journal + fsync per batch of 1,000.
func BenchmarkDBApply(b *testing.B) { benchDBApply(b, Options{}) }

// BenchmarkDBApplyOneShot is BenchmarkDBApply as the CLI runs it: rows
// collected in runs and written with pwrite (no mapping).
func BenchmarkDBApplyOneShot(b *testing.B) { benchDBApply(b, Options{OneShot: true}) }

// benchDBApply applies batches of 1,000 updates of one series to a data
// directory opened with opts.
func benchDBApply(b *testing.B, opts Options) {
	db, err := Open(b.TempDir(), opts)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	spec, _ := ParseSpecArgs(10, 1000000000, []string{"DS:a:GAUGE:100:U:U", "RRA:AVERAGE:0.5:1:8640", "RRA:MAX:0.5:6:1440"})
	db.Create("s", spec, true)
	b.ResetTimer()
	t := int64(1000000000)
	for i := 0; i < b.N; i++ {
		batch := Batch{Updates: make([]Update, 1000)}
		for k := range batch.Updates {
			t += 10
			batch.Updates[k] = Update{Series: "s", Time: t, Values: []string{"1.5"}}
		}
		if _, err := db.Apply(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "updates/s")
}

// BenchmarkFetchRows reads a whole ring of 100,000 rows of two data
// sources from a mapped archive, in the format without row checksums and
// in the one with them (every block verified).
func BenchmarkFetchRows(b *testing.B) {
	for _, v := range []int{2, fileVersion} {
		b.Run(fmt.Sprintf("format=%d", v), func(b *testing.B) {
			dir := b.TempDir()
			spec, _ := ParseSpecArgs(10, 1000000000, []string{"DS:a:GAUGE:100:U:U", "DS:b:GAUGE:100:U:U", "RRA:AVERAGE:0.5:1:100000"})
			st := initialState(&spec)
			st.lastUp = 1000000000 + 10*100000
			rows := make([][]float64, 1)
			rows[0] = make([]float64, 200000)
			for i := range rows[0] {
				rows[0][i] = float64(i)
			}
			st.curRow[0] = 99999
			os.MkdirAll(filepath.Join(dir, "series"), 0o755)
			if err := createArchiveVersion(filepath.Join(dir, "series", "s.rrd"), "s", &spec, nil, st, rows, v); err != nil {
				b.Fatal(err)
			}
			db, err := Open(dir, Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			req := FetchRequest{CF: Average, Start: 1000000000 + 10, End: st.lastUp, Resolution: 10}
			b.ResetTimer()
			cpu0 := cpuNanos()
			for i := 0; i < b.N; i++ {
				res, err := db.Fetch("s", req)
				if err != nil || res.Rows() < 99999 || math.IsNaN(res.Values[0][500]) {
					b.Fatalf("%v %d", err, res.Rows())
				}
			}
			b.ReportMetric(float64(b.N*100000)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(cpuNanos()-cpu0)/float64(b.N*100000), "cpu-ns/row")
		})
	}
}

// BenchmarkFlushRows is the write path without the journal: updates
// applied to an archive file (GAUGE+COUNTER, three archives) and their
// rows written, mapped (server) or with pwrite (one-shot), per batch of 1
// or 1,000 updates, in the format without row checksums and the one with.
func BenchmarkFlushRows(b *testing.B) {
	spec, _ := ParseSpecArgs(10, 1000000000, []string{"DS:a:GAUGE:100:U:U", "DS:b:COUNTER:100:U:U",
		"RRA:AVERAGE:0.5:1:8640", "RRA:MAX:0.5:6:1440", "RRA:AVERAGE:0.5:360:1000"})
	vals := make([][]string, 1000)
	for i := range vals {
		vals[i] = []string{fmt.Sprintf("%d.%d", i, i%7), fmt.Sprint(i * 37)}
	}
	for _, batch := range []int{1, 1000} {
		for _, unmapped := range []bool{false, true} {
			for _, v := range []int{2, fileVersion} {
				b.Run(fmt.Sprintf("batch=%d/pwrite=%v/format=%d", batch, unmapped, v), func(b *testing.B) {
					p := filepath.Join(b.TempDir(), "s.rrd")
					if err := createArchiveVersion(p, "s", &spec, nil, initialState(&spec), nil, v); err != nil {
						b.Fatal(err)
					}
					a, err := openArchive(p, trust{ckpt: 1}, unmapped, nil)
					if err != nil {
						b.Fatal(err)
					}
					defer a.close()
					var bufs [][]byte
					a.bufs = &bufs
					t := int64(1000000000)
					b.ResetTimer()
					cpu0 := cpuNanos()
					for i := 0; i < b.N; i++ {
						for k := 0; k < batch; k++ {
							t += 10
							if err := a.eng.update(t, 0, vals[k%1000]); err != nil {
								b.Fatal(err)
							}
						}
						if err := a.flushRows(true); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/update")
					b.ReportMetric(float64(cpuNanos()-cpu0)/float64(b.N*batch), "cpu-ns/update")
				})
			}
		}
	}
}

// BenchmarkCreate creates series of the default template durably: groups
// of 1,000 EnsureAsync calls, each group waiting once (one journal fsync),
// as a writer that meets many new series does.
func BenchmarkCreate(b *testing.B) {
	for _, tc := range []struct {
		name  string
		group int
		spec  Spec
	}{{"group=1000", 1000, DefaultTemplate()}, {"group=1", 1, DefaultTemplate()}, {"graphite/group=1000", 1000, GraphiteTemplate()}} {
		b.Run(tc.name, func(b *testing.B) {
			db, err := Open(b.TempDir(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			spec := tc.spec
			spec.Start = 1700000000
			b.ResetTimer()
			c0 := cpuNanos()
			var wait func() error
			for i := 0; i < b.N; i++ {
				if _, wait, err = db.EnsureAsync(fmt.Sprintf("host%d.cpu.user", i), spec, nil); err != nil {
					b.Fatal(err)
				}
				if (i+1)%tc.group == 0 || i == b.N-1 {
					if err := wait(); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creations/s")
			b.ReportMetric(float64(cpuNanos()-c0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// whisperBytes is the size of a whisper file for the given archives
// (points each): 16 bytes of metadata, 12 per archive, 12 per point.
func whisperBytes(points ...int64) int64 {
	n := int64(16 + 12*len(points))
	for _, p := range points {
		n += 12 * p
	}
	return n
}

// BenchmarkDiskPerSeries measures the disk blocks (st_blocks × 512) one
// series takes: new, after a day and after 30 days of one value a minute,
// and fully written (every row: the file's size), beside whisper's size
// for the same retention.
func BenchmarkDiskPerSeries(b *testing.B) {
	for _, tc := range []struct {
		name string
		spec Spec
	}{{"default", DefaultTemplate()}, {"graphite", GraphiteTemplate()}} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				dir := b.TempDir()
				db, err := Open(dir, Options{})
				if err != nil {
					b.Fatal(err)
				}
				spec := tc.spec
				spec.Start = 1700000000 - 1700000000%86400
				if err := db.Create("s", spec, false); err != nil {
					b.Fatal(err)
				}
				p, _, _ := archiveAt(b, dir, "s") // the only series in its pack
				blocks := func() float64 {
					var st syscall.Stat_t
					if err := syscall.Stat(p, &st); err != nil {
						b.Fatal(err)
					}
					return float64(st.Blocks * 512)
				}
				b.ReportMetric(blocks(), "new-B")
				t := spec.Start
				for _, days := range []int64{1, 29} {
					for d := int64(0); d < days; d++ {
						batch := Batch{Updates: make([]Update, 0, 1440)}
						for k := 0; k < 1440; k++ {
							t += 60
							batch.Updates = append(batch.Updates, Update{Series: "s", Time: t, Values: []string{"42.5"}})
						}
						if _, err := db.Apply(context.Background(), batch); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(blocks(), fmt.Sprintf("day%d-B", days+map[int64]int64{1: 0, 29: 1}[days]))
				}
				fi, _ := os.Stat(p)
				b.ReportMetric(float64(fi.Size()), "full-B")
				var points []int64
				seen := map[[2]int64]bool{}
				for _, r := range spec.RRA {
					if !seen[[2]int64{r.Steps, r.Rows}] {
						seen[[2]int64{r.Steps, r.Rows}] = true
						points = append(points, r.Rows)
					}
				}
				b.ReportMetric(float64(whisperBytes(points...)), "whisper-B")
				db.Close()
			}
		})
	}
}

// BenchmarkApplyAsyncOneSeries is the rrdcached group commit's store call
// for one series (issue 22's workload a): batches of 4,096 numeric
// readings of a one-DS series, 10 s apart, each closing a step, applied
// and journaled; only ApplyAsync is timed, not the fsync it waits for.
func BenchmarkApplyAsyncOneSeries(b *testing.B) {
	db, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	spec, _ := ParseSpecArgs(10, 1700000000, []string{"DS:v:GAUGE:600:U:U", "RRA:AVERAGE:0.5:1:1000", "RRA:MAX:0.5:60:100"})
	if err := db.Create("s", spec, true); err != nil {
		b.Fatal(err)
	}
	const n = 4096
	batch := Batch{Updates: make([]Update, n)}
	nums := make([]float64, n)
	t := int64(1700000000)
	for b.Loop() {
		b.StopTimer()
		for k := range batch.Updates {
			t += 10
			nums[k] = float64(k % 97)
			batch.Updates[k] = Update{Series: "s", Time: t, Nums: nums[k : k+1 : k+1]}
		}
		b.StartTimer()
		res, wait, err := db.ApplyAsync(context.Background(), batch)
		if err != nil || len(res.Errors) > 0 {
			b.Fatal(err, res.Errors)
		}
		b.StopTimer()
		if err := wait(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "updates/s")
}
