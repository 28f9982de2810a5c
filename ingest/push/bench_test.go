package push

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// benchBody is n lines of the request series: 4 tags, two numeric
// fields and one string field (ignored), sets distinct tag sets, one
// point per tag set and second from sec0 on.
func benchBody(n, sets int, sec0 int64) []byte {
	var b strings.Builder
	for i := 0; i < n; i++ {
		k := i % sets
		fmt.Fprintf(&b, "http,service=web%d,route=GET:/g/%d,status_code=200,host=h%d execution_time=0.%03d,count=%di,request_id=\"r%d\" %d\n",
			k%10, k%100, k/100, i%1000, i, i, (sec0+int64(i/sets))*1e9)
	}
	return []byte(b.String())
}

// BenchmarkParseConvert: line protocol parsed and converted to points, one core.
func BenchmarkParseConvert(b *testing.B) {
	body := benchBody(10000, 1000, base)
	c := &Converter{Precision: Nanosecond}
	var pts []Point
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	n := 0
	for b.Loop() {
		var err error
		pts, err = c.ParseLineProtocol(body, pts[:0])
		if err != nil {
			b.Fatal(err)
		}
		n += len(pts)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkWriteDurable: parse, convert, and write through the Writer into
// a real store (default template: 16 archives) until durable (journal
// fsync); 200 series that exist already, 20,000 points per request.
func BenchmarkWriteDurable(b *testing.B) {
	db := openStore(b)
	w, err := NewWriter(db, WriterConfig{})
	if err != nil {
		b.Fatal(err)
	}
	c := &Converter{Precision: Nanosecond}
	ctx := context.Background()
	sec := int64(base)
	pts, err := c.ParseLineProtocol(benchBody(100, 100, sec), nil) // creates the series
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.Write(ctx, pts); err != nil {
		b.Fatal(err)
	}
	sec++
	n := 0
	for b.Loop() {
		b.StopTimer()
		body := benchBody(10000, 100, sec) // 100 seconds of 100 tag sets
		sec += 100
		b.StartTimer()
		pts, err = c.ParseLineProtocol(body, pts[:0])
		if err != nil {
			b.Fatal(err)
		}
		res, err := w.Write(ctx, pts)
		if err != nil || res.Late+res.Refused > 0 {
			b.Fatalf("%+v %v", res, err)
		}
		n += res.Accepted
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkHandlerWriteDurable: POST /api/v1/write through the HTTP handler
// (body read, parse, convert), the Writer and a real store until durable
// (journal fsync) — what a client's 204 costs, on an in-process request;
// 200 existing series, 20,000 points (1.9 MB) per request.
func BenchmarkHandlerWriteDurable(b *testing.B) {
	db := openStore(b)
	w, err := NewWriter(db, WriterConfig{})
	if err != nil {
		b.Fatal(err)
	}
	h, err := NewHandlers(w, HandlerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	post := func(body []byte) {
		rec := httptest.NewRecorder()
		h.ServeWrite(rec, httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body)))
		if rec.Code != http.StatusNoContent {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	sec := int64(base)
	post(benchBody(100, 100, sec)) // creates the series
	sec++
	n := 0
	for b.Loop() {
		b.StopTimer()
		body := benchBody(10000, 100, sec) // 100 seconds of 100 tag sets, two numeric fields each
		sec += 100
		b.StartTimer()
		post(body)
		n += 20000
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkHandlerWriteDurable4Clients is BenchmarkHandlerWriteDurable with
// four clients posting at once (each its own 200 series), as several
// services pushing to one rrdash do: their writes share store batches and
// journal fsyncs (group commit), so the fsync latency is paid once per
// round instead of once per request. Run with -cpu 1 for one core.
func BenchmarkHandlerWriteDurable4Clients(b *testing.B) {
	const clients = 4
	db := openStore(b)
	w, err := NewWriter(db, WriterConfig{})
	if err != nil {
		b.Fatal(err)
	}
	h, err := NewHandlers(w, HandlerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	post := func(body []byte) error {
		rec := httptest.NewRecorder()
		h.ServeWrite(rec, httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body)))
		if rec.Code != http.StatusNoContent {
			return fmt.Errorf("status %d: %s", rec.Code, rec.Body)
		}
		return nil
	}
	// Client c's lines carry measurement "http<c>": distinct series.
	body := func(c int, n int, sec int64) []byte {
		return bytes.ReplaceAll(benchBody(n, 100, sec), []byte("http,"), fmt.Appendf(nil, "http%d,", c))
	}
	sec := int64(base)
	for c := range clients {
		if err := post(body(c, 100, sec)); err != nil {
			b.Fatal(err)
		}
	}
	sec++
	n := 0
	bodies := make([][]byte, clients)
	errs := make(chan error, clients)
	for b.Loop() {
		b.StopTimer()
		for c := range bodies {
			bodies[c] = body(c, 10000, sec)
		}
		sec += 100
		b.StartTimer()
		for c := range bodies {
			go func() { errs <- post(bodies[c]) }()
		}
		for range bodies {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		n += clients * 20000
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "points/s")
}
