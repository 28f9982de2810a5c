package monitor

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is a real HTTP server on 127.0.0.1 that answers with the given
// statuses in turn (the last one repeating) and keeps the bodies.
type receiver struct {
	mu       sync.Mutex
	statuses []int
	bodies   []Notification
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	var n Notification
	if err := json.Unmarshal(b, &n); err != nil || r.Header.Get("Content-Type") != "application/json" || r.Method != http.MethodPost {
		rc.mu.Unlock()
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	rc.bodies = append(rc.bodies, n)
	st := rc.statuses[min(len(rc.bodies), len(rc.statuses))-1]
	rc.mu.Unlock()
	w.WriteHeader(st)
}

// received returns a copy of the bodies received so far.
func (rc *receiver) received() []Notification {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Notification(nil), rc.bodies...)
}

func TestWebhookRetries(t *testing.T) {
	t.Parallel()
	res := &Result{Reason: "exit status 3 not in [0]", Stdout: "METRIC latency_ms 900 ms\n", Stderr: "payment gateway returned 502\n"}
	ev := Event{Kind: AlertChange, Monitor: "pay ments", Transition: Fired, Result: res, At: time.Unix(1_800_000_000, 0).UTC()}
	n, ok := NotificationFor(ev, "http://rrdash.test/monitors/")
	if !ok {
		t.Fatal("no notification for an alert")
	}
	tests := []struct {
		name     string
		statuses []int
		attempts int
		wantErr  bool
	}{
		{"first time", []int{200}, 1, false},
		{"fails twice then succeeds", []int{500, 503, 204}, 3, false},
		{"always failing", []int{500}, 4, true},
		{"client error is final", []int{404}, 1, true},
		{"rate limited", []int{429, 200}, 2, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rc := &receiver{statuses: tc.statuses}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			w := &Webhook{URL: srv.URL, MaxAttempts: 4, Backoff: time.Millisecond, Logger: quiet}
			ds, err := w.Notify(context.Background(), n)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			bodies := rc.received()
			if len(ds) != tc.attempts || len(bodies) != tc.attempts {
				t.Fatalf("%d deliveries recorded, %d received, want %d", len(ds), len(bodies), tc.attempts)
			}
			for i, d := range ds {
				if d.Attempt != i+1 || d.Status != tc.statuses[min(i, len(tc.statuses)-1)] {
					t.Errorf("delivery %+v", d)
				}
			}
			got := bodies[len(bodies)-1]
			if got.Monitor != "pay ments" || got.State != "firing" || got.Kind != AlertChange ||
				!strings.Contains(got.OutputTail, "gateway returned 502") || got.Link != "http://rrdash.test/monitors/pay%20ments" ||
				got.Reason != res.Reason || !got.At.Equal(ev.At) {
				t.Errorf("received %+v", got)
			}
		})
	}
}

func TestWebhookUnreachable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	w := &Webhook{URL: url, MaxAttempts: 2, Backoff: time.Millisecond, Logger: quiet}
	ds, err := w.Notify(context.Background(), Notification{Monitor: "m", State: "firing"})
	if err == nil || len(ds) != 2 || ds[0].Error == "" || ds[0].Status != 0 {
		t.Fatalf("deliveries %+v, error %v", ds, err)
	}
}

func TestNotificationFor(t *testing.T) {
	t.Parallel()
	if _, ok := NotificationFor(Event{Kind: RunDone, Monitor: "m"}, ""); ok {
		t.Error("a plain run notified")
	}
	n, ok := NotificationFor(Event{Kind: MissedRun, Monitor: "m", Transition: Fired}, "")
	if !ok || n.State != "firing" || n.Reason == "" || n.Link != "" {
		t.Errorf("missed: %+v", n)
	}
	long := strings.Repeat("é", maxNotifyTail)
	n, _ = NotificationFor(Event{Kind: AlertChange, Monitor: "m", Transition: Resolved, Result: &Result{Stdout: long}}, "")
	if n.State != "resolved" || len(n.OutputTail) > maxNotifyTail+5 || !strings.HasPrefix(n.OutputTail, "[...]") {
		t.Errorf("resolved: state %s, tail of %d bytes", n.State, len(n.OutputTail))
	}
}

// TestWebhookErrorsHideTheURL: a chat webhook's path is its secret, so
// errors (logged and shown in the alert history) show scheme and host only.
func TestWebhookErrorsHideTheURL(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "gone", http.StatusGone)
	}))
	defer srv.Close()
	// A closed listener gives a network error that names the URL.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	for _, u := range []string{srv.URL + "/services/T0/B0/s3cr3tpath?token=s3cr3tquery", deadURL + "/hooks/s3cr3tpath"} {
		w := &Webhook{URL: u, MaxAttempts: 2, Backoff: time.Millisecond, Logger: quiet}
		ds, err := w.Notify(context.Background(), Notification{Monitor: "m", State: "firing"})
		if err == nil {
			t.Fatalf("%s: delivered", u)
		}
		all := err.Error()
		for _, d := range ds {
			all += " " + d.Error
		}
		if strings.Contains(all, "s3cr3t") || !strings.Contains(all, "/…") {
			t.Errorf("%s: errors show the secret path or no redacted URL: %s", u, all)
		}
	}
}
