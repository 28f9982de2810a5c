// Package rrdtooltest finds the real rrdtool that tests compare against.
package rrdtooltest

import (
	"os"
	"os/exec"
	"testing"
)

// Bin returns the rrdtool binary. A missing rrdtool skips the test, except
// with CI=true, where it fails it: CI must run every comparison.
func Bin(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("rrdtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("rrdtool is required (CI=true): %v", err)
		}
		t.Skipf("rrdtool not installed (make test installs it): %v", err)
	}
	return p
}
