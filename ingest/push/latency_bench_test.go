package push

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// reportLatency reports the median, p99 and maximum of lat in milliseconds.
func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	q := func(f float64) float64 {
		return float64(lat[min(len(lat)-1, int(f*float64(len(lat))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1])/float64(time.Millisecond), "max-ms")
}

// BenchmarkPushIdle: one small push (one point of an existing series) at a
// time into an idle writer, with the writer's default configuration (what
// serve uses): how long until it is acknowledged, that is durable.
func BenchmarkPushIdle(b *testing.B) {
	db := openStore(b)
	w, err := NewWriter(db, WriterConfig{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	sec := int64(base)
	var lat []time.Duration
	for b.Loop() {
		t0 := time.Now()
		res, err := w.Write(ctx, []Point{{Series: "idle.push", Sec: sec, Value: "1"}})
		lat = append(lat, time.Since(t0))
		if err != nil || res.Accepted != 1 {
			b.Fatalf("%+v %v", res, err)
		}
		sec++
	}
	reportLatency(b, lat)
}

// BenchmarkPushLoad: pushes of one point each (100 series in turn) started
// at a fixed rate, each in its own goroutine as HTTP requests are, for
// b.N pushes; default writer configuration. The latencies are from each
// push's start to its acknowledgement. Run with -benchtime 2000x for two
// seconds at 1,000 pushes/s.
func BenchmarkPushLoad(b *testing.B) {
	for _, rate := range []int{1000} {
		b.Run(fmt.Sprintf("%d/s", rate), func(b *testing.B) {
			db := openStore(b)
			w, err := NewWriter(db, WriterConfig{})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			const series = 100
			for i := range series { // create them first
				if _, err := w.Write(ctx, []Point{{Series: fmt.Sprintf("load.s%d", i), Sec: base, Value: "0"}}); err != nil {
					b.Fatal(err)
				}
			}
			lat := make([]time.Duration, b.N)
			var wg sync.WaitGroup
			interval := time.Second / time.Duration(rate)
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
					time.Sleep(d)
				}
				wg.Go(func() {
					t0 := time.Now()
					p := Point{Series: fmt.Sprintf("load.s%d", i%series), Sec: base + 1 + int64(i/series), Value: "1"}
					res, err := w.Write(ctx, []Point{p})
					lat[i] = time.Since(t0)
					if err != nil || res.Accepted != 1 {
						b.Errorf("push %d: %+v %v", i, res, err)
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pushes/s")
			reportLatency(b, lat)
		})
	}
}
