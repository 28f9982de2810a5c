package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The data directory's LOCK file is flock(2)ed: exclusively by the one
// process that writes (serve, update, create, import, pipe mode), shared by
// any number of readers (fetch, info, last, list, xport, graph), so readers
// never lock each other out and a writer waits for none but them. The
// exclusive holder writes a line naming itself into the file; readers write
// nothing. A process that finds the lock taken names every holder from
// /proc/locks (so a reader, which leaves no line, is named too, and a line
// left by an earlier holder is never taken for the current one).

// lockWait is how long Open waits for a data directory lock to be freed.
const lockWait = 300 * time.Millisecond

// LockError reports a data directory held by other processes.
type LockError struct {
	Dir string
	// Holders describes each holder: "pid 42 (rrdash serve) on host since
	// 2026-11-02T10:00:00Z", "pid 43 (rrdash fetch …) reading since …".
	// It is never empty.
	Holders []string
	// Writer is the pid of the exclusive holder, 0 when readers hold it.
	Writer int
	Err    error
}

func (e *LockError) Error() string {
	return fmt.Sprintf("data directory %s is in use by another process (%s): %v", e.Dir, strings.Join(e.Holders, "; "), e.Err)
}

func (e *LockError) Unwrap() error { return e.Err }

// lockDir takes the directory's lock, shared or exclusive; after lockWait
// it gives up with a *LockError naming the holders.
func lockDir(dir string, shared bool) (*os.File, error) { return lockDirMode(dir, shared, false) }

// lockDirMode is lockDir; block waits for as long as the lock is held
// instead of giving up (update --locking block).
func lockDirMode(dir string, shared, block bool) (*os.File, error) {
	p := filepath.Join(dir, "LOCK")
	flag, how := os.O_RDWR|os.O_CREATE, syscall.LOCK_EX
	if shared {
		// a reader never writes the file, so a read-only one will do
		flag, how = os.O_RDONLY|os.O_CREATE, syscall.LOCK_SH
	}
	f, err := os.OpenFile(p, flag, 0o644)
	if err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dir, err)
	}
	// A process that forks (to exec rrdtool, a monitor script…) lends the
	// lock's open file to the child until its exec closes it, so a lock
	// just released can look held for a moment: retry briefly before
	// naming the holder. Past the deadline the holder is looked up; one
	// that is gone by then (it released the lock) means one more try.
	start := time.Now()
	for {
		err = syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("data directory %s: locking %s: %w", dir, p, err)
		}
		if waited := time.Since(start); waited >= lockWait && !block {
			holders, writer := lockHolders(p, f)
			if len(holders) > 0 || waited >= 2*lockWait {
				f.Close()
				if len(holders) == 0 {
					holders = []string{"holder unknown: it left no line in " + p + " and /proc/locks does not name it"}
				}
				return nil, &LockError{Dir: dir, Holders: holders, Writer: writer, Err: err}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !shared {
		// Written in place, then cut to length: the file is never empty
		// while held (a process reading it in between sees the earlier
		// holder's line, which its pid tells from this one).
		line := holderLine(os.Getpid(), time.Now())
		if _, err := f.WriteAt([]byte(line), 0); err == nil {
			f.Truncate(int64(len(line)))
		}
	}
	return f, nil
}

// holderLine describes this process as the exclusive holder.
func holderLine(pid int, since time.Time) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("pid %d (%s) on %s since %s\n", pid, commandLine(os.Args), host, since.UTC().Format(time.RFC3339))
}

// commandLine is argv as one short line: the program's base name and its
// arguments, cut at 120 bytes.
func commandLine(argv []string) string {
	if len(argv) == 0 {
		return "?"
	}
	args := append([]string{filepath.Base(argv[0])}, argv[1:]...)
	s := strings.Join(args, " ")
	s = strings.Map(func(r rune) rune {
		if r < ' ' {
			return ' '
		}
		return r
	}, s)
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

// lockHolders names the processes holding the lock file p (open as f):
// from /proc/locks, with the exclusive holder's own line when its pid
// matches; without /proc, the line in the file. writer is the exclusive
// holder's pid, 0 if none was found.
func lockHolders(p string, f *os.File) (holders []string, writer int) {
	line, _ := os.ReadFile(p)
	fileLine := strings.TrimSpace(string(line))
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return orNone(fileLine), 0
	}
	locks, err := os.ReadFile("/proc/locks")
	if err != nil {
		return orNone(fileLine), 0
	}
	for _, l := range flockHolders(locks, st.Dev, st.Ino) {
		if l.exclusive {
			writer = l.pid
			if pidOf(fileLine) == l.pid {
				holders = append(holders, fileLine)
				continue
			}
			holders = append(holders, describePID(l.pid, "writing"))
			continue
		}
		holders = append(holders, describePID(l.pid, "reading"))
	}
	return holders, writer
}

func orNone(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// pidOf reads the pid from a holder line ("pid 42 (…) …"); 0 if none.
func pidOf(line string) int {
	rest, ok := strings.CutPrefix(line, "pid ")
	if !ok {
		return 0
	}
	n, _, _ := strings.Cut(rest, " ")
	pid, _ := strconv.Atoi(n)
	return pid
}

type flockEntry struct {
	pid       int
	exclusive bool
}

// flockHolders parses /proc/locks for the granted flock locks on the
// file dev:ino. Lines look like
//
//	1: FLOCK  ADVISORY  WRITE 4242 fe:00:9982660 0 EOF
//
// (waiters carry "->" after the id and are skipped).
func flockHolders(locks []byte, dev, ino uint64) []flockEntry {
	var out []flockEntry
	want := fmt.Sprintf("%02x:%02x:%d", devMajor(dev), devMinor(dev), ino)
	sc := bufio.NewScanner(bytes.NewReader(locks))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || f[1] != "FLOCK" || f[5] != want {
			continue
		}
		pid, err := strconv.Atoi(f[4])
		if err != nil || pid <= 0 {
			continue
		}
		out = append(out, flockEntry{pid: pid, exclusive: f[3] == "WRITE"})
	}
	return out
}

// devMajor and devMinor split a Linux dev_t as glibc's gnu_dev_major/minor.
func devMajor(dev uint64) uint64 { return (dev>>8)&0xfff | (dev>>32)&^uint64(0xfff) }
func devMinor(dev uint64) uint64 { return dev&0xff | (dev>>12)&^uint64(0xff) }

// describePID names a process from /proc: "pid 42 (rrdash fetch x AVERAGE)
// reading since 2026-…".
func describePID(pid int, doing string) string {
	cmd := "?"
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && len(b) > 0 {
		cmd = commandLine(strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"))
	}
	s := fmt.Sprintf("pid %d (%s) %s", pid, cmd, doing)
	if t, ok := processStart(pid); ok {
		s += " since " + t.UTC().Format(time.RFC3339)
	}
	return s
}

// processStart reads when a process started: field 22 of /proc/PID/stat
// (clock ticks after boot, USER_HZ 100 on Linux) plus btime of /proc/stat.
func processStart(pid int) (time.Time, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return time.Time{}, false
	}
	// the command (field 2) may hold spaces and parentheses: fields
	// are counted after its closing parenthesis
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return time.Time{}, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return time.Time{}, false
	}
	ticks, err := strconv.ParseInt(f[19], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	st, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}, false
	}
	for _, l := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(l, "btime "); ok {
			bt, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}, false
			}
			return time.Unix(bt+ticks/100, 0), true
		}
	}
	return time.Time{}, false
}
