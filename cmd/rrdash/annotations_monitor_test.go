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
// tagged monitor, its name and the transition, and filterable by tag.
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
	for _, path := range []string{"/api/v1/annotations", "/api/annotations"} {
		if as := list(path, ""); len(as) != 2 || !strings.Contains(texts(as), "monitor failing: failing runs fired") || !strings.Contains(texts(as), "deploy") {
			t.Errorf("%s: %s", path, texts(as))
		}
	}
	as := list("/api/v1/annotations", "&tags=monitor&tags=failing")
	if len(as) != 1 || as[0].Owner != "monitor" || strings.Join(as[0].Tags, ",") != "monitor,failing,fired" {
		t.Errorf("by tags monitor+failing: %+v", as)
	}
	if as := list("/api/v1/annotations", "&tags=deploy"); texts(as) != "deploy" {
		t.Errorf("by tag deploy: %s", texts(as))
	}
}
