// Package testdeps finds what tests drive — programs and files from
// Debian's or npm's packages, which `make deps-test` installs. A missing
// one skips the test, except with CI=true, where it fails it: CI must run
// every test.
package testdeps

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Program returns the path of program name: from PATH, else the first of
// paths that exists.
func Program(t testing.TB, name string, paths ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	missing(t, name, "not on PATH"+alsoAt(paths))
	return ""
}

// File returns the first of paths that exists; what names it in the
// message.
func File(t testing.TB, what string, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	missing(t, what, strings.Join(paths, ", ")+" missing")
	return ""
}

func alsoAt(paths []string) string {
	if len(paths) == 0 {
		return ""
	}
	return " nor at " + strings.Join(paths, ", ")
}

func missing(t testing.TB, what, detail string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required (CI=true; make deps-test installs it): %s", what, detail)
	}
	t.Skipf("%s not installed (make deps-test installs it): %s", what, detail)
}
