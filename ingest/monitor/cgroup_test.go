//go:build linux

package monitor

import (
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cgroupRunner is a runner whose runs get their own cgroup. Without a
// writable cgroup hierarchy the test skips, but fails under CI=true.
func cgroupRunner(t *testing.T, useV2 bool, l CgroupLimits) *Runner {
	t.Helper()
	cg, err := openCgroups("rrdash-monitors-test", l, useV2)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cgroups are required (CI=true): %v", err)
		}
		t.Skipf("no usable cgroups: %v", err)
	}
	if !useV2 && cg.v2 != "" {
		t.Fatal("v2 used though not asked for")
	}
	r := newRunner(t)
	r.Cgroups, r.CgroupLimits = cg, l
	return r
}

// Hostile scripts. Each prints "CHILD <pid>" for every process it leaves
// behind, so the test can check that they are gone.
const (
	setsidSleep = `import subprocess, sys
p = subprocess.Popen(["setsid", "sleep", "300"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
print("CHILD", p.pid, flush=True)
`
	doubleFork = `import os, sys, time
r, w = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.close(r)
        os.write(w, str(os.getpid()).encode())
        os.close(w)
        for fd in (0, 1, 2):
            os.close(fd)
        time.sleep(300)
        os._exit(0)
    os._exit(0)
os.close(w)
print("CHILD", os.read(r, 32).decode(), flush=True)
os.wait()
`
	leftChild = `import subprocess
p = subprocess.Popen(["sleep", "300"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print("CHILD", p.pid, flush=True)
`
	forkBomb = `import os, time
n = 0
while n < 10000:
    try:
        pid = os.fork()
    except OSError as e:
        print("fork refused after", n, e, flush=True)
        break
    if pid == 0:
        time.sleep(300)
        os._exit(0)
    n += 1
print("forked", n, flush=True)
`
	memoryHog = `chunks = []
for i in range(64):
    chunks.append(bytearray(16 << 20))
print("survived", flush=True)
`
	setsidTimeout = `import subprocess, time
p = subprocess.Popen(["setsid", "sleep", "300"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
print("CHILD", p.pid, flush=True)
time.sleep(300)
`
	burn = `import time
t = time.process_time()
while time.process_time() - t < 0.3:
    pass
print("METRIC done 1")
`
)

func TestCgroupContainsHostileScripts(t *testing.T) {
	t.Parallel()
	needTool(t, "python3")
	needTool(t, "setsid")
	needTool(t, "sleep")
	limits := CgroupLimits{MemoryMax: 64 << 20, PidsMax: 32, CPUMax: 1}
	tests := []struct {
		name    string
		src     string
		timeout time.Duration
		outcome Outcome
		reason  string // regexp
		check   func(t *testing.T, res Result)
	}{
		{name: "setsid_sleep", src: setsidSleep, outcome: Fail, reason: `1 process\(es\) still running when the script exited were killed`},
		{name: "double_fork", src: doubleFork, outcome: Fail, reason: `1 process\(es\) still running`},
		{name: "child_left_running", src: leftChild, outcome: Fail, reason: `1 process\(es\) still running`},
		{name: "setsid_timeout", src: setsidTimeout, timeout: 2 * time.Second, outcome: Timeout, reason: `killed after the timeout`},
		{name: "fork_bomb", src: forkBomb, outcome: Fail, reason: `process limit of 32 reached: \d+ fork\(s\) refused`,
			check: func(t *testing.T, res Result) {
				if !strings.Contains(res.Stdout, "fork refused after") {
					t.Errorf("the bomb was not stopped by the limit: %q", res.Stdout)
				}
			}},
		{name: "memory_hog", src: memoryHog, outcome: Fail, reason: `memory limit of 67108864 bytes reached: 1 process\(es\) killed`,
			check: func(t *testing.T, res Result) {
				if strings.Contains(res.Stdout, "survived") || res.ExitStatus != 128+9 {
					t.Errorf("the hog was not killed: exit %d, %q", res.ExitStatus, res.Stdout)
				}
				if res.Usage.PeakMemory < 32<<20 || res.Usage.PeakMemory > 80<<20 {
					t.Errorf("peak memory %d, want near the 64 MiB limit", res.Usage.PeakMemory)
				}
			}},
		{name: "cpu_measured", src: burn, outcome: OK,
			check: func(t *testing.T, res Result) {
				if res.Usage.CPUSeconds < 0.25 || res.Usage.PeakMemory == 0 {
					t.Errorf("usage %+v, want ≥0.3s CPU and some memory", *res.Usage)
				}
			}},
	}
	for _, mode := range []struct {
		name  string
		useV2 bool
	}{{"default", true}, {"v1", false}} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			r := cgroupRunner(t, mode.useV2, limits)
			t.Log(r.Cgroups.Mode())
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					timeout := tc.timeout
					if timeout == 0 {
						timeout = 30 * time.Second
					}
					d := Definition{Name: tc.name, Language: Python, Source: tc.src, Interval: time.Minute, Timeout: timeout}
					m, err := d.Compile()
					if err != nil {
						t.Fatal(err)
					}
					res := r.Run(context.Background(), m)
					if res.Outcome != tc.outcome || !regexp.MustCompile(tc.reason).MatchString(res.Reason) {
						t.Fatalf("outcome %s (%s), want %s (%s)\nstdout %q\nstderr %q", res.Outcome, res.Reason, tc.outcome, tc.reason, res.Stdout, res.Stderr)
					}
					if res.Usage == nil {
						t.Fatal("no usage recorded")
					}
					for _, line := range strings.Split(res.Stdout, "\n") {
						if f := strings.Fields(line); len(f) == 2 && f[0] == "CHILD" {
							pid, err := strconv.Atoi(f[1])
							if err != nil {
								t.Fatal(err)
							}
							if alive(pid) {
								t.Errorf("process %d survived the run", pid)
							}
						}
					}
					if tc.check != nil {
						tc.check(t, res)
					}
				})
			}
		})
	}
}

func TestCgroupRefusesUnenforceableLimit(t *testing.T) {
	t.Parallel()
	if _, err := openCgroups("a/b", CgroupLimits{}, true); err == nil {
		t.Error("a cgroup name with a slash was accepted")
	}
}

func TestCgroupPerMonitorLimits(t *testing.T) {
	t.Parallel()
	needTool(t, "python3")
	r := cgroupRunner(t, true, CgroupLimits{MemoryMax: 1 << 30})
	d := Definition{Name: "hog", Language: Python, Source: memoryHog, Interval: time.Minute, Timeout: 30 * time.Second, MemoryMaxMB: 48}
	m, err := d.Compile()
	if err != nil {
		t.Fatal(err)
	}
	res := r.Run(context.Background(), m)
	if res.Outcome != Fail || !strings.Contains(res.Reason, "memory limit of 50331648 bytes reached") {
		t.Fatalf("outcome %s (%s), want the monitor's own 48 MiB limit hit", res.Outcome, res.Reason)
	}
	d.MemoryMaxMB = -1
	if _, err := d.Compile(); err == nil {
		t.Error("a negative memory_max_mb compiled")
	}
}
