package monitor

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"rrdash/tools/testdeps"
	"strconv"
	"strings"
	"testing"
	"time"
)

func metricMap(ms []Metric) map[string]float64 {
	out := map[string]float64{}
	for _, m := range ms {
		out[m.Name] = m.Value
	}
	return out
}

func TestRunOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file    string
		mod     func(*Definition)
		outcome Outcome
		exit    int
		metrics map[string]float64
		reason  string // regexp
	}{
		{file: "pass.py", outcome: OK, metrics: map[string]float64{"latency_ms": 123.5, "items": 7, "db_write_ms": 4.25, "queue": 3}},
		{file: "pass.py", outcome: Fail, reason: `threshold latency_ms < 100 violated`,
			mod: func(d *Definition) { d.Criteria.Thresholds = []string{"latency_ms < 100"} }},
		{file: "pass.py", outcome: OK,
			mod: func(d *Definition) {
				d.Criteria.Thresholds = []string{"latency_ms < 500", "items >= 7"}
				d.Criteria.MustMatch = `all good`
			}},
		{file: "pass.py", outcome: Fail, reason: `metric missing was not reported`,
			mod: func(d *Definition) { d.Criteria.Thresholds = []string{"missing > 0"} }},
		{file: "pass.py", outcome: Fail, reason: `output matches "payment"`,
			mod: func(d *Definition) { d.Criteria.MustNotMatch = `payment` }},
		{file: "pass.py", outcome: Fail, reason: `does not match "\^never\$"`,
			mod: func(d *Definition) { d.Criteria.MustMatch = `^never$` }},
		{file: "fail.py", outcome: Fail, exit: 3, reason: `exit status 3 not in \[0\]`, metrics: map[string]float64{"latency_ms": 900}},
		{file: "fail.py", outcome: OK, exit: 3,
			mod: func(d *Definition) { d.Criteria.ExitStatuses = []int{0, 3} }},
		{file: "pass.go", outcome: OK, metrics: map[string]float64{"latency_ms": 42, "rows": 17},
			mod: func(d *Definition) { d.Env = []EnvVar{{Name: "API_TOKEN", Value: "s3cr3t", Secret: true}} }},
		{file: "fail.go", outcome: Fail, exit: 2, reason: `exit status 2`},
		{file: "broken.go", outcome: Error, exit: -1, reason: `(?s)does not compile.*undefined`},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			m := scriptMonitor(t, tc.file, 30*time.Second, tc.mod)
			res := newRunner(t).Run(context.Background(), m)
			if res.Outcome != tc.outcome || res.ExitStatus != tc.exit {
				t.Fatalf("outcome %s exit %d (%s), want %s exit %d\nstdout: %s\nstderr: %s",
					res.Outcome, res.ExitStatus, res.Reason, tc.outcome, tc.exit, res.Stdout, res.Stderr)
			}
			if tc.reason != "" && !regexp.MustCompile(tc.reason).MatchString(res.Reason) {
				t.Errorf("reason %q does not match %q", res.Reason, tc.reason)
			}
			if tc.metrics != nil {
				got := metricMap(res.Metrics)
				if len(got) != len(tc.metrics) {
					t.Errorf("metrics %v, want %v", got, tc.metrics)
				}
				for k, v := range tc.metrics {
					if got[k] != v {
						t.Errorf("metric %s = %v, want %v", k, got[k], v)
					}
				}
			}
		})
	}
}

func TestRunGoEnvAndCache(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	m := scriptMonitor(t, "pass.go", 30*time.Second, func(d *Definition) {
		d.Env = []EnvVar{{Name: "API_TOKEN", Value: "s3cr3t", Secret: true}}
	})
	bin := filepath.Join(r.CacheDir, "go-"+sourceHash(m.Def.Source))
	var built time.Time
	// The second run reuses this runner's build, the third (a new runner,
	// as after a restart) the cached binary on disk.
	for i, run := range []*Runner{r, r, {WorkRoot: r.WorkRoot, CacheDir: r.CacheDir, Logger: quiet}} {
		res := run.Run(context.Background(), m)
		if res.Outcome != OK {
			t.Fatalf("run %d: %s: %s %s", i, res.Outcome, res.Reason, res.Stderr)
		}
		if !strings.Contains(res.Stdout, "secret length 6") {
			t.Errorf("run %d: env not passed: %q", i, res.Stdout)
		}
		fi, err := os.Stat(bin)
		if err != nil {
			t.Fatalf("run %d: cached binary: %v", i, err)
		}
		if i == 0 {
			built = fi.ModTime()
		} else if !fi.ModTime().Equal(built) {
			t.Errorf("run %d rebuilt the binary", i)
		}
	}
	entries, err := os.ReadDir(r.CacheDir)
	if err != nil || len(entries) != 1 {
		t.Errorf("cache dir holds %d entries (%v), want just the binary", len(entries), err)
	}
}

func TestGoScriptVersionsBuiltApart(t *testing.T) {
	t.Parallel()
	testdeps.Program(t, "go")
	r := newRunner(t)
	for _, word := range []string{"one", "two"} {
		d := Definition{Name: "v", Language: Go, Interval: time.Minute, Timeout: 30 * time.Second,
			Source: "package main\n\nfunc main() { println(\"" + word + "\") }\n"}
		m, err := d.Compile()
		if err != nil {
			t.Fatal(err)
		}
		if res := r.Run(context.Background(), m); res.Outcome != OK || res.Stderr != word+"\n" {
			t.Errorf("%s: %s %q", word, res.Outcome, res.Stderr)
		}
	}
}

func TestTimeoutKillsGroup(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"sleep_child.py", "sleep_child.go"} {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			testdeps.Program(t, "sleep")
			m := scriptMonitor(t, file, 2*time.Second, nil)
			res := newRunner(t).Run(context.Background(), m)
			if res.Outcome != Timeout {
				t.Fatalf("outcome %s (%s), want timeout; stdout %q stderr %q", res.Outcome, res.Reason, res.Stdout, res.Stderr)
			}
			if res.ExitStatus != 128+9 {
				t.Errorf("exit status %d, want 137 (SIGKILL)", res.ExitStatus)
			}
			f := strings.Fields(res.Stdout)
			if len(f) < 2 || f[0] != "CHILD" {
				t.Fatalf("the script did not report its child: %q", res.Stdout)
			}
			child, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatal(err)
			}
			if alive(child) {
				t.Errorf("child %d survived the timeout", child)
			}
			if left := groupMembers(t, res.PID); len(left) > 0 {
				t.Errorf("processes of group %d survived: %v", res.PID, left)
			}
		})
	}
}

func TestCancelKillsRun(t *testing.T) {
	t.Parallel()
	m := scriptMonitor(t, "sleep_child.py", 30*time.Second, nil)
	r := newRunner(t)
	if _, err := r.python(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Cancel once the run has started; the outcome does not depend on when.
		time.Sleep(500 * time.Millisecond)
		cancel()
	}()
	res := r.Run(ctx, m)
	if res.Outcome != Error || !strings.Contains(res.Reason, "cancelled") {
		t.Fatalf("outcome %s (%s), want error: cancelled", res.Outcome, res.Reason)
	}
	if left := groupMembers(t, res.PID); len(left) > 0 {
		t.Errorf("processes of group %d survived: %v", res.PID, left)
	}
}

func TestFloodIsCapped(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	r.OutputCap = 4096
	m := scriptMonitor(t, "flood.py", 30*time.Second, func(d *Definition) { d.Criteria.MustMatch = "END OF FLOOD" })
	res := r.Run(context.Background(), m)
	if res.Outcome != OK {
		t.Fatalf("outcome %s (%s)", res.Outcome, res.Reason)
	}
	if !res.Truncated {
		t.Error("not marked truncated")
	}
	for name, s := range map[string]string{"stdout": res.Stdout, "stderr": res.Stderr} {
		body, ok := strings.CutPrefix(s, "[... ")
		if !ok {
			t.Errorf("%s lacks the truncation marker: %.60q", name, s)
		}
		if i := strings.Index(body, "\n"); i < 0 || len(body)-i-1 != 4096 {
			t.Errorf("%s keeps %d bytes after the marker, want 4096", name, len(body)-i-1)
		}
	}
	if !strings.HasSuffix(res.Stdout, "METRIC lines 50000\nEND OF FLOOD\n") {
		t.Errorf("stdout tail %q", res.Stdout[len(res.Stdout)-60:])
	}
	if got := metricMap(res.Metrics)["lines"]; got != 50000 {
		t.Errorf("metric lines = %v", got)
	}
}

func TestLimitsApplied(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	r.Limits = Limits{CPUSeconds: 7, AddressSpace: 1 << 30, OpenFiles: 33, Processes: 555}
	res := r.Run(context.Background(), scriptMonitor(t, "limits.py", 30*time.Second, nil))
	if res.Outcome != OK {
		t.Fatalf("outcome %s (%s) %s", res.Outcome, res.Reason, res.Stderr)
	}
	for _, want := range []string{"RLIMIT_CPU 7 8", "RLIMIT_AS 1073741824 1073741824", "RLIMIT_NOFILE 33 33", "RLIMIT_NPROC 555 555"} {
		if !strings.Contains(res.Stdout, want+"\n") {
			t.Errorf("missing %q in\n%s", want, res.Stdout)
		}
	}
}

func TestCPULimitStopsBusyLoop(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	r.Limits = Limits{CPUSeconds: 1}
	res := r.Run(context.Background(), scriptMonitor(t, "cpu_burn.py", 50*time.Second, nil))
	// SIGXCPU (24) at the soft limit; SIGKILL if it were ignored.
	if res.Outcome != Fail || (res.ExitStatus != 128+24 && res.ExitStatus != 128+9) {
		t.Fatalf("outcome %s exit %d (%s), want fail by SIGXCPU", res.Outcome, res.ExitStatus, res.Reason)
	}
}

func TestMissingPythonIsError(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	r.Python = "/nonexistent/python3"
	d := Definition{Name: "x", Language: Python, Source: "print(1)", Interval: time.Minute, Timeout: time.Second}
	m, err := d.Compile()
	if err != nil {
		t.Fatal(err)
	}
	res := r.Run(context.Background(), m)
	if res.Outcome != Error || !strings.Contains(res.Reason, "/nonexistent/python3") {
		t.Fatalf("outcome %s (%s), want error naming the interpreter", res.Outcome, res.Reason)
	}
}

func TestSecretsRedactedFromOutput(t *testing.T) {
	t.Parallel()
	testdeps.Program(t, "python3")
	d := Definition{
		Name: "leaky", Language: Python, Interval: time.Minute, Timeout: 30 * time.Second,
		Source: "import os, sys\nprint('token is', os.environ['API_TOKEN'])\nprint(os.environ['API_TOKEN'], file=sys.stderr)\n",
		Env:    []EnvVar{{Name: "API_TOKEN", Value: "hunter2-secret", Secret: true}},
	}
	m, err := d.Compile()
	if err != nil {
		t.Fatal(err)
	}
	res := newRunner(t).Run(context.Background(), m)
	if res.Outcome != OK {
		t.Fatalf("%s: %s %s", res.Outcome, res.Reason, res.Stderr)
	}
	if res.Stdout != "token is ********\n" || res.Stderr != "********\n" {
		t.Errorf("stdout %q stderr %q", res.Stdout, res.Stderr)
	}
}
