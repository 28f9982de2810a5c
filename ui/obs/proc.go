package obs

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// userHZ is the kernel's USER_HZ, the unit of /proc/*/stat times. It is
// 100 on every Linux architecture rrdash builds for (procfs assumes the
// same rather than asking sysconf, which would need cgo).
const userHZ = 100

// procStat is what the process collector uses from /proc/self/stat.
type procStat struct {
	UTime, STime uint64 // CPU time in user and kernel mode, clock ticks
	StartTime    uint64 // ticks after boot
	VSize        uint64 // virtual memory, bytes
	RSS          int64  // resident set, pages
}

// parseProcStat parses /proc/PID/stat (proc(5)). The command name in
// parentheses may itself hold spaces and parentheses, so fields are
// counted from the last ')'.
func parseProcStat(data []byte) (procStat, error) {
	var s procStat
	end := bytes.LastIndexByte(data, ')')
	if end < 0 || bytes.IndexByte(data, '(') < 0 {
		return s, fmt.Errorf("/proc stat: no (comm) field in %q", trunc(data))
	}
	f := strings.Fields(string(data[end+1:]))
	// f[0] is field 3 (state); field n is f[n-3].
	if len(f) < 24-3+1 {
		return s, fmt.Errorf("/proc stat: %d fields after comm, want at least 22", len(f))
	}
	var err error
	u := func(n int) uint64 {
		v, e := strconv.ParseUint(f[n-3], 10, 64)
		if e != nil && err == nil {
			err = fmt.Errorf("/proc stat: field %d: %w", n, e)
		}
		return v
	}
	s.UTime, s.STime, s.StartTime, s.VSize = u(14), u(15), u(22), u(23)
	rss, e := strconv.ParseInt(f[24-3], 10, 64)
	if e != nil && err == nil {
		err = fmt.Errorf("/proc stat: field 24: %w", e)
	}
	s.RSS = rss
	return s, err
}

// parseBootTime returns the btime line of /proc/stat: boot time in
// seconds since the epoch.
func parseBootTime(data []byte) (uint64, error) {
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "btime "); ok {
			v, err := strconv.ParseUint(strings.TrimSpace(rest), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/stat btime: %w", err)
			}
			return v, nil
		}
	}
	return 0, fmt.Errorf("/proc/stat: no btime line")
}

// parseMaxOpenFiles returns the soft limit of the "Max open files" row of
// /proc/PID/limits; +Inf for "unlimited".
func parseMaxOpenFiles(data []byte) (float64, error) {
	for line := range strings.Lines(string(data)) {
		rest, ok := strings.CutPrefix(line, "Max open files")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, fmt.Errorf("/proc limits: Max open files: no soft limit")
		}
		if f[0] == "unlimited" {
			return math.Inf(1), nil
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc limits: Max open files: %w", err)
		}
		return float64(v), nil
	}
	return 0, fmt.Errorf("/proc limits: no Max open files row")
}

func trunc(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// procFS reads the files the process collector needs; a field so tests
// can point it at fixtures.
type procFS struct{ root string } // "/proc" in production

func (p procFS) read(name string) ([]byte, error) {
	b, err := os.ReadFile(p.root + "/" + name)
	if err != nil {
		return nil, fmt.Errorf("process metrics: %w", err)
	}
	return b, nil
}

func (p procFS) openFDs() (int, error) {
	d, err := os.Open(p.root + "/self/fd")
	if err != nil {
		return 0, fmt.Errorf("process metrics: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return 0, fmt.Errorf("process metrics: read %s/self/fd: %w", p.root, err)
	}
	return len(names), nil
}
