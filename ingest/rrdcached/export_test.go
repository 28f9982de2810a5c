package rrdcached

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rrdash/store/rrdfile"
)

// TestFlushWritesImage: FLUSH of a ".rrd" name writes the series' rrdtool
// image at that path of the data directory, and only there; what is in
// the way is never replaced; a deleted series' image goes with it and is
// never adopted back.
func TestFlushWritesImage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, AllCommands, Config{})
	cl := ts.dial(t)
	d := ts.dir
	foreign := filepath.Join(d, "x.rrd")
	if err := os.WriteFile(foreign, []byte("not rrdtool"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(d, "sub"), 0o755)
	for _, st := range []struct{ req, want string }{
		{createWeb1, "0 RRD created OK\n"},
		{strings.Replace(createWeb1, "web1.rrd", "x.rrd", 1), "0 RRD created OK\n"},
		{strings.Replace(createWeb1, "web1.rrd", "sub/y.rrd", 1), "0 RRD created OK\n"},
		{strings.Replace(createWeb1, "web1.rrd", "series/z.rrd", 1), "0 RRD created OK\n"},
		{strings.Replace(createWeb1, "web1.rrd", "packs/p.rrd", 1), "0 RRD created OK\n"},
		{"UPDATE web1.rrd 1700000060:1:100 1700000120:2:200", "0 errors, enqueued 2 value(s).\n"},
		{"FLUSH web1.rrd", "0 Successfully flushed " + d + "/web1.rrd.\n"},
		{"FLUSH " + d + "/sub/y.rrd", "0 Nothing to flush: " + d + "/sub/y.rrd.\n"},
		{"FLUSH x.rrd", "-1 RRD Error: writing the rrdtool file of x: " + foreign + " is not an rrdtool file: not replaced\n"},
		{"FLUSH series/z.rrd", "-1 RRD Error: no rrdtool file written: " + d + "/series/z.rrd is inside the store's own directory " + d + "/series\n"},
		{"FLUSH packs/p.rrd", "-1 RRD Error: no rrdtool file written: " + d + "/packs/p.rrd is inside the store's own directory " + d + "/packs\n"},
	} {
		if got := cl.do(st.req); got != st.want {
			t.Errorf("%s:\n got %q\nwant %q", st.req, got, st.want)
		}
	}
	f, err := rrdfile.ReadFile(filepath.Join(d, "web1.rrd"))
	if err != nil {
		t.Fatal(err)
	}
	if !f.Marked() || f.LastUpdate != 1700000120 || f.DS[0].LastDS != "2" || f.DS[1].LastDS != "200" || len(f.RRA) != 2 {
		t.Errorf("image: marked %v, last update %d, last_ds %q %q, %d archives", f.Marked(), f.LastUpdate, f.DS[0].LastDS, f.DS[1].LastDS, len(f.RRA))
	}
	if _, err := rrdfile.ReadFile(filepath.Join(d, "sub", "y.rrd")); err != nil {
		t.Errorf("image by absolute path: %v", err)
	}
	if b, _ := os.ReadFile(foreign); string(b) != "not rrdtool" {
		t.Errorf("a foreign file was replaced: %q", b)
	}
	// FLUSHALL rewrites the images written since the server started
	if got := cl.do("UPDATE web1.rrd 1700000180:3:300"); got != "0 errors, enqueued 1 value(s).\n" {
		t.Fatal(got)
	}
	if got := cl.do("FLUSHALL"); got != "0 Started flush.\n" {
		t.Fatalf("FLUSHALL: %q", got)
	}
	if f, err := rrdfile.ReadFile(filepath.Join(d, "web1.rrd")); err != nil || f.LastUpdate != 1700000180 {
		t.Errorf("image after FLUSHALL: %v, %v", f, err)
	}
	// a name without ".rrd" is a series name, not a file: no image
	if got := cl.do("FLUSH sub/y"); !strings.HasPrefix(got, "0 ") {
		t.Errorf("FLUSH sub/y: %q", got)
	}
	if _, err := os.Stat(filepath.Join(d, "sub", "y")); !os.IsNotExist(err) {
		t.Errorf("FLUSH of a name without .rrd wrote a file: %v", err)
	}
	// the image is removed with its series, and a stale one left by an
	// earlier server (copied back here) is not adopted
	img, _ := os.ReadFile(filepath.Join(d, "web1.rrd"))
	if got := cl.do("XDELETE web1"); !strings.HasPrefix(got, "0 ") {
		t.Fatalf("XDELETE: %q", got)
	}
	if _, err := os.Stat(filepath.Join(d, "web1.rrd")); !os.IsNotExist(err) {
		t.Errorf("the image outlived its series: %v", err)
	}
	os.WriteFile(filepath.Join(d, "web1.rrd"), img, 0o644)
	if got, want := ts.dial(t).do("UPDATE web1.rrd 1700000180:3:300"), "-1 No such file: "+d+"/web1.rrd\n"; got != want {
		t.Errorf("UPDATE after delete with a stale image: %q, want %q", got, want)
	}
}
