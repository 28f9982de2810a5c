// Package rrdtooltest finds the real rrdtool that tests compare against.
package rrdtooltest

import (
	"testing"

	"rrdash/tools/testdeps"
)

// Bin returns the rrdtool binary. A missing rrdtool skips the test, except
// with CI=true, where it fails it: CI must run every comparison.
func Bin(t testing.TB) string {
	t.Helper()
	return testdeps.Program(t, "rrdtool")
}
