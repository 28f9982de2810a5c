package ui

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"rrdash/auth"
	"rrdash/store/meta"
)

// TestAnnotationsAPI: annotations are posted and listed with Grafana's
// fields at /api/v1/annotations and Grafana's /api/annotations, with
// write and read tokens; bad input is refused with a reason.
func TestAnnotationsAPI(t *testing.T) {
	t.Parallel()
	env := newSecEnv(t, Config{ListenAddr: "127.0.0.1:8080", Now: func() time.Time { return time.Unix(testNow, 0) }})
	const host = "localhost:8080"
	read, write, push := env.token(t, auth.ScopeRead), env.token(t, auth.ScopeWrite), env.token(t, auth.ScopePush)
	hdr := func(tok string) map[string]string {
		return map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
	}
	const t0 = int64(testNow) * 1000
	ms := func(d int64) string { return strconv.FormatInt(t0+d, 10) }
	tests := []struct {
		name, method, path, body string
		tok                      string
		want                     int
		msg                      string
	}{
		{"instant", "POST", "/api/v1/annotations", `{"time":` + ms(-3600e3) + `,"text":"deploy v1.2","tags":["deploy","web"]}`, write, 201, `"message":"Annotation added"`},
		{"range, Grafana path", "POST", "/api/annotations", `{"time":` + ms(-7200e3) + `,"timeEnd":` + ms(-6000e3) + `,"text":"outage","tags":["incident"]}`, write, 201, `"timeEnd":` + ms(-6000e3)},
		{"no time: now", "POST", "/api/v1/annotations", `{"text":"now"}`, write, 201, `"time":` + ms(0)},
		{"read token can't write", "POST", "/api/v1/annotations", `{"text":"x"}`, read, 403, "needs scope write"},
		{"push token can't write", "POST", "/api/annotations", `{"text":"x"}`, push, 403, "scope"},
		{"no text", "POST", "/api/v1/annotations", `{"time":` + ms(0) + `}`, write, 400, "needs a text"},
		{"seconds", "POST", "/api/v1/annotations", `{"time":1700000000,"text":"x"}`, write, 400, "want Unix milliseconds"},
		{"end before", "POST", "/api/v1/annotations", `{"time":` + ms(0) + `,"timeEnd":` + ms(-1) + `,"text":"x"}`, write, 400, "is before time"},
		{"empty tag", "POST", "/api/v1/annotations", `{"text":"x","tags":[" "]}`, write, 400, "tag 1"},
		{"unknown field refused", "POST", "/api/annotations", `{"text":"x","dashboardUID":"abc"}`, write, 400, "dashboardUID"},
		{"list", "GET", "/api/v1/annotations?from=" + ms(-86400e3) + "&to=" + ms(0), "", read, 200, "deploy v1.2"},
		{"bad from", "GET", "/api/v1/annotations?from=-1h", "", read, 400, "want Unix milliseconds"},
		{"bad limit", "GET", "/api/v1/annotations?limit=0", "", read, 400, "limit"},
	}
	for _, tt := range tests {
		r := env.do(tt.method, host, tt.path, tt.body, hdr(tt.tok))
		if r.Code != tt.want || !strings.Contains(r.Body.String(), tt.msg) {
			t.Errorf("%s: %d %s, want %d with %q", tt.name, r.Code, r.Body, tt.want, tt.msg)
		}
	}
	list := func(q string) []meta.Annotation {
		t.Helper()
		r := env.do("GET", host, "/api/annotations?"+q, "", hdr(read))
		var as []meta.Annotation
		if err := json.Unmarshal(r.Body.Bytes(), &as); err != nil || r.Code != 200 {
			t.Fatalf("GET %s = %d %s", q, r.Code, r.Body)
		}
		return as
	}
	if as := list("from=" + ms(-86400e3) + "&to=" + ms(1)); len(as) != 3 || as[0].Text != "now" || as[2].Text != "outage" || as[2].Owner != "local" {
		t.Errorf("all three, latest first: %+v", as)
	}
	if as := list("from=" + ms(-86400e3) + "&to=" + ms(1) + "&tags=deploy&tags=web"); len(as) != 1 || as[0].Text != "deploy v1.2" {
		t.Errorf("by tags: %+v", as)
	}
	// A window inside the range finds it.
	if as := list("from=" + ms(-7000e3) + "&to=" + ms(-6500e3)); len(as) != 1 || as[0].Text != "outage" {
		t.Errorf("inside the range: %+v", as)
	}
	id := strconv.FormatInt(list("from=" + ms(-86400e3) + "&to=" + ms(1))[0].ID, 10)
	if r := env.do("DELETE", host, "/api/v1/annotations/"+id, "", hdr(read)); r.Code != 403 {
		t.Errorf("read token deletes: %d", r.Code)
	}
	if r := env.do("DELETE", host, "/api/v1/annotations/"+id, "", hdr(write)); r.Code != 200 {
		t.Errorf("delete: %d %s", r.Code, r.Body)
	}
	if r := env.do("DELETE", host, "/api/v1/annotations/"+id, "", hdr(write)); r.Code != 404 {
		t.Errorf("delete again: %d", r.Code)
	}
}
