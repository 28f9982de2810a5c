//go:build linux

package monitor

import (
	"bufio"
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CgroupLimits bound one run through its cgroup. Zero leaves a resource
// unlimited.
type CgroupLimits struct {
	MemoryMax uint64  // bytes (memory.max / memory.limit_in_bytes)
	PidsMax   uint64  // tasks (pids.max)
	CPUMax    float64 // cores, e.g. 0.5 (cpu.max / cpu.cfs_quota_us)
}

// Usage is what a run's cgroup measured.
type Usage struct {
	PeakMemory  uint64  `json:"peak_memory_bytes"`
	CPUSeconds  float64 `json:"cpu_seconds"`
	OOMKills    uint64  `json:"oom_kills,omitempty"`    // processes killed at the memory limit
	PidsLimited uint64  `json:"pids_limited,omitempty"` // forks refused at the task limit
	LeftRunning int     `json:"left_running,omitempty"` // processes still alive when the script exited
}

// Cgroups is the cgroup hierarchy that monitor runs are placed in: one
// parent cgroup for rrdash's monitors, one child per run. On a pure v2
// machine everything is v2. On a hybrid machine (cgroup2 mounted beside v1
// controllers) the v2 hierarchy still holds the run, so that it is started
// inside it (clone into cgroup) and killed as a whole (cgroup.kill), while
// the limits use whichever hierarchy has the controller. Without any v2
// mount the v1 freezer stops the tree before it is killed.
type Cgroups struct {
	v2     string            // parent cgroup for runs in the v2 hierarchy; "" when none
	v2Ctrl map[string]bool   // controllers enabled for the runs in v2
	v1     map[string]string // controller -> parent cgroup in its v1 hierarchy
}

// cgroup controllers that runs use; cpuacct and freezer only in v1.
var cgroupControllers = []string{"memory", "pids", "cpu"}

// OpenCgroups finds the machine's cgroup hierarchies in /proc/self/mountinfo
// and makes (or reuses) the parent cgroup name in each. It fails when the
// run's tree could not be contained: neither a v2 hierarchy nor the v1
// freezer, or no way to enforce a limit in limits.
func OpenCgroups(name string, limits CgroupLimits) (*Cgroups, error) {
	return openCgroups(name, limits, true)
}

// openCgroups with useV2 false ignores a v2 hierarchy (tests of v1 on a
// hybrid machine).
func openCgroups(name string, limits CgroupLimits, useV2 bool) (*Cgroups, error) {
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return nil, fmt.Errorf("cgroup name %q: want one path element", name)
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("cgroups: %w", err)
	}
	defer f.Close()
	v2mount, v1, err := parseMountinfo(f)
	if err != nil {
		return nil, fmt.Errorf("cgroups: reading /proc/self/mountinfo: %w", err)
	}
	c := &Cgroups{v2Ctrl: map[string]bool{}, v1: map[string]string{}}
	for ctrl, mnt := range v1 {
		c.v1[ctrl] = filepath.Join(mnt, name)
	}
	if v2mount != "" && useV2 {
		if err := c.openV2(v2mount, name); err != nil {
			return nil, err
		}
	}
	for ctrl := range c.v1 {
		// With v2 holding the run, the freezer and cpuacct are not needed.
		if c.v2Ctrl[ctrl] || (c.v2 != "" && (ctrl == "freezer" || ctrl == "cpuacct")) {
			delete(c.v1, ctrl) // v2 has it; a controller lives in one hierarchy only
		}
	}
	if c.v2 == "" && c.v1["freezer"] == "" {
		return nil, errors.New("cgroups: neither a cgroup v2 hierarchy nor the v1 freezer is mounted, so a run's process tree could not be killed as a whole")
	}
	if c.v2 == "" && c.v1["cpuacct"] == "" {
		return nil, errors.New("cgroups: no v2 hierarchy and no v1 cpuacct controller to measure CPU time")
	}
	for _, need := range []struct {
		ctrl string
		set  bool
	}{{"memory", limits.MemoryMax > 0}, {"pids", limits.PidsMax > 0}, {"cpu", limits.CPUMax > 0}} {
		if need.set && !c.v2Ctrl[need.ctrl] && c.v1[need.ctrl] == "" {
			return nil, fmt.Errorf("cgroups: a %s limit is configured but the %s controller is in neither the v2 hierarchy (%s) nor a v1 one", need.ctrl, need.ctrl, v2mount)
		}
	}
	for ctrl, dir := range c.v1 {
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("cgroups: v1 %s: %w", ctrl, err)
		}
	}
	return c, nil
}

// parseMountinfo finds in mountinfo (proc(5)) the first cgroup2 mount and
// the v1 mounts of the controllers runs use.
func parseMountinfo(r io.Reader) (v2 string, v1 map[string]string, err error) {
	v1 = map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		// "36 25 0:31 / /sys/fs/cgroup/memory rw,relatime shared:14 - cgroup cgroup rw,memory"
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if !ok || len(pf) < 5 || len(qf) < 3 {
			return "", nil, fmt.Errorf("line %d: not a mountinfo line: %q", n, sc.Text())
		}
		mnt := unescapeMount(pf[4])
		switch qf[0] {
		case "cgroup2":
			if v2 == "" {
				v2 = mnt
			}
		case "cgroup":
			for _, opt := range strings.Split(qf[2], ",") {
				if slices.Contains([]string{"memory", "pids", "cpu", "cpuacct", "freezer"}, opt) {
					v1[opt] = mnt
				}
			}
		}
	}
	return v2, v1, sc.Err()
}

// openV2 makes the parent in the v2 hierarchy and enables for its children
// every controller the hierarchy offers of those runs use.
func (c *Cgroups) openV2(mount, name string) error {
	parent := filepath.Join(mount, name)
	if err := os.Mkdir(parent, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("cgroups: v2 at %s: %w", mount, err)
	}
	if _, err := os.Stat(filepath.Join(parent, "cgroup.kill")); err != nil {
		return fmt.Errorf("cgroups: v2 at %s lacks cgroup.kill (Linux 5.14 or later is needed): %w", mount, err)
	}
	avail, err := os.ReadFile(filepath.Join(mount, "cgroup.controllers"))
	if err != nil {
		return fmt.Errorf("cgroups: v2 at %s: %w", mount, err)
	}
	for _, ctrl := range cgroupControllers {
		if !slices.Contains(strings.Fields(string(avail)), ctrl) {
			continue
		}
		for _, dir := range []string{mount, parent} {
			if err := writeCgroup(dir, "cgroup.subtree_control", "+"+ctrl); err != nil {
				return fmt.Errorf("cgroups: enabling the v2 %s controller: %w", ctrl, err)
			}
		}
		c.v2Ctrl[ctrl] = true
	}
	c.v2 = parent
	return nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Mode says which hierarchies hold the runs, for /-/healthz.
func (c *Cgroups) Mode() string {
	var v1 []string
	for ctrl := range c.v1 {
		v1 = append(v1, ctrl)
	}
	slices.Sort(v1)
	v2 := []string{}
	for _, ctrl := range cgroupControllers {
		if c.v2Ctrl[ctrl] {
			v2 = append(v2, ctrl)
		}
	}
	switch {
	case c.v2 != "" && len(v1) == 0:
		return fmt.Sprintf("cgroup v2 (%s; controllers %s)", c.v2, strings.Join(v2, " "))
	case c.v2 != "":
		return fmt.Sprintf("cgroup hybrid: v2 %s holds and kills runs (controllers: %s), v1 limits %s",
			c.v2, cmp.Or(strings.Join(v2, " "), "none"), strings.Join(v1, " "))
	default:
		return "cgroup v1 (" + strings.Join(v1, " ") + ")"
	}
}

// cgroupRun is the cgroup of one run.
type cgroupRun struct {
	c    *Cgroups
	v2   string            // "" without v2
	fd   *os.File          // the v2 directory, for clone into cgroup
	v1   map[string]string // controller -> this run's v1 cgroup
	lim  CgroupLimits
	done bool
}

// newRun makes the cgroup of one run and sets its limits.
func (c *Cgroups) newRun(id string, l CgroupLimits) (_ *cgroupRun, err error) {
	for _, need := range []struct {
		ctrl string
		set  bool
	}{{"memory", l.MemoryMax > 0}, {"pids", l.PidsMax > 0}, {"cpu", l.CPUMax > 0}} {
		if need.set && !c.v2Ctrl[need.ctrl] && c.v1[need.ctrl] == "" {
			return nil, fmt.Errorf("cgroup: a %s limit is set but this machine has no %s controller", need.ctrl, need.ctrl)
		}
	}
	r := &cgroupRun{c: c, v1: map[string]string{}, lim: l}
	defer func() {
		if err != nil {
			r.remove()
		}
	}()
	if c.v2 != "" {
		r.v2 = filepath.Join(c.v2, id)
		if err := os.Mkdir(r.v2, 0o755); err != nil {
			return nil, fmt.Errorf("cgroup %s: %w", r.v2, err)
		}
		if r.fd, err = os.Open(r.v2); err != nil {
			return nil, fmt.Errorf("cgroup %s: %w", r.v2, err)
		}
	}
	for ctrl, parent := range c.v1 {
		dir := filepath.Join(parent, id)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, fmt.Errorf("cgroup %s: %w", dir, err)
		}
		r.v1[ctrl] = dir
	}
	set := func(ctrl, v2file, v2val, v1file, v1val string) error {
		if c.v2Ctrl[ctrl] {
			return writeCgroup(r.v2, v2file, v2val)
		}
		return writeCgroup(r.v1[ctrl], v1file, v1val)
	}
	if l.MemoryMax > 0 {
		v := strconv.FormatUint(l.MemoryMax, 10)
		if err := set("memory", "memory.max", v, "memory.limit_in_bytes", v); err != nil {
			return nil, err
		}
		if c.v2Ctrl["memory"] {
			// Swap would let a hog run on past the limit, slowly.
			if err := writeCgroup(r.v2, "memory.swap.max", "0"); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
		} else if err := writeCgroup(r.v1["memory"], "memory.memsw.limit_in_bytes", v); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	if l.PidsMax > 0 {
		v := strconv.FormatUint(l.PidsMax, 10)
		if err := set("pids", "pids.max", v, "pids.max", v); err != nil {
			return nil, err
		}
	}
	if l.CPUMax > 0 {
		const period = 100000 // µs
		quota := max(int64(l.CPUMax*period), 1000)
		if c.v2Ctrl["cpu"] {
			err = writeCgroup(r.v2, "cpu.max", fmt.Sprintf("%d %d", quota, period))
		} else if err = writeCgroup(r.v1["cpu"], "cpu.cfs_period_us", strconv.Itoa(period)); err == nil {
			err = writeCgroup(r.v1["cpu"], "cpu.cfs_quota_us", strconv.FormatInt(quota, 10))
		}
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

// attach moves pid into the run's v1 cgroups. It is called while the child
// is held at the gate, before the script runs, so every process the script
// makes is born inside them. (In v2 the child was cloned into its cgroup.)
func (r *cgroupRun) attach(pid int) error {
	for _, dir := range r.v1 {
		if err := writeCgroup(dir, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

// procs lists the processes in the run's cgroup.
func (r *cgroupRun) procs() ([]int, error) {
	dir := r.v2
	if dir == "" {
		dir = r.v1["freezer"]
	}
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", dir, err)
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// kill kills every process in the run's cgroup, however it detached itself
// (setsid, double fork), and waits until the cgroup is empty. In v2
// cgroup.kill does it in the kernel; in v1 the tree is frozen first so
// that nothing can fork while the list is being killed.
func (r *cgroupRun) kill(deadline time.Time) error {
	for {
		if r.v2 != "" {
			if err := writeCgroup(r.v2, "cgroup.kill", "1"); err != nil {
				return err
			}
		} else if err := r.freezeKill(deadline); err != nil {
			return err
		}
		left, err := r.procs()
		if err != nil {
			return err
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v of the run survived the cgroup kill", left)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *cgroupRun) freezeKill(deadline time.Time) error {
	dir := r.v1["freezer"]
	if err := writeCgroup(dir, "freezer.state", "FROZEN"); err != nil {
		return err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "freezer.state"))
		if err != nil {
			return fmt.Errorf("cgroup %s: %w", dir, err)
		}
		if strings.TrimSpace(string(b)) == "FROZEN" || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	pids, err := r.procs()
	if err != nil {
		return err
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL) // one that already exited is fine
	}
	return writeCgroup(dir, "freezer.state", "THAWED")
}

// usage reads what the run's cgroup measured; call it after kill.
func (r *cgroupRun) usage() (Usage, error) {
	var u Usage
	var err error
	c := r.c
	if c.v2Ctrl["memory"] {
		u.PeakMemory, err = readUint(r.v2, "memory.peak")
		if err == nil {
			u.OOMKills, err = readKeyed(r.v2, "memory.events", "oom_kill")
		}
	} else if r.v1["memory"] != "" {
		u.PeakMemory, err = readUint(r.v1["memory"], "memory.max_usage_in_bytes")
		if err == nil {
			u.OOMKills, err = readKeyed(r.v1["memory"], "memory.oom_control", "oom_kill")
		}
	}
	if err != nil {
		return u, err
	}
	if c.v2Ctrl["pids"] {
		u.PidsLimited, err = readKeyed(r.v2, "pids.events", "max")
	} else if r.v1["pids"] != "" {
		u.PidsLimited, err = readKeyed(r.v1["pids"], "pids.events", "max")
	}
	if err != nil {
		return u, err
	}
	if r.v2 != "" {
		var us uint64
		us, err = readKeyed(r.v2, "cpu.stat", "usage_usec")
		u.CPUSeconds = float64(us) / 1e6
	} else {
		var ns uint64
		ns, err = readUint(r.v1["cpuacct"], "cpuacct.usage")
		u.CPUSeconds = float64(ns) / 1e9
	}
	return u, err
}

// remove deletes the run's cgroups; they must be empty (after kill).
func (r *cgroupRun) remove() error {
	if r.done {
		return nil
	}
	r.done = true
	if r.fd != nil {
		r.fd.Close()
	}
	var errs []error
	for _, dir := range append([]string{r.v2}, mapValues(r.v1)...) {
		if dir == "" {
			continue
		}
		if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing cgroup: %w", err))
		}
	}
	return errors.Join(errs...)
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func writeCgroup(dir, file, value string) error {
	p := filepath.Join(dir, file)
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("cgroup %s: %w", p, err)
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cgroup %s: writing %q: %w", p, value, err)
	}
	return nil
}

func readUint(dir, file string) (uint64, error) {
	p := filepath.Join(dir, file)
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, fmt.Errorf("cgroup %s: %w", p, err)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cgroup %s: %w", p, err)
	}
	return v, nil
}

// readKeyed reads the value of key from a "key value" per line file; a
// missing key (an older kernel) reads as 0.
func readKeyed(dir, file, key string) (uint64, error) {
	p := filepath.Join(dir, file)
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, fmt.Errorf("cgroup %s: %w", p, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if ok && k == key {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("cgroup %s: %s: %w", p, key, err)
			}
			return n, nil
		}
	}
	return 0, nil
}

// runID names a run's cgroup: the monitor and a random suffix, since runs
// of one monitor may overlap (a manual run beside a scheduled one).
func runID(monitor string) string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail on Linux
	return fmt.Sprintf("%s-%x", monitor, b)
}
