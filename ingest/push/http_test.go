package push

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func newServer(t *testing.T, maxBody int64) (*httptest.Server, *Handlers, func(string, int64, int64) map[int64]float64) {
	t.Helper()
	db := openStore(t)
	w, err := NewWriter(db, WriterConfig{Template: exactTemplate(t), Grace: 5 * time.Second, MaxDelay: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHandlers(w, HandlerConfig{MaxBodyBytes: maxBody})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/write", h.ServeWrite)
	mux.HandleFunc("/api/v1/points", h.ServePoints)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, h, func(s string, from, to int64) map[int64]float64 { return stored(t, db, s, from, to) }
}

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func post(t *testing.T, url, body string, gzipped bool) (int, map[string]any) {
	t.Helper()
	b := []byte(body)
	if gzipped {
		b = gz(t, b)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if gzipped {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("body %q: %v", raw, err)
		}
	}
	return resp.StatusCode, m
}

func TestHTTPWrite(t *testing.T) {
	t.Parallel()
	srv, h, fetch := newServer(t, 4096)
	w := srv.URL + "/api/v1/write"
	tests := []struct {
		name    string
		url     string
		body    string
		gzipped bool
		status  int
		msg     string
		line    float64
	}{
		{"ok with precision", w + "?precision=s", fmt.Sprintf("cpu,host=a v=1 %d\ncpu,host=a v=2 %d\n", base+1, base+2), false, 204, "", 0},
		{"gzip, ms", w + "?precision=ms", fmt.Sprintf("cpu,host=a v=3 %d000\n", base+3), true, 204, "", 0},
		{"ns default", w, fmt.Sprintf("cpu,host=a v=4 %d000000000", base+4), false, 204, "", 0},
		{"bad line", w + "?precision=s", fmt.Sprintf("cpu,host=a v=5 %d\n\ncpu,host=a v=\n", base+5), false, 400, "line 3", 3},
		{"bad precision", w + "?precision=d", "cpu v=1", false, 400, "precision", 0},
		{"late", w + "?precision=s", fmt.Sprintf("cpu,host=a v=9 %d\ncpu,host=a v=6 %d", base+2, base+6), false, 400, "partial write: 1 points stored durably, 1 late", 0},
		{"too large", w, "cpu v=1 " + strings.Repeat(" ", 5000), false, 413, "larger than 4096", 0},
		{"too large after gunzip", w, "cpu v=1 " + strings.Repeat(" ", 5000), true, 413, "larger than 4096", 0},
	}
	for _, tc := range tests {
		status, body := post(t, tc.url, tc.body, tc.gzipped)
		if status != tc.status {
			t.Errorf("%s: status %d %v, want %d", tc.name, status, body, tc.status)
			continue
		}
		if tc.msg != "" && !strings.Contains(fmt.Sprint(body["message"]), tc.msg) {
			t.Errorf("%s: message %q, want %q", tc.name, body["message"], tc.msg)
		}
		if tc.line != 0 && body["line"] != tc.line {
			t.Errorf("%s: line %v, want %v", tc.name, body["line"], tc.line)
		}
	}
	got := fetch("cpu.v;host=a", base, base+10)
	// The bad-line body's valid line (v=5) is stored, as InfluxDB does.
	want := map[int64]float64{base + 1: 1, base + 2: 2, base + 3: 3, base + 4: 4, base + 5: 5, base + 6: 6}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("stored %v, want %v", got, want)
	}
	// A gzip header that isn't gzip, and a GET.
	req, _ := http.NewRequest(http.MethodPost, w, strings.NewReader("cpu v=1"))
	req.Header.Set("Content-Encoding", "gzip")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 400 {
		t.Errorf("bad gzip: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if resp, err := http.Get(w); err != nil || resp.StatusCode != 405 {
		t.Errorf("GET: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	wantStats := HandlerStats{Requests: 10, Bad: 3, TooLarge: 2, Partial: 2, Points: 7, Late: 1}
	if st := h.Stats(); st != wantStats {
		t.Errorf("stats %+v, want %+v", st, wantStats)
	}
}

func TestHTTPPoints(t *testing.T) {
	t.Parallel()
	srv, _, fetch := newServer(t, 1<<20)
	u := srv.URL + "/api/v1/points"
	status, body := post(t, u, fmt.Sprintf(`[{"timestamp":%d,"name":"req","value":1,"tags":{"route":"GET:/g","status_code":"200"}},
		{"timestamp":"2026-11-22T14:00:02Z","name":"req","value":"2","units":"ms","tags":{"status_code":"200","route":"GET:/g"}}]`, base+1), true)
	if status != 200 || body["accepted"] != 2.0 {
		t.Fatalf("status %d %v", status, body)
	}
	if got := fetch("req;route=GET:/g;status_code=200", base, base+3); got[base+1] != 1 || got[base+2] != 2 {
		t.Errorf("stored %v", got)
	}
	status, body = post(t, u, `[{"timestamp":1,"name":"a","value":1},{"timestamp":1,"name":"a","value":"x"}]`, false)
	// The bad point is named; the good one is stored (the body streams).
	if status != 400 || body["point"] != 1.0 || body["accepted"] != 1.0 || body["bad"] != 1.0 || !strings.Contains(fmt.Sprint(body["message"]), "point 1: value") {
		t.Errorf("bad point: %d %v", status, body)
	}
}

// 100,000 points over HTTP (four concurrent clients) and 100,000 over
// Graphite TCP: every one is found in the store with its value.
func TestHundredThousandPoints(t *testing.T) {
	t.Parallel()
	const nSeries, nSec = 100, 1000
	value := func(s, sec int) int { return s*100000 + sec }
	check := func(t *testing.T, fetch func(string, int64, int64) map[int64]float64, name func(int) string) {
		t.Helper()
		missing := 0
		for s := 0; s < nSeries; s++ {
			got := fetch(name(s), base, base+nSec)
			for sec := 1; sec <= nSec; sec++ {
				if v, ok := got[base+int64(sec)]; !ok || v != float64(value(s, sec)) {
					missing++
				}
			}
		}
		if missing > 0 {
			t.Errorf("%d of %d points missing or wrong", missing, nSeries*nSec)
		}
	}

	t.Run("http", func(t *testing.T) {
		t.Parallel()
		srv, h, fetch := newServer(t, 32<<20)
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for c := 0; c < 4; c++ {
			wg.Go(func() {
				// Each client owns 25 series and sends 50 seconds of them per request.
				for from := 1; from <= nSec; from += 50 {
					var b strings.Builder
					for sec := from; sec < from+50; sec++ {
						for s := c * 25; s < (c+1)*25; s++ {
							fmt.Fprintf(&b, "load,host=h%03d v=%di %d\n", s, value(s, sec), base+sec)
						}
					}
					resp, err := http.Post(srv.URL+"/api/v1/write?precision=s", "text/plain", strings.NewReader(b.String()))
					if err != nil {
						errs <- err
						return
					}
					resp.Body.Close()
					if resp.StatusCode != 204 {
						errs <- fmt.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if st := h.Stats(); st.Points != nSeries*nSec || st.Partial+st.Bad+st.Failed != 0 {
			t.Errorf("stats %+v", st)
		}
		check(t, fetch, func(s int) string { return fmt.Sprintf("load.v;host=h%03d", s) })
	})

	t.Run("graphite", func(t *testing.T) {
		t.Parallel()
		db := openStore(t)
		w, err := NewWriter(db, WriterConfig{Template: exactTemplate(t), Grace: 5 * time.Second, MaxDelay: 5 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		g, err := ListenGraphite("127.0.0.1:0", w, GraphiteConfig{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- g.Serve(ctx) }()
		for c := 0; c < 2; c++ {
			conn, err := net.Dial("tcp", g.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			for sec := 1; sec <= nSec; sec++ {
				for s := c * 50; s < (c+1)*50; s++ {
					fmt.Fprintf(&b, "load.h%03d;dc=x %d %d\n", s, value(s, sec), base+sec)
				}
			}
			if _, err := conn.Write(b.Bytes()); err != nil {
				t.Fatal(err)
			}
			if err := conn.Close(); err != nil {
				t.Fatal(err)
			}
		}
		// The server writes a connection's points before counting it done;
		// the wait is bounded.
		deadline := time.Now().Add(2 * time.Minute)
		for g.Stats().ConnsDone < 2 {
			if time.Now().After(deadline) {
				t.Fatalf("connections not done: %+v", g.Stats())
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		if err := <-served; err != nil {
			t.Fatal(err)
		}
		if st := g.Stats(); st.Points != nSeries*nSec || st.Bad != 0 || st.Late != 0 || st.Refused != 0 {
			t.Errorf("stats %+v", st)
		}
		check(t, func(s string, a, b int64) map[int64]float64 { return stored(t, db, s, a, b) },
			func(s int) string { return fmt.Sprintf("load.h%03d;dc=x", s) })
	})
}
