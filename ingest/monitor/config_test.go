package monitor

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestDefinitionJSON(t *testing.T) {
	t.Parallel()
	in := `{"name": "payments", "owner": "ana", "language": "python", "path": "/srv/checks/pay.py",
		"interval": "1m30s", "timeout": "20s",
		"env": [{"name": "TOKEN", "value": "x", "secret": true}],
		"criteria": {"exit_statuses": [0, 2], "must_match": "ok", "thresholds": ["latency_ms < 500"]}}`
	var d Definition
	if err := json.Unmarshal([]byte(in), &d); err != nil {
		t.Fatal(err)
	}
	if d.Interval != 90*time.Second || d.Timeout != 20*time.Second || d.Owner != "ana" ||
		len(d.Env) != 1 || !d.Env[0].Secret || len(d.Criteria.Thresholds) != 1 || d.Criteria.ExitStatuses[1] != 2 {
		t.Fatalf("decoded %+v %+v", d, d.Criteria)
	}
	if _, err := d.Compile(); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"interval":"1m30s"`) {
		t.Errorf("encoded %s", out)
	}
	var back Definition
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if back.Interval != d.Interval || back.Timeout != d.Timeout || back.Name != d.Name || back.Criteria.MustMatch != "ok" {
		t.Errorf("round trip %+v", back)
	}

	for _, tc := range []struct{ in, want string }{
		{`{"name": "a", "interval": "10s", "timeout": "1s", "intervall": "5s"}`, `unknown field "intervall"`},
		{`{"name": "a", "interval": "ten", "timeout": "1s"}`, `monitor "a": interval: time: invalid duration`},
		{`{"name": "a", "interval": "10s"}`, `monitor "a": timeout: missing`},
		{`{"name": "a", "interval": 10}`, `cannot unmarshal number`},
	} {
		var d Definition
		if err := json.Unmarshal([]byte(tc.in), &d); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.in, err, tc.want)
		}
	}
}

// FuzzDefinitionJSON: any input either fails to decode with an error or
// decodes to a definition whose JSON round-trips unchanged; compiling it
// never panics.
func FuzzDefinitionJSON(f *testing.F) {
	for _, s := range []string{
		`{"name": "payments", "owner": "ana", "language": "python", "path": "/srv/pay.py", "interval": "1m30s", "timeout": "20s",
		  "env": [{"name": "TOKEN", "value": "x", "secret": true}],
		  "criteria": {"exit_statuses": [0, 2], "must_match": "ok", "thresholds": ["latency_ms < 500"]},
		  "alert": {"consecutive": 2, "window_failures": 0, "window": 0, "resolve": 1}}`,
		`{"name": "a", "language": "go", "source": "package main\nfunc main(){}", "interval": "10s", "timeout": "10s"}`,
		`{"name": "a", "interval": "-1s", "timeout": "1h"}`,
		`{"interval": "", "timeout": ""}`,
		`{"name": "a", "interval": "10s", "timeout": "1s", "criteria": {"must_match": "("}}`,
		`[]`, `null`, `{"name": 5}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Definition
		if err := json.Unmarshal(b, &d); err != nil {
			return
		}
		if m, err := d.Compile(); err == nil && m.Name() != d.Name {
			t.Fatalf("compiled name %q, defined %q", m.Name(), d.Name)
		}
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("marshal %+v: %v", d, err)
		}
		var back Definition
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
		again, err := json.Marshal(back)
		if err != nil || string(again) != string(out) {
			t.Fatalf("round trip changed it:\n%s\n%s (%v)", out, again, err)
		}
	})
}
