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

// BenchmarkPushLoad: 100 clients push one point each of their own series
// at a fixed total rate, each waiting for its acknowledgement before its
// next push (as an HTTP client awaits its 204), for b.N pushes; default
// writer configuration. A latency runs from the push's start to its
// acknowledgement. Run with -benchtime 2000x for two seconds at 1,000
// pushes/s.
func BenchmarkPushLoad(b *testing.B) {
	for _, rate := range []int{1000} {
		b.Run(fmt.Sprintf("%d/s", rate), func(b *testing.B) {
			db := openStore(b)
			w, err := NewWriter(db, WriterConfig{})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			const clients = 100
			for c := range clients { // create the series first
				if _, err := w.Write(ctx, []Point{{Series: fmt.Sprintf("load.s%d", c), Sec: base, Value: "0"}}); err != nil {
					b.Fatal(err)
				}
			}
			lat := make([]time.Duration, b.N)
			var wg sync.WaitGroup
			interval := time.Second / time.Duration(rate)
			b.ResetTimer()
			start := time.Now()
			for c := range clients {
				wg.Go(func() {
					for i := c; i < b.N; i += clients {
						if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
							time.Sleep(d)
						}
						t0 := time.Now()
						p := Point{Series: fmt.Sprintf("load.s%d", c), Sec: base + 1 + int64(i/clients), Value: "1"}
						res, err := w.Write(ctx, []Point{p})
						lat[i] = time.Since(t0)
						if err != nil || res.Accepted != 1 {
							b.Errorf("push %d: %+v %v", i, res, err)
							return
						}
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
