//go:build linux

package monitor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Sandbox isolates a run with bubblewrap: the system read-only, a private
// /tmp holding the run's work dir, the Hide paths (data directory, config,
// key file) covered, its own user, IPC and UTS namespaces, and an empty
// network namespace for monitors with network = false. The script runs as
// an unprivileged uid, so even a path left visible that only rrdash's user
// may read stays closed.
type Sandbox struct {
	Bwrap string // bwrap executable
	// Setpriv (util-linux) drops to UID/GID after rrdash has set the run's
	// rlimits, which it could not do on another uid's process without
	// CAP_SYS_RESOURCE.
	Setpriv string
	Hide    []string // paths the script must not see
	UID     uint32   // unprivileged ids the run gets; 0 means 65534 (nobody)
	GID     uint32
}

// NewSandbox finds bwrap and setpriv in PATH.
func NewSandbox(hide []string) (*Sandbox, error) {
	s := &Sandbox{Hide: hide}
	var err error
	if s.Bwrap, err = exec.LookPath("bwrap"); err != nil {
		return nil, fmt.Errorf(`sandbox: %w (install the bubblewrap package, or set sandbox = "none")`, err)
	}
	if s.Setpriv, err = exec.LookPath("setpriv"); err != nil {
		return nil, fmt.Errorf(`sandbox: %w (install util-linux, or set sandbox = "none")`, err)
	}
	return s, nil
}

// insideDir is where the run's work dir appears in the sandbox.
const insideDir = "/tmp/monitor"

// workDirFD is the first descriptor files for the work dir are passed on
// (after the gate's 3).
const workDirFD = 4

func (s *Sandbox) ids() (uint32, uint32) {
	uid, gid := s.UID, s.GID
	if uid == 0 {
		uid = 65534
	}
	if gid == 0 {
		gid = 65534
	}
	return uid, gid
}

// Check runs bwrap once as the run's uid with the namespaces runs need, so
// that a machine which refuses them (no user namespaces, seccomp in a
// container) is found at start, with bwrap's own words.
func (s *Sandbox) Check(ctx context.Context) error {
	if s.Bwrap == "" || s.Setpriv == "" {
		return errors.New(`sandbox: bwrap or setpriv missing (install the bubblewrap package, or set sandbox = "none")`)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	argv := append(s.command(false, nil), "true")
	args := argv[1:]
	cmd := exec.CommandContext(ctx, argv[0], args...)
	cmd.Dir = "/"
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf(`sandbox: this machine refuses the namespaces bubblewrap needs (%s %s): %w: %s (set sandbox = "none" to run monitors without isolation)`,
			s.Bwrap, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// command is setpriv and bwrap with their options, up to the script's
// argv. files are put read-only into the work dir from descriptors
// workDirFD, workDirFD+1, ... (bwrap reads them; the sandbox's uid needs
// no way to the files themselves).
func (s *Sandbox) command(network bool, files []sandboxFile) []string {
	uid, gid := s.ids()
	a := []string{
		s.Setpriv, "--reuid", strconv.FormatUint(uint64(uid), 10), "--regid", strconv.FormatUint(uint64(gid), 10),
		"--clear-groups", "--", s.Bwrap,
		"--ro-bind", "/", "/",
		"--dev", "/dev",
		"--perms", "1777", "--tmpfs", "/tmp",
		"--perms", "1777", "--tmpfs", "/var/tmp",
		"--tmpfs", "/run",
		"--perms", "0700", "--dir", insideDir,
		"--unshare-user", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
		// No PID namespace: the run's cgroup already holds its tree, and
		// its init would kill what the script left behind before it could
		// be reported.
		"--uid", strconv.FormatUint(uint64(uid), 10), "--gid", strconv.FormatUint(uint64(gid), 10),
		"--chdir", insideDir,
	}
	if !network {
		a = append(a, "--unshare-net")
	}
	for _, p := range s.Hide {
		fi, err := os.Stat(p)
		switch {
		case err != nil || !reachable(p, uid, gid):
			continue // nothing there to see, or nothing the run's uid can reach
		case fi.IsDir():
			a = append(a, "--tmpfs", p, "--remount-ro", p)
		default:
			a = append(a, "--ro-bind", "/dev/null", p)
		}
	}
	for i, f := range files {
		a = append(a, "--perms", fmt.Sprintf("%04o", f.mode), "--ro-bind-data", strconv.Itoa(workDirFD+i), insideDir+"/"+f.name)
	}
	return append(a, "--")
}

// sandboxFile is a file put into the sandbox's work dir.
type sandboxFile struct {
	name string
	mode os.FileMode
	f    *os.File
}

// wrap returns the command line that runs argv inside the sandbox and the
// files to pass from workDirFD on. argv[last] (the script of a Python
// monitor) or argv[0] (a compiled Go monitor) is put into the sandbox.
func (s *Sandbox) wrap(m *Monitor, argv []string, goBinary bool) ([]string, []*os.File, error) {
	inner := append([]string{}, argv...)
	i, sf := len(argv)-1, sandboxFile{name: "monitor.py", mode: 0o444}
	if goBinary {
		i, sf = 0, sandboxFile{name: "monitor", mode: 0o555}
	}
	f, err := os.Open(argv[i])
	if err != nil {
		return nil, nil, fmt.Errorf("monitor %s: %w", m.Name(), err)
	}
	sf.f = f
	inner[i] = insideDir + "/" + sf.name
	return append(s.command(m.Network(), []sandboxFile{sf}), inner...), []*os.File{f}, nil
}

// reachable reports whether uid/gid may search every directory above p,
// judged by mode bits; bwrap could not cover a path it cannot reach, and
// the script could not see it either.
func reachable(p string, uid, gid uint32) bool {
	p = filepath.Clean(p)
	for dir := filepath.Dir(p); ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil {
			return false
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return false
		}
		mode := fi.Mode().Perm()
		var x os.FileMode = 0o001
		switch {
		case st.Uid == uid:
			x = 0o100
		case st.Gid == gid:
			x = 0o010
		}
		if mode&x == 0 {
			return false
		}
		if dir == "/" {
			return true
		}
	}
}

// canRun reports why the sandbox's uid could not execute the file at p.
func (s *Sandbox) canRun(p string) error {
	uid, gid := s.ids()
	if !reachable(p, uid, gid) {
		return fmt.Errorf("a directory above it is closed to the sandbox's uid %d", uid)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o001 == 0 {
		return fmt.Errorf("not executable by others (mode %v), so not by the sandbox's uid %d", fi.Mode().Perm(), uid)
	}
	return nil
}
