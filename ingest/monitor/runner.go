package monitor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Outcome is how a run ended.
type Outcome string

// Outcomes of a run.
const (
	OK      Outcome = "ok"      // finished and met the criteria
	Fail    Outcome = "fail"    // finished and did not
	Timeout Outcome = "timeout" // killed at the timeout
	Error   Outcome = "error"   // could not be run (build failure, missing interpreter, cancelled)
)

// Result is the record of one run.
type Result struct {
	Monitor    string        `json:"monitor"`
	PID        int           `json:"pid,omitempty"` // also the process group id
	Start      time.Time     `json:"start"`
	Runtime    time.Duration `json:"runtime"`
	ExitStatus int           `json:"exit_status"` // 128+signal when killed; -1 when it never ran
	Outcome    Outcome       `json:"outcome"`
	Reason     string        `json:"reason,omitempty"` // why it is not ok
	Stdout     string        `json:"stdout"`           // tail, marked when truncated
	Stderr     string        `json:"stderr"`
	Truncated  bool          `json:"truncated,omitempty"`
	Metrics    []Metric      `json:"metrics,omitempty"`
	// Usage is what the run's cgroup measured; nil without cgroups.
	Usage *Usage `json:"usage,omitempty"`
}

// Limits are the rlimits every run gets. Zero leaves a limit unchanged.
type Limits struct {
	CPUSeconds   uint64 // RLIMIT_CPU: SIGXCPU at the limit, SIGKILL a second later
	AddressSpace uint64 // RLIMIT_AS, bytes
	OpenFiles    uint64 // RLIMIT_NOFILE
	// Processes is RLIMIT_NPROC. The kernel counts every process of the
	// user, not just the run's, and does not apply it to root.
	Processes uint64
}

// DefaultLimits suit a small check script.
func DefaultLimits() Limits {
	return Limits{CPUSeconds: 60, AddressSpace: 4 << 30, OpenFiles: 256, Processes: 4096}
}

// DefaultOutputCap is the bytes of stdout and of stderr kept per run.
const DefaultOutputCap = 64 << 10

// Runner runs monitor scripts as limited process groups.
type Runner struct {
	WorkRoot  string   // where per-run temp dirs are made; "" means os.TempDir()
	CacheDir  string   // compiled Go scripts; required for Go monitors
	OutputCap int      // bytes kept of stdout and of stderr; 0 means DefaultOutputCap
	Limits    Limits   // applied to every run
	Python    string   // interpreter; "" means python3 from PATH
	GoTool    string   // go command; "" means go from PATH
	BaseEnv   []string // environment before the monitor's own; nil means PATH only
	Logger    *slog.Logger
	// Cgroups, when set, holds each run in its own cgroup with CgroupLimits:
	// the whole tree is killed through it and its usage is measured.
	Cgroups      *Cgroups
	CgroupLimits CgroupLimits
	// Sandbox, when set, runs each script inside bubblewrap as an
	// unprivileged uid; nil runs it unisolated (sandbox = "none").
	Sandbox *Sandbox

	mu       sync.Mutex
	pyPath   string                 // resolved interpreter
	builds   map[string]*buildState // by source hash
	buildErr map[string]error       // compile errors, so a broken script is not rebuilt every run
}

type buildState struct {
	done chan struct{}
	path string
	err  error
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

// Run runs m once and judges the result. It returns when every process of
// the run is gone. Problems running the script are reported in the result
// (Outcome Error), not as a Go error.
func (r *Runner) Run(ctx context.Context, m *Monitor) Result {
	res := Result{Monitor: m.Name(), Start: time.Now(), ExitStatus: -1}
	errorResult := func(err error) Result {
		res.Outcome, res.Reason = Error, err.Error()
		res.Runtime = time.Since(res.Start)
		r.logger().Warn("monitor run failed to start", "monitor", m.Name(), "err", err)
		return res
	}
	src, err := m.script()
	if err != nil {
		return errorResult(err)
	}
	dir, err := os.MkdirTemp(r.WorkRoot, "monitor-"+m.Name()+"-")
	if err != nil {
		return errorResult(fmt.Errorf("monitor %s: work dir: %w", m.Name(), err))
	}
	defer os.RemoveAll(dir)

	var argv []string
	switch m.Def.Language {
	case Python:
		py, err := r.python(ctx)
		if err != nil {
			return errorResult(err)
		}
		file := filepath.Join(dir, "monitor.py")
		if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
			return errorResult(fmt.Errorf("monitor %s: writing script: %w", m.Name(), err))
		}
		argv = []string{py, "-u", file} // unbuffered: a killed run still shows its last output
	case Go:
		bin, err := r.compile(ctx, src)
		if err != nil {
			return errorResult(fmt.Errorf("monitor %s: %w", m.Name(), err))
		}
		argv = []string{bin}
	}
	env := r.env(m, dir)
	var files []*os.File
	if r.Sandbox != nil {
		if argv, files, err = r.Sandbox.wrap(m, argv, m.Def.Language == Go); err != nil {
			return errorResult(err)
		}
		defer func() {
			for _, f := range files {
				f.Close()
			}
		}()
		env = r.env(m, insideDir)
	}
	// The start time is taken again so that building is not counted.
	res.Start = time.Now()
	r.execute(ctx, m, dir, argv, env, files, &res)
	res.Stdout, res.Stderr = m.redact(res.Stdout), m.redact(res.Stderr)
	return res
}

// redact masks the values of secret variables that a script printed, so
// they reach neither the store's run records, the UI nor notifications.
// Values shorter than 4 bytes are left: masking them would garble output.
func (m *Monitor) redact(s string) string {
	for _, e := range m.Def.Env {
		if e.Secret && len(e.Value) >= 4 {
			s = strings.ReplaceAll(s, e.Value, "********")
		}
	}
	return s
}

// gateScript holds the child until the parent has set its rlimits, then
// becomes the script (same pid, so the same process group leader).
const gateScript = `read _ <&3 || exit 125; exec 3<&-; exec "$@"`

func (r *Runner) env(m *Monitor, dir string) []string {
	env := r.BaseEnv
	if env == nil {
		env = []string{"PATH=" + os.Getenv("PATH")}
	}
	env = append(append([]string{}, env...), "HOME="+dir, "TMPDIR="+dir)
	for _, e := range m.Def.Env {
		env = append(env, e.Name+"="+e.Value)
	}
	return env
}

func (r *Runner) execute(ctx context.Context, m *Monitor, dir string, argv, env []string, files []*os.File, res *Result) {
	limit := r.OutputCap
	if limit <= 0 {
		limit = DefaultOutputCap
	}
	stdout, stderr := &tailBuffer{limit: limit}, &tailBuffer{limit: limit}
	scan := &metricScanner{}

	gateR, gateW, err := os.Pipe()
	if err != nil {
		res.Outcome, res.Reason = Error, fmt.Sprintf("gate pipe: %v", err)
		return
	}
	defer gateR.Close()
	defer gateW.Close()

	cmd := exec.Command("/bin/sh", append([]string{"-c", gateScript, "sh"}, argv...)...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = multiWriter{stdout, scan}
	cmd.Stderr = stderr
	cmd.ExtraFiles = []*os.File{gateR}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if r.Sandbox != nil {
		cmd.Dir = "/"                                     // bwrap makes the work dir inside
		cmd.ExtraFiles = append(cmd.ExtraFiles, files...) // from workDirFD on
	}
	// A process that left the group (setsid) but kept our pipes would make
	// Wait block; the group itself is always killed before Wait.
	cmd.WaitDelay = 2 * time.Second

	var cg *cgroupRun
	if r.Cgroups != nil {
		cg, err = r.Cgroups.newRun(runID(m.Name()), r.limitsOf(m))
		if err != nil {
			res.Outcome, res.Reason = Error, err.Error()
			res.Runtime = time.Since(res.Start)
			return
		}
		defer func() {
			if err := cg.remove(); err != nil {
				r.logger().Error("monitor cgroup cleanup", "monitor", m.Name(), "err", err)
			}
		}()
		if cg.fd != nil {
			// Born inside its cgroup: no moment when a fork could escape it.
			cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, int(cg.fd.Fd())
		}
	}
	// killAll kills the run's whole tree: through its cgroup when it has
	// one, else its process group.
	killAll := func() error {
		if cg != nil {
			return cg.kill(time.Now().Add(5 * time.Second))
		}
		return killGroup(res.PID)
	}

	if err := cmd.Start(); err != nil {
		res.Outcome, res.Reason = Error, fmt.Sprintf("start: %v", err)
		res.Runtime = time.Since(res.Start)
		return
	}
	gateR.Close()
	pid := cmd.Process.Pid
	res.PID = pid
	err = r.applyLimits(pid)
	if err == nil && cg != nil {
		err = cg.attach(pid)
	}
	if err != nil {
		_ = killAll()
		_ = cmd.Wait()
		res.Outcome, res.Reason = Error, err.Error()
		res.Runtime = time.Since(res.Start)
		return
	}
	if _, err := gateW.Write([]byte("go\n")); err != nil {
		_ = killAll()
		_ = cmd.Wait()
		res.Outcome, res.Reason = Error, fmt.Sprintf("releasing the script: %v", err)
		res.Runtime = time.Since(res.Start)
		return
	}
	gateW.Close()

	exited := make(chan error, 1)
	go func() { exited <- waitExited(pid) }()
	tctx, cancel := context.WithTimeout(ctx, m.Def.Timeout)
	defer cancel()
	var killedFor error
	var werr error
	select {
	case werr = <-exited:
	case <-tctx.Done():
		killedFor = tctx.Err()
		if err := killAll(); err != nil {
			r.logger().Error("monitor timeout kill", "monitor", m.Name(), "err", err)
		}
		werr = <-exited
	}
	res.Runtime = time.Since(res.Start)
	var leftRunning []int
	if cg != nil && killedFor == nil {
		// The script has exited; whatever is still in its cgroup it left behind.
		procs, err := cg.procs()
		if err != nil {
			werr = err
		}
		for _, p := range procs {
			if p != pid {
				leftRunning = append(leftRunning, p)
			}
		}
	}
	// The leader is a zombie now; anything it left running goes too.
	if err := killAll(); err != nil {
		r.logger().Error("monitor cleanup kill", "monitor", m.Name(), "err", err)
		werr = err
	}
	if cg == nil {
		if err := groupGone(pid, time.Now().Add(5*time.Second)); err != nil {
			r.logger().Error("monitor cleanup", "monitor", m.Name(), "err", err)
			werr = err
		}
	} else {
		u, err := cg.usage()
		if err != nil {
			r.logger().Error("monitor cgroup usage", "monitor", m.Name(), "err", err)
		}
		u.LeftRunning = len(leftRunning)
		res.Usage = &u
	}
	waitErr := cmd.Wait()
	scan.Close()

	res.Stdout, res.Stderr = stdout.String(), stderr.String()
	d1, _ := stdout.total()
	d2, _ := stderr.total()
	res.Truncated = d1 > 0 || d2 > 0
	res.Metrics = scan.metrics
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		switch {
		case ws.Exited():
			res.ExitStatus = ws.ExitStatus()
		case ws.Signaled():
			res.ExitStatus = 128 + int(ws.Signal())
		}
	}
	switch {
	case werr != nil:
		res.Outcome, res.Reason = Error, werr.Error()
	case killedFor != nil && ctx.Err() != nil:
		res.Outcome, res.Reason = Error, fmt.Sprintf("cancelled: %v", ctx.Err())
	case killedFor != nil:
		res.Outcome, res.Reason = Timeout, fmt.Sprintf("killed after the timeout of %s", m.Def.Timeout)
	case res.Usage != nil && res.Usage.OOMKills > 0:
		res.Outcome, res.Reason = Fail, fmt.Sprintf("memory limit of %d bytes reached: %d process(es) killed", r.limitsOf(m).MemoryMax, res.Usage.OOMKills)
	case res.Usage != nil && res.Usage.PidsLimited > 0:
		res.Outcome, res.Reason = Fail, fmt.Sprintf("process limit of %d reached: %d fork(s) refused", r.limitsOf(m).PidsMax, res.Usage.PidsLimited)
	case len(leftRunning) > 0:
		res.Outcome, res.Reason = Fail, fmt.Sprintf("%d process(es) still running when the script exited were killed: %v", len(leftRunning), leftRunning)
	case errors.Is(waitErr, exec.ErrWaitDelay):
		res.Outcome, res.Reason = Fail, "a process that left the process group kept the output open"
	case scan.err != nil:
		res.Outcome, res.Reason = Fail, scan.err.Error()
	default:
		all := res.Stdout
		if res.Stderr != "" {
			all += "\n" + res.Stderr
		}
		if why := m.judge(res.ExitStatus, []byte(all), res.Metrics); why != "" {
			res.Outcome, res.Reason = Fail, why
		} else {
			res.Outcome = OK
		}
	}
}

// limitsOf are the cgroup limits of m's runs: the runner's, each replaced
// by the monitor's own where set.
func (r *Runner) limitsOf(m *Monitor) CgroupLimits {
	l := r.CgroupLimits
	if m.Def.MemoryMaxMB > 0 {
		l.MemoryMax = uint64(m.Def.MemoryMaxMB) << 20
	}
	if m.Def.PidsMax > 0 {
		l.PidsMax = uint64(m.Def.PidsMax)
	}
	if m.Def.CPUMax > 0 {
		l.CPUMax = m.Def.CPUMax
	}
	return l
}

// SandboxMode describes how runs are contained, for /-/healthz.
func (r *Runner) SandboxMode() string {
	parts := []string{"no cgroup (process group only)"}
	if r.Cgroups != nil {
		parts[0] = r.Cgroups.Mode()
	}
	if r.Sandbox != nil {
		parts = append(parts, "bubblewrap")
	} else {
		parts = append(parts, `sandbox = "none": no filesystem or network isolation`)
	}
	return strings.Join(parts, "; ")
}

func (r *Runner) applyLimits(pid int) error {
	l := r.Limits
	set := []struct {
		name       string
		res        int
		soft, hard uint64
	}{
		{"cpu", rlimitCPU, l.CPUSeconds, l.CPUSeconds + 1},
		{"address space", rlimitAS, l.AddressSpace, l.AddressSpace},
		{"open files", rlimitNOFILE, l.OpenFiles, l.OpenFiles},
		{"processes", rlimitNPROC, l.Processes, l.Processes},
	}
	for _, s := range set {
		if s.soft == 0 {
			continue
		}
		if err := prlimit(pid, s.res, s.soft, s.hard); err != nil {
			return fmt.Errorf("setting the %s limit of pid %d: %w", s.name, pid, err)
		}
	}
	return nil
}

// python resolves the interpreter once to its real executable, so that the
// limits and the process group hold the interpreter itself rather than a
// wrapper such as a pyenv shim.
func (r *Runner) python(ctx context.Context) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pyPath != "" {
		return r.pyPath, nil
	}
	py := r.Python
	if py == "" {
		py = "python3"
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, py, "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		return "", fmt.Errorf("python interpreter %q: %w", py, err)
	}
	p := strings.TrimSpace(string(out))
	if p == "" {
		return "", fmt.Errorf("python interpreter %q did not report its executable", py)
	}
	if r.Sandbox != nil {
		if err := r.Sandbox.canRun(p); err != nil {
			// With no interpreter configured, PATH's python3 may live where
			// the sandbox uid cannot go (pyenv under /root): the system's
			// own is what a default should mean then.
			const system = "/usr/bin/python3"
			if r.Python != "" || p == system || r.Sandbox.canRun(system) != nil {
				return "", fmt.Errorf("python interpreter %q (%s): %w; set [monitors] python to a system interpreter such as %s", py, p, err, system)
			}
			p = system
		}
	}
	r.pyPath = p
	return p, nil
}

// tailBuffer keeps the last limit bytes written and counts the rest.
type tailBuffer struct {
	limit   int
	buf     []byte
	dropped int64
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.limit {
		t.dropped += int64(len(t.buf) + len(p) - t.limit)
		t.buf = append(t.buf[:0], p[len(p)-t.limit:]...)
		return n, nil
	}
	t.buf = append(t.buf, p...)
	// Compact only when twice over the limit, to keep writes amortized O(1).
	if len(t.buf) > 2*t.limit {
		cut := len(t.buf) - t.limit
		t.dropped += int64(cut)
		t.buf = append(t.buf[:0], t.buf[cut:]...)
	}
	return n, nil
}

// total is the number of bytes dropped from the front.
func (t *tailBuffer) total() (dropped int64, tail []byte) {
	dropped, tail = t.dropped, t.buf
	if len(tail) > t.limit {
		dropped += int64(len(tail) - t.limit)
		tail = tail[len(tail)-t.limit:]
	}
	return dropped, tail
}

// String returns the tail, preceded by a marker when bytes were dropped.
func (t *tailBuffer) String() string {
	dropped, tail := t.total()
	if dropped == 0 {
		return string(tail)
	}
	// The cut may split a UTF-8 sequence.
	return fmt.Sprintf("[... %d bytes truncated ...]\n", dropped) + string(bytes.ToValidUTF8(tail, []byte("\uFFFD")))
}

// multiWriter feeds two writers without stopping at the first short write,
// since neither of ours fails.
type multiWriter struct {
	a *tailBuffer
	b *metricScanner
}

func (w multiWriter) Write(p []byte) (int, error) {
	w.a.Write(p)
	return w.b.Write(p)
}
