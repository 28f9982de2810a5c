package store

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// nameList keeps the sorted series names of the last scan of the series
// directory, so listing a million series is a copy, not a scan and a sort
// (~1 s of CPU at a million). The scan stands as long as the directory is
// unchanged: every creation, removal and rename of a file in it changes
// its modification and change times — whoever makes it, this process or
// another. A scan is kept only when the directory's times are older than
// the scan by more than the file system's timestamp granularity (git's
// "racy" rule): a change made during or right after the scan then always
// shows as new times.
type nameList struct {
	mu    sync.Mutex
	stamp dirStamp
	names []string // sorted; nil: no scan kept
	// window overrides racyWindow (tests)
	window time.Duration
}

// dirStamp identifies a state of a directory's entries.
type dirStamp struct {
	ino          uint64
	mtime, ctime syscall.Timespec
}

// racyWindow is how recent a directory's change may be for a scan not to
// be kept (coarse file system clocks tick every few ms; some file
// systems keep whole seconds).
const racyWindow = 2 * time.Second

func statDir(dir string) (dirStamp, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return dirStamp{}, fmt.Errorf("series directory %s: %w", dir, err)
	}
	return dirStamp{ino: st.Ino, mtime: st.Mtim, ctime: st.Ctim}, nil
}

// list returns the sorted names in dir (callers must not change the
// slice). hashed reads the name of a file whose name is a hash ("" when it
// does not read).
func (l *nameList) list(dir string, hashed func(path string) string) ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	before, err := statDir(dir)
	if err != nil {
		return nil, err
	}
	if l.names != nil && before == l.stamp {
		return l.names, nil
	}
	started := time.Now()
	names, err := scanNames(dir, hashed)
	if err != nil {
		return nil, err
	}
	after, err := statDir(dir)
	window := racyWindow
	if l.window != 0 {
		window = l.window
	}
	newest := max(time.Unix(after.mtime.Unix()).UnixNano(), time.Unix(after.ctime.Unix()).UnixNano())
	if err == nil && after == before && newest < started.Add(-window).UnixNano() {
		l.stamp, l.names = after, names
	} else {
		l.names = nil
	}
	return names, nil
}

// scanNames reads the series names of the files in dir, sorted.
func scanNames(dir string, hashed func(path string) string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// names only: no sort by file name (series names sort differently)
	// and no entry per file
	fns, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("series directory %s: %w", dir, err)
	}
	names := fns[:0]
	for _, fn := range fns {
		name, ok := strings.CutSuffix(fn, ".rrd")
		switch {
		case !ok:
			continue
		case strings.HasPrefix(name, "~"):
			if name = hashed(dir + "/" + fn); name == "" {
				continue
			}
		case strings.IndexByte(name, '%') >= 0:
			if name, ok = nameFromFile(fn); !ok {
				if name = hashed(dir + "/" + fn); name == "" {
					continue
				}
			}
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return slices.Clip(names), nil
}
