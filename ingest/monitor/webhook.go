package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Notification is the JSON body a webhook receives.
type Notification struct {
	Monitor    string    `json:"monitor"`
	Kind       EventKind `json:"kind"`  // "alert" (failing runs) or "missed" (not run)
	State      string    `json:"state"` // "firing" or "resolved"
	At         time.Time `json:"at"`
	Reason     string    `json:"reason,omitempty"`
	OutputTail string    `json:"output_tail,omitempty"`
	Link       string    `json:"link,omitempty"` // the monitor's graph page
}

// maxNotifyTail is the output sent with a notification.
const maxNotifyTail = 2 << 10

// NotificationFor turns an alert or missed-run event into a notification;
// other events give ok false. linkBase is the rrdash URL that monitor pages
// live under, e.g. "https://rrdash.example/monitors/"; "" sends no link.
func NotificationFor(e Event, linkBase string) (n Notification, ok bool) {
	if e.Kind != AlertChange && e.Kind != MissedRun || e.Transition == NoChange {
		return Notification{}, false
	}
	n = Notification{Monitor: e.Monitor, Kind: e.Kind, State: "firing", At: e.At}
	if e.Transition == Resolved {
		n.State = "resolved"
	}
	if e.Kind == MissedRun && e.Transition == Fired {
		n.Reason = "not run within two intervals"
	}
	if e.Result != nil {
		n.Reason = e.Result.Reason
		tail := e.Result.Stdout
		if e.Result.Stderr != "" {
			tail += "\n" + e.Result.Stderr
		}
		if len(tail) > maxNotifyTail {
			tail = "[...]" + string(bytes.ToValidUTF8([]byte(tail[len(tail)-maxNotifyTail:]), nil))
		}
		n.OutputTail = tail
	}
	if linkBase != "" {
		n.Link = linkBase + url.PathEscape(e.Monitor)
	}
	return n, true
}

// Delivery records one attempt to deliver a notification.
type Delivery struct {
	Attempt int           `json:"attempt"`
	At      time.Time     `json:"at"`
	Status  int           `json:"status,omitempty"` // HTTP status; 0 when no response
	Error   string        `json:"error,omitempty"`
	Took    time.Duration `json:"took"`
}

// Webhook POSTs notifications as JSON, retrying with exponential backoff.
type Webhook struct {
	URL         string
	Client      *http.Client  // nil means a client with a 10 s timeout
	MaxAttempts int           // 0 means 5
	Backoff     time.Duration // first wait between attempts, doubled each time; 0 means 1 s
	MaxBackoff  time.Duration // 0 means 1 min
	Logger      *slog.Logger
}

// Notify delivers n and returns every attempt made. It retries on network
// errors, 429 and 5xx; other statuses are final. The error is nil once a
// 2xx response arrived.
func (w *Webhook) Notify(ctx context.Context, n Notification) ([]Delivery, error) {
	body, err := json.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("webhook %s: %w", w.shown(), err)
	}
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	attempts := w.MaxAttempts
	if attempts <= 0 {
		attempts = 5
	}
	wait := w.Backoff
	if wait <= 0 {
		wait = time.Second
	}
	maxWait := w.MaxBackoff
	if maxWait <= 0 {
		maxWait = time.Minute
	}
	log := w.Logger
	if log == nil {
		log = slog.Default()
	}
	var ds []Delivery
	for i := 1; ; i++ {
		d := Delivery{Attempt: i, At: time.Now()}
		retry, err := w.post(ctx, client, body, &d)
		err = w.redact(err)
		d.Took = time.Since(d.At)
		if err != nil {
			d.Error = err.Error()
		}
		ds = append(ds, d)
		log.Info("monitor webhook delivery", "monitor", n.Monitor, "state", n.State, "attempt", i, "status", d.Status, "err", d.Error)
		if err == nil {
			return ds, nil
		}
		if !retry || i >= attempts {
			return ds, fmt.Errorf("webhook %s: notification for %s undelivered after %d attempts: %w", w.shown(), n.Monitor, i, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ds, fmt.Errorf("webhook %s: %w", w.shown(), ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, maxWait)
	}
}

// shown is the webhook's URL as errors, logs and the alert history show
// it: scheme and host only, since the path or query of a chat webhook is
// its secret.
func (w *Webhook) shown() string {
	u, err := url.Parse(w.URL)
	if err != nil || u.Host == "" {
		return "(unparsable URL)"
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return u.Scheme + "://" + u.Host + "/…"
	}
	return u.Scheme + "://" + u.Host
}

// redact removes the full URL that net/http puts into its errors.
func (w *Webhook) redact(err error) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, w.shown(), ue.Err)
	}
	if s := err.Error(); strings.Contains(s, w.URL) {
		return errors.New(strings.ReplaceAll(s, w.URL, w.shown()))
	}
	return err
}

func (w *Webhook) post(ctx context.Context, client *http.Client, body []byte, d *Delivery) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return ctx.Err() == nil, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	d.Status = resp.StatusCode
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("status %s", resp.Status)
	}
	return false, fmt.Errorf("status %s", resp.Status)
}
