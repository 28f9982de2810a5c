package obs

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAppendInfluxLines(t *testing.T) {
	t.Parallel()
	start := time.Unix(1700000000, 123456789)
	tests := []struct {
		name string
		p    Request
		want string
	}{
		{"ok", Request{ID: 0xabc, Start: start, Duration: 1500 * time.Microsecond, Route: "POST:/api/v1/write", Status: 204},
			`requests,route=POST:/api/v1/write,service=svc,status_code=204 request_id="0000000000000abc",execution_time=0.0015 1700000000123456789` + "\n"},
		{"error", Request{ID: 1, Start: start, Duration: time.Second, Route: "GET:/g/{id}", Status: 404, ErrorCode: "not_found"},
			`requests,route=GET:/g/{id},service=svc,status_code=404 request_id="0000000000000001",execution_time=1 1700000000123456789` + "\n" +
				`errors,error_code=not_found,route=GET:/g/{id},service=svc,status_code=404 request_id="0000000000000001" 1700000000123456789` + "\n"},
		{"escapes", Request{ID: 2, Start: start, Route: "GET:/a b,c=d", Status: 200},
			`requests,route=GET:/a\ b\,c\=d,service=svc,status_code=200 request_id="0000000000000002",execution_time=0 1700000000123456789` + "\n"},
		{"panic", Request{ID: 3, Start: start, Route: "unmatched", Status: 500, ErrorCode: ErrorCodePanic},
			`requests,route=unmatched,service=svc,status_code=500 request_id="0000000000000003",execution_time=0 1700000000123456789` + "\n" +
				`errors,error_code=panic,route=unmatched,service=svc,status_code=500 request_id="0000000000000003" 1700000000123456789` + "\n"},
		{"empty tag", Request{ID: 4, Start: start, Route: "", Status: 200},
			`requests,route=none,service=svc,status_code=200 request_id="0000000000000004",execution_time=0 1700000000123456789` + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := string(AppendInfluxLines(nil, "svc", []Request{tc.p})); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestNewInfluxSinkConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     InfluxConfig
		url     string // want write URL
		auth    string
		wantErr string
	}{
		{"v1", InfluxConfig{URL: "http://h:8086/", Database: "mon", RetentionPolicy: "week", Username: "u", Password: "p"},
			"http://h:8086/write?db=mon&precision=ns&rp=week", "Basic dTpw", ""},
		{"v2", InfluxConfig{URL: "https://h", Bucket: "b", Org: "o", Token: "tok"},
			"https://h/api/v2/write?bucket=b&org=o&precision=ns", "Token tok", ""},
		{"both", InfluxConfig{URL: "http://h", Database: "d", Bucket: "b"}, "", "", "not both"},
		{"neither", InfluxConfig{URL: "http://h"}, "", "", "set database"},
		{"v1 token", InfluxConfig{URL: "http://h", Database: "d", Token: "t"}, "", "", "token and org belong to bucket"},
		{"v2 password", InfluxConfig{URL: "http://h", Bucket: "b", Password: "p"}, "", "", "belong to database"},
		{"bad url", InfluxConfig{URL: "h:8086", Database: "d"}, "", "", "want an http"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := NewInfluxSink(tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.writeURL != tc.url || s.auth != tc.auth {
				t.Errorf("url %q auth %q, want %q %q", s.writeURL, s.auth, tc.url, tc.auth)
			}
		})
	}
}

// TestInfluxSinkV2Request checks the InfluxDB 2.x request on the wire
// (Debian ships only InfluxDB 1.6, which the real-server test uses).
func TestInfluxSinkV2Request(t *testing.T) {
	t.Parallel()
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		switch r.URL.Query().Get("bucket") {
		case "bad":
			http.Error(w, `{"code":"invalid"}`, http.StatusBadRequest)
		case "busy":
			http.Error(w, "slow down", http.StatusTooManyRequests)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	pts := []Request{{ID: 1, Start: time.Unix(1, 0), Route: "GET:/", Status: 200}}
	s, err := NewInfluxSink(InfluxConfig{URL: srv.URL, Bucket: "b", Org: "o", Token: "tok", Gzip: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(context.Background(), pts); err != nil {
		t.Fatal(err)
	}
	if got.URL.Path != "/api/v2/write" || got.Header.Get("Authorization") != "Token tok" || got.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("request %s %v", got.URL, got.Header)
	}
	for bucket, permanent := range map[string]bool{"bad": true, "busy": false} {
		s, _ := NewInfluxSink(InfluxConfig{URL: srv.URL, Bucket: bucket})
		err := s.Flush(context.Background(), pts)
		if err == nil || IsPermanent(err) != permanent {
			t.Errorf("bucket %s: err %v, permanent %v", bucket, err, IsPermanent(err))
		}
	}
}

// flakySink fails the first fails flushes (permanently when perm).
type flakySink struct {
	mu      sync.Mutex
	fails   int
	perm    bool
	batches [][]Request
	closed  bool
	block   chan struct{} // when set, Flush waits for it
}

func (s *flakySink) Flush(ctx context.Context, pts []Request) error {
	if s.block != nil {
		<-s.block
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(pts) == 0 {
		return nil
	}
	if s.fails > 0 {
		s.fails--
		if s.perm {
			return Permanent(errors.New("refused"))
		}
		return errors.New("down")
	}
	s.batches = append(s.batches, append([]Request(nil), pts...))
	return nil
}

func (s *flakySink) Close() error { s.mu.Lock(); s.closed = true; s.mu.Unlock(); return nil }

func countsOf(reg *Registry, sink string) map[string]float64 {
	out := map[string]float64{}
	for _, f := range reg.Gather() {
		for _, p := range f.Points {
			if p.LabelValues[0] != sink {
				continue
			}
			switch f.Name {
			case "rrdash_monitoring_points_total":
				out[p.LabelValues[1]] = p.Value
			case "rrdash_monitoring_queue_depth":
				out["queue"] = p.Value
			}
		}
	}
	return out
}

func TestMonitoringQueue(t *testing.T) {
	t.Parallel()
	reg := NewRegistry()
	mon := NewMonitoring(reg, nil)
	retried := &flakySink{fails: 2}
	refused := &flakySink{fails: 1, perm: true}
	blocked := &flakySink{block: make(chan struct{})}
	opt := SinkOptions{FlushInterval: time.Hour, BatchSize: 10, QueueSize: 100, MaxAttempts: 3, RetryBackoff: time.Millisecond}
	mon.Add("retried", retried, opt)
	mon.Add("refused", refused, opt)
	mon.Add("blocked", blocked, SinkOptions{FlushInterval: time.Hour, BatchSize: 10, QueueSize: 5})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { mon.Run(ctx) })
	for i := range 30 {
		mon.ObserveRequest(&Request{ID: RequestID(i + 1), Route: "GET:/", Status: 200})
	}
	// the blocked sink holds its first batch in Flush: its queue of 5 took
	// what fit, the rest was dropped, and its depth shows
	waitUntil(t, func() bool { return countsOf(reg, "blocked")["dropped"] > 0 })
	if c := countsOf(reg, "blocked"); c["queue"] > 5 {
		t.Errorf("blocked: %v", c)
	}
	close(blocked.block)
	cancel()
	wg.Wait()
	if c := countsOf(reg, "retried"); c["sent"] != 30 || c["failed"] != 0 || c["dropped"] != 0 {
		t.Errorf("retried: %v", c)
	}
	if c := countsOf(reg, "refused"); c["sent"] != 20 || c["failed"] != 10 {
		t.Errorf("refused (a permanent error is not retried): %v", c)
	}
	if c := countsOf(reg, "blocked"); c["sent"]+c["dropped"] != 30 {
		t.Errorf("blocked: %v", c)
	}
	for _, s := range []*flakySink{retried, refused, blocked} {
		if !s.closed {
			t.Error("a sink was not closed")
		}
	}
	var ids []RequestID
	for _, b := range retried.batches {
		for _, p := range b {
			ids = append(ids, p.ID)
		}
	}
	for i, id := range ids {
		if id != RequestID(i+1) {
			t.Fatalf("retried sink got ids %v, want 1..30 in order", ids)
		}
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRequestIDHeader(t *testing.T) {
	t.Parallel()
	var seen RequestID
	h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = RequestIDFrom(r.Context()) }), nil)
	ids := map[string]bool{}
	for range 100 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		id := rec.Header().Get("X-Request-Id")
		if len(id) != 16 || id != seen.String() || ids[id] {
			t.Fatalf("X-Request-Id %q (handler saw %s, seen before %v)", id, seen, ids[id])
		}
		ids[id] = true
	}
}
