//go:build linux

package monitor

import (
	"context"
	"os"
	"regexp"
	"rrdash/tools/testdeps"
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
	testdeps.Program(t, "python3")
	testdeps.Program(t, "setsid")
	testdeps.Program(t, "sleep")
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
	testdeps.Program(t, "python3")
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

const hybridMountinfo = `25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
32 31 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
36 31 0:31 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory
37 31 0:32 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
38 31 0:33 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,pids
39 31 0:34 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,freezer
40 31 0:35 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,xattr,name=systemd
`

func TestParseMountinfo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		v2       string
		v1       map[string]string
		err      string
	}{
		{name: "hybrid", in: hybridMountinfo, v2: "/sys/fs/cgroup/unified", v1: map[string]string{
			"memory": "/sys/fs/cgroup/memory", "cpu": "/sys/fs/cgroup/cpu,cpuacct", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
			"pids": "/sys/fs/cgroup/pids", "freezer": "/sys/fs/cgroup/freezer"}},
		{name: "v2", in: "29 22 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n", v2: "/sys/fs/cgroup", v1: map[string]string{}},
		{name: "escaped", in: `29 22 0:26 / /mnt/my\040cgroup rw - cgroup2 none rw` + "\n", v2: "/mnt/my cgroup", v1: map[string]string{}},
		{name: "none", in: "", v1: map[string]string{}},
		{name: "garbage", in: "not a mountinfo line\n", err: "line 1: not a mountinfo line"},
	}
	for _, tc := range tests {
		v2, v1, err := parseMountinfo(strings.NewReader(tc.in))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || v2 != tc.v2 || len(v1) != len(tc.v1) {
			t.Errorf("%s: %q %v %v, want %q %v", tc.name, v2, v1, err, tc.v2, tc.v1)
			continue
		}
		for k, v := range tc.v1 {
			if v1[k] != v {
				t.Errorf("%s: v1 %s = %q, want %q", tc.name, k, v1[k], v)
			}
		}
	}
}

// FuzzParseMountinfo: any input is parsed or refused, never a panic.
func FuzzParseMountinfo(f *testing.F) {
	for _, s := range []string{hybridMountinfo, "", "x - y", `1 2 3 / /a\0 rw - cgroup2 c rw`, `1 2 3 / /a\777 rw - cgroup c rw,memory`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v2, v1, err := parseMountinfo(strings.NewReader(s))
		if err != nil && (v2 != "" || v1 != nil) {
			t.Errorf("error %v with results %q %v", err, v2, v1)
		}
	})
}
