package push

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// BenchmarkInfluxExisting: line protocol over loopback HTTP into 1,000
// existing series × 60 points per op, the peer benchmark's shape (bodies
// of about 50,000 lines, each body its own series, four bodies in
// flight), through serve's writer into a real store; an op ends once every
// body is answered 204, that is durable. The series are made by Graphite
// points first, as in the peer benchmark (Graphite template).
func BenchmarkInfluxExisting(b *testing.B) { benchInfluxExisting(b, 1000) }

// BenchmarkInfluxExisting10k is BenchmarkInfluxExisting with the peer
// benchmark's 10,000 series.
func BenchmarkInfluxExisting10k(b *testing.B) { benchInfluxExisting(b, 10000) }

func benchInfluxExisting(b *testing.B, series int) {
	db := openStore(b)
	w, err := NewWriter(db, WriterConfig{})
	if err != nil {
		b.Fatal(err)
	}
	h, err := NewHandlers(w, HandlerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(h.ServeWrite))
	defer srv.Close()
	sec := int64(base)
	pts := make([]Point, series)
	for k := range pts {
		pts[k] = Point{Series: fmt.Sprintf("bench.host%d.cpu", k), Sec: sec, Value: "1", Graphite: true}
	}
	if _, err := w.Write(context.Background(), pts); err != nil { // creates the series
		b.Fatal(err)
	}
	sec += 60
	const points, perBody = 60, 50000
	bodies := func() [][]byte {
		var out [][]byte
		per := max(1, perBody/points) // series per body
		for s0 := 0; s0 < series; s0 += per {
			var buf bytes.Buffer
			for p := range points {
				for s := s0; s < min(s0+per, series); s++ {
					fmt.Fprintf(&buf, "bench.host%d cpu=%d.%d %d\n", s, (s+p)%100, p%10, (sec+int64(p)*60)*1e9)
				}
			}
			out = append(out, buf.Bytes())
		}
		sec += points * 60
		return out
	}
	post := func(all [][]byte) {
		var wg sync.WaitGroup
		sem := make(chan struct{}, 4)
		errs := make(chan error, len(all))
		for _, body := range all {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				resp, err := http.Post(srv.URL, "text/plain", bytes.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				defer resp.Body.Close()
				if resp.StatusCode != http.StatusNoContent {
					var msg bytes.Buffer
					msg.ReadFrom(resp.Body)
					errs <- fmt.Errorf("status %d: %s", resp.StatusCode, msg.Bytes())
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
	}
	n := 0
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		all := bodies()
		c0 := processCPU(b)
		b.StartTimer()
		post(all)
		b.StopTimer()
		cpu += processCPU(b) - c0
		b.StartTimer()
		n += series * points
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/point")
	if c := w.Counts(); c.Late+c.Refused > 0 {
		b.Fatalf("%+v", c)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "points/s")
}
