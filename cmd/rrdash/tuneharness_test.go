package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rrdtoolBase makes dir/base.rrd with rrdtool create and one update call
// and returns its path.
func rrdtoolBase(t *testing.T, bin, dir string, create, updates []string) string {
	t.Helper()
	base := filepath.Join(dir, "base.rrd")
	rrdtoolIn(t, bin, dir, append([]string{"create", base}, create...)...)
	rrdtoolIn(t, bin, dir, append([]string{"update", base}, updates...)...)
	return base
}

// tuneOpts is what tuneAgainstRRDtool checks beyond the same exit status
// and series.
type tuneOpts struct {
	sameError bool // a refused tune's error text is rrdtool's
	imported  bool // the series is compared once imported, before the tune
}

// tuneAgainstRRDtool copies the file contents b to dir/t.rrd and imports
// them as series s of dir/data; then tune args on both must succeed or
// fail alike and leave the same series (dump, info, fetches), and so must
// the update call more afterwards.
func tuneAgainstRRDtool(t *testing.T, bin, dir string, b []byte, args, more []string, o tuneOpts) {
	t.Helper()
	file := filepath.Join(dir, "t.rrd")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if _, ok, err := rrdashRun(t, data, "import", "--force", file, "s"); !ok {
		t.Fatal(err)
	}
	what := strings.Join(args, " ")
	if o.imported {
		compareSeries(t, bin, dir, file, data, "s", "imported")
	}
	_, wantErr, wantOK := rrdtoolIn(t, bin, dir, append([]string{"tune", file}, args...)...)
	out, ok, err := rrdashRun(t, data, append([]string{"tune", "s"}, args...)...)
	if ok != wantOK || out != "" || o.sameError && !ok && err.Error() != wantErr {
		t.Fatalf("tune %s: ok=%v %q (%v); rrdtool ok=%v %q", what, ok, out, err, wantOK, wantErr)
	}
	compareSeries(t, bin, dir, file, data, "s", "after tune "+what)
	_, _, wantOK = rrdtoolIn(t, bin, dir, append([]string{"update", file}, more...)...)
	if _, ok, err := rrdashRun(t, data, append([]string{"update", "s"}, more...)...); ok != wantOK {
		t.Fatalf("tune %s, then update: ok=%v (%v), rrdtool ok=%v", what, ok, err, wantOK)
	}
	compareSeries(t, bin, dir, file, data, "s", "after tune "+what+" and updates")
}
