package rrdcached

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"rrdash/store/rrdtooltest"
)

// A client that makes its .rrd file itself under the data directory (as
// collectd's rrdcached plugin does through librrd) and then sends UPDATEs:
// the first UPDATE adopts the file, state and rows, and from then on the
// series answers as the file would had rrdtool updated it.
func TestAdoptRRDFileOnUpdate(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	dir, unixAddr, _, db := startUnixServer(t, AllCommands)
	ref := filepath.Join(t.TempDir(), "ref.rrd")
	local := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("rrdtool %q: %v\n%s", args, err, out)
		}
	}
	local("create", ref, "--start", "1700000000", "--step", "10", "DS:load:GAUGE:20:0:U", "DS:cpu:DERIVE:20:0:U",
		"RRA:AVERAGE:0.1:1:50", "RRA:MIN:0.1:3:20", "RRA:MAX:0.1:3:20")
	local("update", ref, "1700000010:1.5:100", "1700000020:2.5:250")
	if err := os.MkdirAll(filepath.Join(dir, "host", "cpu-0"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "host", "cpu-0", "x.rrd"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	var ups []string
	for i := 3; i < 40; i++ {
		ups = append(ups, strings.Join([]string{strconv.Itoa(1700000000 + 10*i + i%3), strconv.Itoa(i % 7), strconv.Itoa(250 + 37*i)}, ":"))
	}
	local(append([]string{"update", ref}, ups...)...)
	// relative and absolute names, both resolving to the file
	mustRRDtool(t, dir, append([]string{"update", "--daemon", unixAddr, "host/cpu-0/x.rrd"}, ups[:10]...)...)
	mustRRDtool(t, dir, append([]string{"update", "--daemon", unixAddr, filepath.Join(dir, "host/cpu-0/x.rrd")}, ups[10:]...)...)
	if _, err := db.Spec("host/cpu-0/x"); err != nil {
		t.Fatal(err)
	}
	for _, cf := range []string{"AVERAGE", "MIN", "MAX"} {
		want := mustRRDtool(t, dir, "fetch", ref, cf, "-s", "1700000000", "-e", "1700000400")
		got := mustRRDtool(t, dir, "fetch", "--daemon", unixAddr, "host/cpu-0/x.rrd", cf, "-s", "1700000000", "-e", "1700000400")
		if got != want {
			t.Errorf("fetch %s of the adopted file:\n got %q\nwant %q", cf, got, want)
		}
	}
	// not an rrdtool file: no such series, as before; a damaged one: said
	if err := os.WriteFile(filepath.Join(dir, "notes.rrd"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := rrdtool(t, dir, "update", "--daemon", unixAddr, "notes.rrd", "1700000500:1:1"); err == nil || !strings.Contains(out, "No such file") {
		t.Errorf("update of a non-RRD file: %v %q", err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "cut.rrd"), b[:len(b)-8], 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := rrdtool(t, dir, "update", "--daemon", unixAddr, "cut.rrd", "1700000500:1:1"); err == nil || !strings.Contains(out, "adopting "+filepath.Join(dir, "cut.rrd")+": import cut: RRD file is too small") {
		t.Errorf("update of a damaged RRD file: %v %q", err, out)
	}
}
