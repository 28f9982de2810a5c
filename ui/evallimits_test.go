package ui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"rrdash/graph"
)

// issueXport is issue 14's request that kept a core busy for minutes.
const issueXport = "/api/v1/xport?start=-70d&maxrows=100000&arg=DEF:a=S:value:AVERAGE&arg=CDEF:c=60,-65536,2592000,a,PREDICT&arg=XPORT:c"

// newEvalServer is the test server with series S (one day at one minute)
// and the evaluation limits of cfg.
func newEvalServer(t *testing.T, budget int64, timeout time.Duration) *testServer {
	t.Helper()
	ts := newTestServer(t, nil)
	ts.store.add("S", []string{"value"}, 60, testNow-86400, 1440, func(_ int, tm int64) float64 { return float64(tm % 97) })
	ts.srv.cfg.EvalBudget, ts.srv.cfg.EvalTimeout = budget, timeout
	return ts
}

// doWithin serves one request and fails the test when the handler has not
// returned by the deadline (generous: no performance assertion; without
// limits these requests run for minutes). ctx may cancel the request.
func (ts *testServer) doWithin(t *testing.T, ctx context.Context, d time.Duration, method, target string, body any) resp {
	t.Helper()
	done := make(chan resp, 1)
	go func() {
		if body != nil {
			done <- ts.do(t, method, target, "", body)
			return
		}
		req := httptest.NewRequest(method, target, nil).WithContext(ctx)
		rec := httptest.NewRecorder()
		ts.srv.Handler().ServeHTTP(rec, req)
		done <- resp{rec.Code, rec.Body.Bytes(), rec.Header()}
	}()
	select {
	case r := <-done:
		return r
	case <-time.After(d):
		t.Fatalf("%s %s still running after %v", method, target, d)
		return resp{}
	}
}

func TestXportIssuePredictRefused(t *testing.T) {
	t.Parallel()
	ts := newEvalServer(t, 0, 0) // the defaults
	r := ts.doWithin(t, context.Background(), 20*time.Second, "GET", issueXport, nil)
	if r.code != http.StatusUnprocessableEntity {
		t.Fatalf("xport = %d %.300s, want 422", r.code, r.body)
	}
	e := decode[apiError](t, r)
	if e.Pos != 5 || e.Token != "PREDICT" || e.Stmt != "CDEF:c=60,-65536,2592000,a,PREDICT" ||
		e.Limit != DefaultEvalBudget || e.Cost <= float64(e.Limit) {
		t.Errorf("body %+v", e)
	}
	if !strings.Contains(e.Error, "exceeds the evaluation budget") || !strings.Contains(e.Error, "token 5 'PREDICT'") {
		t.Errorf("error %q", e.Error)
	}
}

// heavySpec is the issue's PREDICT as a graph.
func heavySpec() *graph.Spec {
	return &graph.Spec{Title: "predict", Start: "-70d", End: "now",
		Defs: []graph.Def{
			{Kind: "DEF", Name: "a", Series: "S", DS: "value", CF: "AVERAGE"},
			{Kind: "CDEF", Name: "c", Expr: "60,-65536,2592000,a,PREDICT"},
		},
		Items: []graph.Item{{Type: "LINE", Width: 1, Vname: "c", Color: "#ff0000", Legend: "c"}}}
}

// Every door that evaluates refuses the same work.
func TestEvalDoorsRefuseOverBudget(t *testing.T) {
	t.Parallel()
	ts := newEvalServer(t, 0, 0)
	r := ts.do(t, "POST", "/api/v1/graphs", "", graphBody{Title: "predict", Spec: heavySpec()})
	if r.code != http.StatusCreated {
		t.Fatalf("save = %d %s", r.code, r.body)
	}
	id := decode[graphJSON](t, r).ID
	enc, err := EncodeSpecParam(heavySpec())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, url string
		body        any
	}{
		{"POST", "/api/v1/chart", chartRequest{Spec: heavySpec(), Width: 400}},
		{"GET", "/api/v1/graphs/" + id + "/chart", nil},
		{"GET", "/g/" + id + ".png", nil},
		{"GET", "/view.png?spec=" + enc, nil},
		{"POST", "/api/v1/xport", xportRequest{Args: []string{"DEF:a=S:value:AVERAGE", "CDEF:c=60,-65536,2592000,a,PREDICT", "XPORT:c"},
			Start: "-70d", MaxRows: 100000}},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+strings.Split(tc.url, "?")[0], func(t *testing.T) {
			t.Parallel()
			r := ts.doWithin(t, context.Background(), 20*time.Second, tc.method, tc.url, tc.body)
			if r.code != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "exceeds the evaluation budget") ||
				!strings.Contains(string(r.body), "PREDICT") {
				t.Errorf("= %d %.300s, want 422 naming PREDICT", r.code, r.body)
			}
		})
	}
}

// Ordinary requests pass through every door under the default budget.
func TestEvalDoorsAllowOrdinary(t *testing.T) {
	t.Parallel()
	ts := newEvalServer(t, 0, 0)
	spec := heavySpec()
	spec.Start = "-1d"
	spec.Defs[1].Expr = "3600,-4,1800,a,PREDICT"
	enc, err := EncodeSpecParam(spec)
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"start": {"-1d"}, "maxrows": {"100000"},
		"arg": {"DEF:a=S:value:AVERAGE", "CDEF:c=3600,-4,1800,a,PREDICT", "CDEF:t=a,3600,TRENDNAN", "XPORT:c", "XPORT:t"}}
	for _, tc := range []struct {
		method, url string
		body        any
	}{
		{"GET", "/api/v1/xport?" + q.Encode(), nil},
		{"POST", "/api/v1/chart", chartRequest{Spec: spec, Width: 4000}},
		{"GET", "/view.png?spec=" + enc, nil},
	} {
		r := ts.doWithin(t, context.Background(), 20*time.Second, tc.method, tc.url, tc.body)
		if r.code != http.StatusOK {
			t.Errorf("%s %s = %d %.300s", tc.method, tc.url, r.code, r.body)
		}
	}
}

// With the budget off, the timeout stops the evaluation: 503.
func TestEvalTimeout(t *testing.T) {
	t.Parallel()
	ts := newEvalServer(t, -1, 200*time.Millisecond)
	r := ts.doWithin(t, context.Background(), 20*time.Second, "GET", issueXport, nil)
	if r.code != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "longer than eval_timeout (200ms)") {
		t.Fatalf("xport = %d %.300s, want 503 naming eval_timeout", r.code, r.body)
	}
}

// A client that goes away cancels its evaluation.
func TestEvalClientGone(t *testing.T) {
	t.Parallel()
	ts := newEvalServer(t, -1, -1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := time.AfterFunc(200*time.Millisecond, cancel)
	defer stop.Stop()
	r := ts.doWithin(t, ctx, 20*time.Second, "GET", issueXport, nil)
	if r.code != statusClientClosed {
		t.Fatalf("xport = %d %.300s, want %d", r.code, r.body, statusClientClosed)
	}
}

func TestServeConfigEvalLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env         map[string]string
		budget      int64
		timeout     time.Duration
		wantErrPart string
	}{
		{nil, DefaultEvalBudget, DefaultEvalTimeout, ""},
		{map[string]string{"RRDASH_EVAL_BUDGET": "5000", "RRDASH_EVAL_TIMEOUT": "2m"}, 5000, 2 * time.Minute, ""},
		{map[string]string{"RRDASH_EVAL_BUDGET": "0", "RRDASH_EVAL_TIMEOUT": "0"}, -1, -1, ""},
		{map[string]string{"RRDASH_EVAL_BUDGET": "-3"}, 0, 0, "eval_budget -3: must not be negative"},
		{map[string]string{"RRDASH_EVAL_TIMEOUT": "soon"}, 0, 0, `eval_timeout "soon"`},
		{map[string]string{"RRDASH_EVAL_TIMEOUT": "-1s"}, 0, 0, `eval_timeout "-1s"`},
		{map[string]string{"RRDASH_EVAL_BUDGET": "lots"}, 0, 0, "RRDASH_EVAL_BUDGET"},
	}
	for _, tc := range tests {
		cfg, err := LoadServeConfig("", func(k string) string { return tc.env[k] })
		if tc.wantErrPart != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErrPart) {
				t.Errorf("%v: err = %v, want %q", tc.env, err, tc.wantErrPart)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", tc.env, err)
		}
		b, d, err := cfg.EvalLimits()
		if err != nil || b != tc.budget || d != tc.timeout {
			t.Errorf("%v: limits %d %v %v, want %d %v", tc.env, b, d, err, tc.budget, tc.timeout)
		}
	}
}

func TestServeConfigEvalLimitsTOML(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/rrdash.toml"
	if err := os.WriteFile(path, []byte("eval_budget = 123456\neval_timeout = \"5s\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadServeConfig(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if b, d, err := cfg.EvalLimits(); err != nil || b != 123456 || d != 5*time.Second {
		t.Errorf("limits %d %v %v", b, d, err)
	}
}
