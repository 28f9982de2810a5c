package monitor

import (
	"log/slog"
	"os"
	"path/filepath"
	"rrdash/tools/testdeps"
	"strconv"
	"strings"
	"testing"
	"time"
)

var quiet = slog.New(slog.DiscardHandler)

func newRunner(t *testing.T) *Runner {
	t.Helper()
	return &Runner{WorkRoot: t.TempDir(), CacheDir: t.TempDir(), Limits: DefaultLimits(), Logger: quiet}
}

func scriptMonitor(t *testing.T, file string, timeout time.Duration, mod func(*Definition)) *Monitor {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "scripts", file))
	if err != nil {
		t.Fatal(err)
	}
	lang := Python
	if strings.HasSuffix(file, ".go") {
		lang = Go
		testdeps.Program(t, "go")
	} else {
		testdeps.Program(t, "python3")
	}
	d := Definition{
		Name:     strings.NewReplacer(".", "_").Replace(file),
		Language: lang,
		Source:   string(src),
		Interval: time.Minute,
		Timeout:  timeout,
	}
	if mod != nil {
		mod(&d)
	}
	m, err := d.Compile()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// groupMembers lists live (non-zombie) processes whose process group is pgid.
func groupMembers(t *testing.T, pgid int) []int {
	t.Helper()
	pids, err := liveGroupMembers(pgid)
	if err != nil {
		t.Fatal(err)
	}
	return pids
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}
