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
func BenchmarkDBApply(b *testing.B) {
	db, err := Open(b.TempDir(), Options{})
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

// BenchmarkDBApplyOneShot is BenchmarkDBApply as the CLI runs it: rows
// collected in runs and written with pwrite (no mapping).
func BenchmarkDBApplyOneShot(b *testing.B) {
	db, err := Open(b.TempDir(), Options{OneShot: true})
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
	}{{"group=1000", 1000}, {"group=1", 1}} {
		b.Run(tc.name, func(b *testing.B) {
			db, err := Open(b.TempDir(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			spec := DefaultTemplate()
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
