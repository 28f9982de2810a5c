package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rrdash/auth"
	"rrdash/tools/testdeps"
)

// failuresCheck is a code monitor that reads a FAILURES archive through
// the xport API and reports the failures of the last rows as a metric;
// the threshold "failures == 0" makes a run with a detected aberration
// fail (and so drives the monitor's alert).
const failuresCheck = `import json, os, urllib.request
req = urllib.request.Request(os.environ["RRDASH_URL"] + "/api/v1/xport",
    data=json.dumps({"args": ["DEF:f=" + os.environ["SERIES"] + ":v:FAILURES", "XPORT:f"],
                     "start": os.environ["START"], "end": os.environ["END"]}).encode(),
    headers={"Authorization": "Bearer " + os.environ["RRDASH_TOKEN"], "Content-Type": "application/json"})
out = json.load(urllib.request.urlopen(req, timeout=10))
n = sum(1 for row in out["data"] for v in row if v == 1)
print("METRIC failures %d" % n)
`

// A code monitor can alert on Holt-Winters aberrant-behaviour detection:
// its script reads the series' FAILURES archive (a 0/1 series) from a
// running server, and its threshold fails the run while failures show.
func TestMonitorOnFailuresArchive(t *testing.T) {
	testdeps.Program(t, "python3")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	const start = 1_700_000_000
	if _, ok, err := rrdashRun(t, data, "create", "s", "--start", fmt.Sprint(start), "--step", "60", "DS:v:GAUGE:240:U:U",
		// FAILURES keeps 200 rows here (an implicit one keeps a season)
		"RRA:HWPREDICT:200:0.3:0.05:24:2", "RRA:SEASONAL:24:0.3:1", "RRA:DEVSEASONAL:24:0.3:1", "RRA:DEVPREDICT:200:3", "RRA:FAILURES:200:7:9:3"); !ok {
		t.Fatal(err)
	}
	for _, call := range hwUpdates(start, 1) {
		if _, ok, err := rrdashRun(t, data, append([]string{"update", "s"}, call...)...); !ok {
			t.Fatal(err)
		}
	}
	// where the detection fired (the dip of hwUpdates) and where it did not
	out, ok, err := rrdashRun(t, data, "fetch", "s", "FAILURES", "--start", fmt.Sprint(start+60*250), "--end", fmt.Sprint(start+60*420))
	if !ok {
		t.Fatal(err)
	}
	var fired, quiet int64
	for _, line := range strings.Split(out, "\n") {
		ts, v, ok := strings.Cut(line, ": ")
		var tm int64
		if _, err := fmt.Sscan(ts, &tm); !ok || err != nil {
			continue
		}
		switch strings.TrimSpace(v) {
		case "1.0000000000e+00":
			fired = tm
		case "0.0000000000e+00":
			if fired == 0 {
				quiet = tm
			}
		}
	}
	if fired == 0 || quiet == 0 {
		t.Fatalf("the data must make FAILURES both 0 and 1:\n%s", out)
	}
	p := startServe(t, data)
	defer p.stop(t)
	token := dataToken(t, data, "monitor", auth.ScopeRead)
	script := filepath.Join(dir, "failures.py")
	if err := os.WriteFile(script, []byte(failuresCheck), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		end     int64
		wantErr string
		want    string
	}{
		{end: quiet, want: "failures = 0"},
		{end: fired, wantErr: "threshold failures == 0 violated", want: "result:      fail"},
	} {
		var buf bytes.Buffer
		err := run(context.Background(), []string{"--data", t.TempDir(), "monitor", "run", script,
			"--env", "RRDASH_URL=" + p.base, "--secret", "RRDASH_TOKEN=" + token, "--env", "SERIES=s",
			"--env", fmt.Sprintf("START=%d", tc.end-600), "--env", fmt.Sprintf("END=%d", tc.end),
			"--threshold", "failures == 0"}, nil, &buf, &bytes.Buffer{})
		if (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
			t.Fatalf("end %d: error %v, want %q\n%s", tc.end, err, tc.wantErr, buf.String())
		}
		if !strings.Contains(buf.String(), tc.want) {
			t.Fatalf("end %d: output lacks %q:\n%s", tc.end, tc.want, buf.String())
		}
	}
}
