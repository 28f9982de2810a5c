package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rrdash/store/rrdtooltest"
)

// tune --step alone: rrdtool 1.7.2 exits 0 and leaves the file as it was
// (it applies --step only with an rrd_modify form), so rrdash refuses it
// with that explanation rather than accept an option it would ignore.
func TestTuneStepAloneAgainstRRDtool(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	dir := t.TempDir()
	file, data := filepath.Join(dir, "s.rrd"), filepath.Join(dir, "data")
	rrdtoolIn(t, bin, dir, "create", file, "--start", "1000000000", "--step", "10", "DS:g:GAUGE:30:U:U", "RRA:AVERAGE:0.5:1:10")
	rrdtoolIn(t, bin, dir, "update", file, "1000000010:1", "1000000020:2")
	if _, ok, err := rrdashRun(t, data, "import", file, "s"); !ok {
		t.Fatal(err)
	}
	before, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"5", "3", "0"} {
		if _, errText, ok := rrdtoolIn(t, bin, dir, "tune", file, "--step", step); !ok {
			t.Fatalf("rrdtool tune --step %s alone failed: %s", step, errText)
		}
		after, _ := os.ReadFile(file)
		if !bytes.Equal(before, after) {
			t.Fatalf("rrdtool tune --step %s alone changed the file", step)
		}
		_, ok, err := rrdashRun(t, data, "tune", "s", "--step", step)
		if ok || !strings.Contains(err.Error(), "alone rrdtool 1.7.2 ignores it") {
			t.Fatalf("rrdash tune --step %s alone: ok=%v %v", step, ok, err)
		}
	}
}
