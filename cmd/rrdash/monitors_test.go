package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"rrdash/tools/testdeps"
	"strings"
	"sync"
	"testing"
	"time"

	"rrdash/ingest/monitor"
	"rrdash/store"
	"rrdash/store/meta"
	"rrdash/ui"
)

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "monitors", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// hookReceiver is a webhook endpoint on 127.0.0.1 that keeps what it gets.
type hookReceiver struct {
	mu    sync.Mutex
	got   []monitor.Notification
	fails int // answer 503 to this many requests first
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var n monitor.Notification
	if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fails > 0 {
		h.fails--
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	h.got = append(h.got, n)
}

func (h *hookReceiver) notifications() []monitor.Notification {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]monitor.Notification(nil), h.got...)
}

// monitorStack is serve's monitor wiring over a data directory: the real
// store, metadata database, scheduler, runner and web server. Requests act
// as the user named in the X-Test-User header.
type monitorStack struct {
	db    *store.DB
	md    *meta.DB
	svc   *monitorService
	sched *monitor.Scheduler
	srv   *ui.Server
	stop  func()
}

func startMonitorStack(t *testing.T, data string, hooks []string, config []*monitor.Monitor) *monitorStack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.DiscardHandler)
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	md, err := meta.Open(ctx, filepath.Join(data, "metadata.db"))
	if err != nil {
		t.Fatal(err)
	}
	set := ui.DefaultServeConfig().Monitors
	set.Webhooks, set.Jitter = hooks, 0
	// The sandbox's uid must be able to run the interpreter; one under
	// root's home (pyenv) is out of its reach.
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		set.Python = "/usr/bin/python3"
	}
	sched, err := newScheduler(set, data, db, log)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range sched.Webhooks {
		w.Backoff = 10 * time.Millisecond
	}
	sched.LinkBase = "http://rrdash.test/monitors/"
	svc := newMonitorService(md, db, sched, config, 100, log)
	user := func(r *http.Request) (meta.User, error) {
		h := r.Header.Get("X-Test-User")
		if h == "" {
			h = "ana"
		}
		return md.EnsureUser(r.Context(), meta.User{Handle: h, Issuer: "test", Subject: h})
	}
	srv, err := ui.New(ui.Config{Monitors: svc}, db, md, user, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	st := &monitorStack{db: db, md: md, svc: svc, sched: sched, srv: srv}
	var once sync.Once
	st.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("monitors stopped: %v", err)
			}
			md.Close()
			if err := db.Close(); err != nil {
				t.Errorf("close store: %v", err)
			}
		})
	}
	t.Cleanup(st.stop)
	return st
}

type httpResp struct {
	code int
	body string
}

func (st *monitorStack) do(t *testing.T, method, url, user string, body any) httpResp {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, url, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Test-User", user)
	// A same-origin page on localhost, as the single-user mode wants.
	req.Host = "localhost"
	req.Header.Set("Origin", "http://localhost")
	rec := httptest.NewRecorder()
	st.srv.Handler().ServeHTTP(rec, req)
	return httpResp{rec.Code, rec.Body.String()}
}

// waitFor polls cond every 50 ms for up to 60 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (st *monitorStack) runs(t *testing.T, name string) []ui.MonitorRun {
	t.Helper()
	r := st.do(t, "GET", "/api/v1/monitors/"+name+"/runs", "ana", nil)
	if r.code != http.StatusOK {
		t.Fatalf("runs of %s: %d %s", name, r.code, r.body)
	}
	var out struct{ Runs []ui.MonitorRun }
	if err := json.Unmarshal([]byte(r.body), &out); err != nil {
		t.Fatal(err)
	}
	return out.Runs
}

func failingDef(t *testing.T) map[string]any {
	return map[string]any{
		"name": "failing", "language": "python", "source": fixture(t, "fail.py"),
		"interval": "1h", "timeout": "20s",
		"env":   []map[string]any{{"name": "TOKEN", "value": "s3cr3t-token-value", "secret": true}},
		"alert": map[string]int{"consecutive": 2, "resolve": 1},
	}
}

// TestMonitorsEndToEnd defines monitors through the API and follows them:
// runs recorded, series in the store, pages escaping script output, the
// alert firing after two failures and reaching a webhook on 127.0.0.1
// after retries, failed runs marked on the graphs, secrets masked,
// owner-only changes.
func TestMonitorsEndToEnd(t *testing.T) {
	testdeps.Program(t, "python3")
	hook := &hookReceiver{fails: 2}
	hs := httptest.NewServer(hook)
	defer hs.Close()
	st := startMonitorStack(t, t.TempDir(), []string{hs.URL}, nil)

	// Definitions that do not validate are 400s naming the problem.
	for _, tc := range []struct {
		mod  func(map[string]any)
		want string
	}{
		{func(d map[string]any) { d["interval"] = "5s" }, "below the minimum"},
		{func(d map[string]any) { d["intervall"] = "1m" }, `unknown field "intervall"`},
		{func(d map[string]any) { d["name"] = "new" }, "reserved"},
		{func(d map[string]any) { d["name"] = "alerts" }, "reserved"},
		{func(d map[string]any) { d["name"] = "a b" }, "name must be"},
		{func(d map[string]any) { d["language"] = "perl" }, `language "perl"`},
		{func(d map[string]any) { d["criteria"] = map[string]any{"thresholds": []string{"latency_ms <<< 5"}} }, "thresholds[0]"},
		{func(d map[string]any) {
			d["env"] = []map[string]any{{"name": "T", "value": ui.SecretMask, "secret": true}}
		}, "give the secret"},
	} {
		d := failingDef(t)
		tc.mod(d)
		r := st.do(t, "POST", "/api/v1/monitors", "ana", d)
		var e struct{ Error string }
		if err := json.Unmarshal([]byte(r.body), &e); err != nil || r.code != http.StatusBadRequest || !strings.Contains(e.Error, tc.want) {
			t.Errorf("bad definition: %d %s, want 400 with %q", r.code, r.body, tc.want)
		}
	}

	r := st.do(t, "POST", "/api/v1/monitors", "ana", failingDef(t))
	if r.code != http.StatusCreated {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	if strings.Contains(r.body, "s3cr3t") || !strings.Contains(r.body, ui.SecretMask) {
		t.Errorf("create response shows the secret: %s", r.body)
	}
	if r := st.do(t, "POST", "/api/v1/monitors", "bob", failingDef(t)); r.code != http.StatusConflict {
		t.Errorf("second monitor of the same name: %d %s", r.code, r.body)
	}
	pass := map[string]any{"name": "passing", "language": "python", "source": fixture(t, "pass.py"), "interval": "1h", "timeout": "20s",
		"criteria": map[string]any{"thresholds": []string{"latency_ms < 100"}, "must_match": "all good"}}
	if r := st.do(t, "POST", "/api/v1/monitors", "bob", pass); r.code != http.StatusCreated {
		t.Fatalf("create passing: %d %s", r.code, r.body)
	}

	// A new monitor runs at once; "run now" by its owner gives the second
	// failure, which fires the alert (consecutive: 2).
	waitFor(t, "first runs", func() bool { return len(st.runs(t, "failing")) >= 1 && len(st.runs(t, "passing")) >= 1 })
	if r := st.do(t, "POST", "/api/v1/monitors/failing/run", "bob", struct{}{}); r.code != http.StatusForbidden {
		t.Errorf("run now by another user: %d %s", r.code, r.body)
	}
	if r := st.do(t, "POST", "/api/v1/monitors/failing/run", "ana", struct{}{}); r.code != http.StatusAccepted {
		t.Fatalf("run now: %d %s", r.code, r.body)
	}
	waitFor(t, "second run", func() bool { return len(st.runs(t, "failing")) >= 2 })
	waitFor(t, "webhook notification after two 503s", func() bool { return len(hook.notifications()) >= 1 })

	runs := st.runs(t, "failing")
	if runs[0].Outcome != "fail" || runs[0].ExitStatus != 3 || !strings.Contains(runs[0].Stderr, "<b>gateway</b>") {
		t.Errorf("failing run %+v", runs[0])
	}
	if strings.Contains(runs[0].Stdout, "s3cr3t") || !strings.Contains(runs[0].Stdout, "token "+ui.SecretMask) {
		t.Errorf("secret printed by the script is not masked: %q", runs[0].Stdout)
	}
	if p := st.runs(t, "passing"); p[0].Outcome != "ok" || len(p[0].Metrics) != 1 || p[0].Metrics[0].Value != 42.5 {
		t.Errorf("passing run %+v", p[0])
	}
	// Runs are in a cgroup that measured them, and healthz says how runs are held.
	if u := runs[0].Usage; u == nil || u.PeakMemoryBytes == 0 {
		t.Errorf("failing run has no cgroup usage: %+v", u)
	}
	if r := st.do(t, "GET", "/-/healthz", "ana", nil); !strings.Contains(r.body, `"monitor_sandbox":"cgroup`) || !strings.Contains(r.body, "bubblewrap") {
		t.Errorf("healthz: %d %s", r.code, r.body)
	}
	n := hook.notifications()[0]
	if n.Monitor != "failing" || n.State != "firing" || n.Link != "http://rrdash.test/monitors/failing" ||
		!strings.Contains(n.OutputTail, "gateway") || strings.Contains(n.OutputTail, "s3cr3t") {
		t.Errorf("notification %+v", n)
	}
	var alerts struct{ Alerts []ui.MonitorAlert }
	waitFor(t, "deliveries recorded", func() bool {
		r := st.do(t, "GET", "/api/v1/monitors/failing/alerts", "bob", nil)
		if err := json.Unmarshal([]byte(r.body), &alerts); err != nil {
			t.Fatal(err)
		}
		return len(alerts.Alerts) == 1 && len(alerts.Alerts[0].Deliveries) == 3
	})
	if a := alerts.Alerts[0]; a.Transition != "fired" || a.Kind != "alert" || a.Deliveries[0].Status != 503 || a.Deliveries[2].Status != 200 {
		t.Errorf("alert history %+v", a)
	}

	// Series in the store.
	for _, s := range []string{"monitor.failing", "monitor.failing.latency_ms", "monitor.passing", "monitor.passing.latency_ms"} {
		if last, err := st.db.LastUpdate(s); err != nil || last == 0 {
			t.Errorf("series %s: %d %v", s, last, err)
		}
	}

	// Pages: state, output escaped, alert history; list with a sparkline.
	page := st.do(t, "GET", "/monitors/failing", "bob", nil)
	if page.code != http.StatusOK {
		t.Fatalf("page: %d %s", page.code, page.body)
	}
	for _, want := range []string{"&lt;b&gt;gateway&lt;/b&gt;", `id="monitor-state">firing`, "failing runs fired", "HTTP 503", "HTTP 200", `data-chart-id="metric-0"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("monitor page lacks %q", want)
		}
	}
	if strings.Contains(page.body, "<b>gateway") || strings.Contains(page.body, "s3cr3t") || strings.Contains(page.body, `id="run-now"`) {
		t.Error("monitor page has raw script output, the secret, or bob's run-now button on ana's monitor")
	}
	if p := st.do(t, "GET", "/monitors/passing", "bob", nil); !strings.Contains(p.body, "&lt;script&gt;alert(&#39;out&#39;)&lt;/script&gt;") || strings.Contains(p.body, "<script>alert") {
		t.Errorf("passing page does not escape output")
	}
	list := st.do(t, "GET", "/monitors", "bob", nil)
	for _, want := range []string{`data-monitor="failing"`, `state-firing`, `data-monitor="passing"`, `state-ok`, `<polyline points="`} {
		if want == `<polyline points="` {
			// A sparkline needs two runs: run passing again.
			if r := st.do(t, "POST", "/api/v1/monitors/passing/run", "bob", struct{}{}); r.code != http.StatusAccepted {
				t.Fatal(r.body)
			}
			waitFor(t, "second passing run", func() bool { return len(st.runs(t, "passing")) >= 2 })
			list = st.do(t, "GET", "/monitors", "bob", nil)
		}
		if !strings.Contains(list.body, want) {
			t.Errorf("list lacks %q", want)
		}
	}

	if p := st.do(t, "GET", "/monitors/alerts", "bob", nil); !strings.Contains(p.body, `<a href="/monitors/failing">failing</a>`) || !strings.Contains(p.body, "failing runs fired") {
		t.Errorf("alert history page: %d %s", p.code, p.body)
	}

	// Failed runs are markers on the graphs.
	ch := st.do(t, "GET", "/api/v1/monitors/failing/charts/runtime?from=-1h&to=now", "bob", nil)
	var chart struct {
		Options struct {
			Series []struct {
				Name     string
				MarkLine struct{ Data []struct{ XAxis int64 } } `json:"markLine"`
			}
		}
	}
	if err := json.Unmarshal([]byte(ch.body), &chart); err != nil {
		t.Fatalf("chart: %v %s", err, ch.body)
	}
	marks := chart.Options.Series[len(chart.Options.Series)-1]
	if marks.Name != "failed runs" || len(marks.MarkLine.Data) != 2 {
		t.Errorf("failed-run markers %+v", marks)
	}
	if r := st.do(t, "GET", "/api/v1/monitors/failing/charts/nope", "bob", nil); r.code != http.StatusNotFound {
		t.Errorf("unknown chart: %d", r.code)
	}

	// Owner checks.
	for _, tc := range []struct{ method, url string }{
		{"PUT", "/api/v1/monitors/failing"}, {"DELETE", "/api/v1/monitors/failing"}, {"GET", "/monitors/failing/edit"},
	} {
		var body any
		if tc.method == "PUT" {
			body = failingDef(t)
		}
		if r := st.do(t, tc.method, tc.url, "bob", body); r.code != http.StatusForbidden {
			t.Errorf("%s %s by bob: %d %s", tc.method, tc.url, r.code, r.body)
		}
	}
	// An edit by the owner that leaves the secret masked keeps its value.
	upd := failingDef(t)
	upd["env"] = []map[string]any{{"name": "TOKEN", "value": ui.SecretMask, "secret": true}}
	upd["timeout"] = "15s"
	if r := st.do(t, "PUT", "/api/v1/monitors/failing", "ana", upd); r.code != http.StatusOK || !strings.Contains(r.body, `"timeout":"15s"`) {
		t.Fatalf("update: %d %s", r.code, r.body)
	}
	row, err := st.md.GetMonitor(context.Background(), "failing")
	if err != nil || !strings.Contains(row.Definition, "s3cr3t-token-value") {
		t.Errorf("stored secret after a masked edit: %v %s", err, row.Definition)
	}
	upd["interval"], upd["timeout"] = "3h", "1m"
	if r := st.do(t, "PUT", "/api/v1/monitors/failing", "ana", upd); r.code != http.StatusBadRequest || !strings.Contains(r.body, "exceeds the heartbeat 2h") {
		t.Errorf("interval beyond the series' heartbeat: %d %s", r.code, r.body)
	}
	upd["interval"], upd["timeout"] = "2h", "15s"
	if r := st.do(t, "PUT", "/api/v1/monitors/failing", "ana", upd); r.code != http.StatusOK {
		t.Errorf("interval within the heartbeat: %d %s", r.code, r.body)
	}
	upd["name"] = "renamed"
	if r := st.do(t, "PUT", "/api/v1/monitors/failing", "ana", upd); r.code != http.StatusBadRequest {
		t.Errorf("rename: %d %s", r.code, r.body)
	}
	if r := st.do(t, "GET", "/monitors/failing/edit", "ana", nil); r.code != http.StatusOK || strings.Contains(r.body, "s3cr3t") {
		t.Errorf("edit page: %d (or shows the secret)", r.code)
	}
	if r := st.do(t, "DELETE", "/api/v1/monitors/failing", "ana", nil); r.code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.code, r.body)
	}
	if r := st.do(t, "GET", "/api/v1/monitors/failing", "ana", nil); r.code != http.StatusNotFound {
		t.Errorf("after delete: %d", r.code)
	}
	if r := st.do(t, "GET", "/api/v1/monitors/failing/runs", "ana", nil); r.code != http.StatusNotFound {
		t.Errorf("runs after delete: %d", r.code)
	}
	if err := st.sched.RunNow("failing"); err == nil {
		t.Error("a deleted monitor is still scheduled")
	}
}

// TestMonitorAlertSurvivesRestart fires an alert, restarts the whole
// stack on the same data directory, and checks that the alert is still
// firing, does not fire again on the next failure, and resolves once the
// monitor passes.
func TestMonitorAlertSurvivesRestart(t *testing.T) {
	testdeps.Program(t, "python3")
	data := t.TempDir()
	hook := &hookReceiver{}
	hs := httptest.NewServer(hook)
	defer hs.Close()
	st := startMonitorStack(t, data, []string{hs.URL}, nil)
	def := failingDef(t)
	def["alert"] = map[string]int{"consecutive": 1, "resolve": 1}
	if r := st.do(t, "POST", "/api/v1/monitors", "ana", def); r.code != http.StatusCreated {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	waitFor(t, "firing", func() bool { return len(hook.notifications()) == 1 })
	st.stop()

	st = startMonitorStack(t, data, []string{hs.URL}, nil)
	var mv ui.MonitorView
	r := st.do(t, "GET", "/api/v1/monitors/failing", "ana", nil)
	if err := json.Unmarshal([]byte(r.body), &mv); err != nil {
		t.Fatal(err)
	}
	if mv.Status.State != "firing" || mv.Status.LastRun == nil || mv.Status.LastRun.Outcome != "fail" {
		t.Errorf("after restart: %+v", mv.Status)
	}
	// The restart runs it at once (a new schedule): another failure, no new alert.
	waitFor(t, "a run after the restart", func() bool { return len(st.runs(t, "failing")) >= 2 })
	pass := failingDef(t)
	pass["source"] = fixture(t, "pass.py")
	pass["alert"] = map[string]int{"consecutive": 1, "resolve": 1}
	if r := st.do(t, "PUT", "/api/v1/monitors/failing", "ana", pass); r.code != http.StatusOK {
		t.Fatalf("update: %d %s", r.code, r.body)
	}
	waitFor(t, "resolution", func() bool { return len(hook.notifications()) == 2 })
	got := hook.notifications()
	if got[0].State != "firing" || got[1].State != "resolved" {
		t.Errorf("notifications %+v, want one firing and one resolution", got)
	}
	var alerts struct{ Alerts []ui.MonitorAlert }
	if err := json.Unmarshal([]byte(st.do(t, "GET", "/api/v1/monitors/failing/alerts", "ana", nil).body), &alerts); err != nil {
		t.Fatal(err)
	}
	if len(alerts.Alerts) != 2 || alerts.Alerts[0].Transition != "resolved" || alerts.Alerts[1].Transition != "fired" {
		t.Errorf("alert history %+v", alerts.Alerts)
	}
}
