package push

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A point from the far future is refused on both HTTP paths, named, and
// counted; it does not poison the series for real points after it.
func TestHTTPRefusesFuturePoints(t *testing.T) {
	t.Parallel()
	srv, h, fetch := newServer(t, 1<<20)
	now := time.Now().Unix()
	status, body := post(t, srv.URL+"/api/v1/write?precision=s", fmt.Sprintf("poison v=1 253402300799\npoison v=2 %d\n", now-30), false)
	if status != 400 || body["line"] != 1.0 || body["future"] != 1.0 || body["accepted"] != 1.0 ||
		!strings.Contains(fmt.Sprint(body["message"]), "ahead of the server clock") {
		t.Errorf("line protocol: %d %v", status, body)
	}
	if status, body := post(t, srv.URL+"/api/v1/write?precision=s", fmt.Sprintf("poison v=3 %d\n", now-20), false); status != 204 {
		t.Errorf("real point after the poison: %d %v", status, body)
	}
	status, body = post(t, srv.URL+"/api/v1/points", fmt.Sprintf(`[{"timestamp":%d,"name":"poisonj","value":1},{"timestamp":"9999-12-31T23:59:59Z","name":"poisonj","value":2},{"timestamp":%d,"name":"poisonj","value":3}]`, now-30, now-20), false)
	if status != 400 || body["point"] != 1.0 || body["future"] != 1.0 || body["accepted"] != 2.0 {
		t.Errorf("JSON: %d %v", status, body)
	}
	if got := fetch("poison.v", now-60, now); got[now-30] != 2 || got[now-20] != 3 {
		t.Errorf("poison.v stored %v, want the two real points", got)
	}
	if got := fetch("poisonj", now-60, now); got[now-30] != 1 || got[now-20] != 3 {
		t.Errorf("poisonj stored %v, want the two real points", got)
	}
	if st := h.Stats(); st.Future != 2 {
		t.Errorf("stats %+v", st)
	}
}

// Names with bytes that are not UTF-8, or with lone surrogate escapes,
// are refused with the point named (encoding/json would turn both into
// U+FFFD and merge them into one series).
func TestHTTPPointsRefuseInvalidUTF8(t *testing.T) {
	t.Parallel()
	srv, _, fetch := newServer(t, 1<<20)
	for i, tc := range []struct{ name, body, msg string }{
		{"invalid byte", `[{"timestamp":%d,"name":"u8","value":1},{"timestamp":%d,"name":"a` + "\xff" + `","value":2}]`, "invalid UTF-8"},
		{"lone high surrogate", `[{"timestamp":%d,"name":"u8","value":1},{"timestamp":%d,"name":"a\ud800","value":2}]`, "lone surrogate"},
		{"lone low surrogate in a tag", `[{"timestamp":%d,"name":"u8","value":1},{"timestamp":%d,"name":"a","value":2,"tags":{"k":"\udc00x"}}]`, "lone surrogate"},
		{"high surrogate then a letter", `[{"timestamp":%d,"name":"u8","value":1},{"timestamp":%d,"name":"a\ud83d\u0041","value":2}]`, "lone surrogate"},
	} {
		status, body := post(t, srv.URL+"/api/v1/points", fmt.Sprintf(tc.body, base+1+2*i, base+2+2*i), false)
		if status != 400 || body["point"] != 1.0 || body["accepted"] != 1.0 || !strings.Contains(fmt.Sprint(body["message"]), tc.msg) {
			t.Errorf("%s: %d %v", tc.name, status, body)
		}
	}
	// A proper pair is a character.
	if status, body := post(t, srv.URL+"/api/v1/points", fmt.Sprintf(`[{"timestamp":%d,"name":"smile\ud83d\ude00","value":1}]`, base+1), false); status != 200 {
		t.Errorf("surrogate pair: %d %v", status, body)
	}
	if got := fetch("smile\U0001F600", base, base+2); got[base+1] != 1 {
		t.Errorf("stored %v", got)
	}
}

// A body of many batches streams through; a line longer than the chunk is
// refused by number while the rest is stored.
func TestHTTPWriteStreamsBatches(t *testing.T) {
	t.Parallel()
	srv, h, fetch := newServer(t, 64<<20)
	var b bytes.Buffer
	const n = 5 * batchPoints
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "stream,s=%d v=%d %d\n", i%10, i, base+i)
		if i == 100 {
			b.WriteString("long v=1 " + strings.Repeat("9", chunkBytes) + "\n")
		}
	}
	status, body := post(t, srv.URL+"/api/v1/write?precision=s", b.String(), false)
	if status != 400 || body["line"] != 101.0 || body["accepted"] != float64(n) || body["bad"] != 1.0 {
		t.Fatalf("status %d %v", status, body)
	}
	for s := range 10 {
		if got := fetch(fmt.Sprintf("stream.v;s=%d", s), base, base+n); len(got) < 3000 {
			t.Errorf("series s=%d: %d points stored", s, len(got))
		}
	}
	if st := h.Stats(); st.Points != n {
		t.Errorf("stats %+v", st)
	}
}

// Over the in-flight budget a request waits QueueWait, then gets 429 with
// Retry-After; a store that fails gives 503 with Retry-After.
func TestHTTPBusyAndUnavailable(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	w, err := NewWriter(db, WriterConfig{Template: exactTemplate(t), MaxDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHandlers(w, HandlerConfig{MaxInflightBytes: RequestCharge, QueueWait: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(h.ServeWrite))
	defer srv.Close()
	// A chunked body holds the whole budget until it ends.
	pr, pw := io.Pipe()
	slow := make(chan int, 1)
	go func() {
		resp, err := http.Post(srv.URL+"?precision=s", "text/plain", pr)
		if err != nil {
			slow <- 0
			return
		}
		resp.Body.Close()
		slow <- resp.StatusCode
	}()
	fmt.Fprintf(pw, "slow v=1 %d\n", base+1)
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Post(srv.URL+"?precision=s", "text/plain", strings.NewReader(fmt.Sprintf("fast v=1 %d\n", base+1)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			if resp.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never 429 while the budget is held: %s", resp.Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
	pw.Close()
	if code := <-slow; code != http.StatusNoContent {
		t.Errorf("slow request: %d", code)
	}
	if st := h.Stats(); st.Busy == 0 {
		t.Errorf("stats %+v", st)
	}
	// Room again once the slow request ended.
	if status, body := post(t, srv.URL+"?precision=s", fmt.Sprintf("fast v=1 %d\n", base+2), false); status != 204 {
		t.Errorf("after the slow request: %d %v", status, body)
	}
	// The store goes away: 503 with Retry-After.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(srv.URL+"?precision=s", "text/plain", strings.NewReader(fmt.Sprintf("gone v=1 %d\n", base+3)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("closed store: %s, Retry-After %q", resp.Status, resp.Header.Get("Retry-After"))
	}
}

// paddedBody generates a body of size bytes without holding it: JSON
// points or line-protocol lines, one every `every` bytes, padded with
// whitespace (JSON) or comment lines (line protocol). It reports how many
// points it produced.
type paddedBody struct {
	json         bool
	series       string
	size, every  int
	sent, points int
	buf          []byte
	closed       bool
}

func (p *paddedBody) Read(b []byte) (int, error) {
	for len(p.buf) == 0 {
		if p.closed {
			return 0, io.EOF
		}
		left := p.size - p.sent
		switch {
		case p.json && p.sent == 0:
			p.buf = append(p.buf, '[')
		case left <= p.every:
			if p.json {
				p.buf = append(p.buf, ']')
			}
			p.closed = true
		default:
			p.points++
			ts := base + p.points
			var line string
			if p.json {
				sep := ","
				if p.points == 1 {
					sep = ""
				}
				line = fmt.Sprintf(`%s{"timestamp":%d,"name":"%s","value":%d}`, sep, ts, p.series, p.points)
				p.buf = append(p.buf, line...)
				p.buf = append(p.buf, bytes.Repeat([]byte(" "), p.every-len(line))...)
			} else {
				line = fmt.Sprintf("%s v=%d %d\n", p.series, p.points, ts)
				p.buf = append(p.buf, line...)
				p.buf = append(p.buf, '#')
				p.buf = append(p.buf, bytes.Repeat([]byte("-"), p.every-len(line)-2)...)
				p.buf = append(p.buf, '\n')
			}
		}
		p.sent += len(p.buf)
	}
	n := copy(b, p.buf)
	p.buf = p.buf[n:]
	return n, nil
}

// TestHTTPMemoryBounded40x31MB posts 40 bodies of 31 MB at once (half line
// protocol, a quarter JSON) to the real handlers on a loopback server and
// samples the heap: bodies stream, the in-flight budget turns the excess
// away with 429 + Retry-After, clients retry, and every point is stored
// while the heap stays far below what buffering the bodies would take
// (40 × 31 MB = 1.2 GB).
func TestHTTPMemoryBounded40x31MB(t *testing.T) {
	const clients, size, every, ceiling = 40, 31 << 20, 8 << 10, 300 << 20
	jsonEvery := 4 // every 4th client posts JSON (its scanner is the costly part under -race)
	db := openStore(t)
	w, err := NewWriter(db, WriterConfig{Template: exactTemplate(t), MaxDelay: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHandlers(w, HandlerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/write", h.ServeWrite)
	mux.HandleFunc("/api/v1/points", h.ServePoints)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: 10 * time.Second, MaxIdleConnsPerHost: clients}}
	var wg sync.WaitGroup
	var retries atomic.Int64
	points := make([]int, clients)
	errs := make(chan error, clients)
	for c := range clients {
		wg.Go(func() {
			for attempt := 0; ; attempt++ {
				body := &paddedBody{json: c%jsonEvery == jsonEvery-1, series: fmt.Sprintf("mem%02d", c), size: size, every: every}
				url := srv.URL + "/api/v1/write?precision=s"
				if body.json {
					url = srv.URL + "/api/v1/points"
				}
				// Expect: 100-continue lets a 429 come before the upload,
				// as curl does for large bodies.
				req, err := http.NewRequest(http.MethodPost, url, body)
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("Expect", "100-continue")
				resp, err := client.Do(req)
				if err != nil {
					errs <- fmt.Errorf("client %d: %v", c, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "" && attempt < 100 {
					retries.Add(1)
					time.Sleep(100 * time.Millisecond) // the test's stand-in for Retry-After's second
					continue
				}
				if resp.StatusCode/100 != 2 {
					errs <- fmt.Errorf("client %d: %s", c, resp.Status)
					return
				}
				points[c] = body.points
				return
			}
		})
	}
	wg.Wait()
	close(stop)
	<-sampled
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	total := 0
	for c, n := range points {
		total += n
		name := fmt.Sprintf("mem%02d", c)
		if c%jsonEvery != jsonEvery-1 {
			name += ".v"
		}
		if last, err := db.LastUpdate(name); err != nil || last != int64(base+n) {
			t.Errorf("%s: last update %d, %v; want %d", name, last, err, base+n)
		}
	}
	t.Logf("peak heap in use %.1f MB for %d × %d MB bodies (%d points, %d retries after 429)",
		float64(peak.Load())/(1<<20), clients, size>>20, total, retries.Load())
	if p := peak.Load(); p > ceiling {
		t.Errorf("peak heap in use %d MB, ceiling %d MB", p>>20, ceiling>>20)
	}
	if st := h.Stats(); st.Points != int64(total) {
		t.Errorf("stats %+v, want %d points", st, total)
	}
}
