package main

import (
	"path/filepath"
	"testing"
)

// info --noflush/-F (rrdtool's, for --daemon) answers what info does.
func TestInfoNoFlush(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	if _, ok, err := rrdashRun(t, data, "create", "s", "--start", "1000000000", "DS:v:GAUGE:600:U:U", "RRA:LAST:0.5:1:10"); !ok {
		t.Fatal(err)
	}
	want, _, err := rrdashRun(t, data, "info", "s")
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"info", "--noflush", "s"}, {"info", "-F", "s"}, {"info", "s", "--noflush"}} {
		if got, ok, err := rrdashRun(t, data, args...); !ok || got != want {
			t.Errorf("%q: ok=%v %v, output differs from info's", args, ok, err)
		}
	}
}
