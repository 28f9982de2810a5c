package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"rrdash/store/meta"
	"rrdash/tools/testdeps"
)

// TestMonitorAlertsAsAnnotations: a code monitor's alert firing appears
// in GET /api/v1/annotations (and Grafana's path) beside the stored ones,
// tagged monitor, its name and the transition, and filterable by tag; its
// failing runs add one stored annotation (tagged monitor=NAME, failure and
// the kind) when it starts failing, none for the next failure alike.
func TestMonitorAlertsAsAnnotations(t *testing.T) {
	testdeps.Program(t, "python3")
	hook := &hookReceiver{}
	hs := httptest.NewServer(hook)
	defer hs.Close()
	st := startMonitorStack(t, t.TempDir(), []string{hs.URL}, nil)
	def := failingDef(t)
	def["alert"] = map[string]int{"consecutive": 1, "resolve": 1}
	if r := st.do(t, "POST", "/api/v1/monitors", "ana", def); r.code != http.StatusCreated {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	waitFor(t, "firing", func() bool { return len(hook.notifications()) == 1 })
	if r := st.do(t, "POST", "/api/v1/annotations", "ana", map[string]any{"text": "deploy", "tags": []string{"deploy"}}); r.code != http.StatusCreated {
		t.Fatalf("annotation: %d %s", r.code, r.body)
	}
	now := time.Now().UnixMilli()
	list := func(path, tags string) []meta.Annotation {
		t.Helper()
		r := st.do(t, "GET", fmt.Sprintf("%s?from=%d&to=%d%s", path, now-3600e3, now+60e3, tags), "ana", nil)
		var as []meta.Annotation
		if err := json.Unmarshal([]byte(r.body), &as); err != nil || r.code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, r.code, r.body)
		}
		return as
	}
	texts := func(as []meta.Annotation) string {
		var s []string
		for _, a := range as {
			s = append(s, a.Text)
		}
		return strings.Join(s, " | ")
	}
	// A second failing run of the same kind adds no second failure annotation.
	if r := st.do(t, "POST", "/api/v1/monitors/failing/run", "ana", struct{}{}); r.code != http.StatusAccepted {
		t.Fatalf("run now: %d %s", r.code, r.body)
	}
	waitFor(t, "second run", func() bool {
		runs, err := st.md.MonitorRuns(t.Context(), meta.RunQuery{Monitor: "failing", Summary: true})
		return err == nil && len(runs) == 2
	})
	for _, path := range []string{"/api/v1/annotations", "/api/annotations"} {
		if as := list(path, ""); len(as) != 3 || !strings.Contains(texts(as), "monitor failing failing: exit (exit status 3)") || !strings.Contains(texts(as), "monitor failing: failing runs fired") || !strings.Contains(texts(as), "deploy") {
			t.Errorf("%s: %s", path, texts(as))
		}
	}
	as := list("/api/v1/annotations", "&tags=monitor&tags=failing")
	if len(as) != 1 || as[0].Owner != "monitor" || strings.Join(as[0].Tags, ",") != "monitor,failing,fired" {
		t.Errorf("by tags monitor+failing: %+v", as)
	}
	as = list("/api/v1/annotations", "&tags=monitor%3Dfailing&tags=failure")
	if len(as) != 1 || as[0].Owner != "monitor" || strings.Join(as[0].Tags, ",") != "monitor=failing,failure,exit" {
		t.Errorf("by tags monitor=failing+failure: %+v", as)
	}
	if as := list("/api/v1/annotations", "&tags=deploy"); texts(as) != "deploy" {
		t.Errorf("by tag deploy: %s", texts(as))
	}
}
