package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"rrdash/store/rrdtooltest"
)

// pipeDirStream is a remote-control session: directories made, entered
// and listed, series made and read in them by relative and "/" paths,
// rrdtool's errors for each directory command, and quit (the line after
// it is never run).
//
// Paths stay inside DIR: Debian's rrdtool 1.7.2 does not chroot (not even
// as root), so its ".." at DIR and "/x" leave DIR, where rrdash's stay in
// it as a chrooted rrdtool's do (TestPipeDirConfined).
func pipeDirStream() string {
	lines := []string{
		"ls",
		"pwd",
		"create a.rrd --start 1700000000 --step 60 DS:v:GAUGE:120:U:U RRA:AVERAGE:0.5:1:10",
		"mkdir sub",
		"mkdir sub",
		"mkdir a.rrd",
		"mkdir nosuch/x",
		"mkdir",
		"ls",
		"cd sub",
		"pwd",
		"ls",
		"create b.rrd --start 1700000000 --step 60 DS:v:GAUGE:120:U:U RRA:AVERAGE:0.5:1:10",
		"update b.rrd 1700000060:1 1700000120:2",
		"mkdir deeper",
		"cd deeper",
		"pwd",
		"ls",
		"cd ../..",
		"pwd",
		"ls",
		"cd nosuch",
		"cd a.rrd",
		"cd",
		"pwd extra",
		"ls extra",
		"fetch sub/b.rrd AVERAGE -s 1700000000 -e 1700000120",
		"update sub/b.rrd 1700000180:3",
		"last sub/b.rrd",
		"lastupdate sub/./b.rrd",
		"cd sub/deeper",
		"fetch ../b.rrd AVERAGE -s 1700000000 -e 1700000180",
		"cd ../..",
		"update pre.rrd 1700000060:7",
		"lastupdate pre.rrd",
		"quit extra",
		"quit",
		"update a.rrd 1700000060:5",
	}
	return strings.Join(lines, "\n") + "\n"
}

// pipeOKLine is the OK answer, whose times differ from run to run.
var pipeOKLine = regexp.MustCompile(`(?m)^OK u:\d+\.\d\d s:\d+\.\d\d r:\d+\.\d\d$`)

// normalisePipe drops the times of OK lines, sorts each ls answer
// (rrdtool prints the file system's order) and, for an rrdtool that could
// not chroot, makes its absolute pwd relative to DIR.
func normalisePipe(out, dir string) string {
	out = pipeOKLine.ReplaceAllString(out, "OK")
	if dir != "" {
		out = strings.ReplaceAll(out, "\n"+dir+"\n", "\n/\n")
		out = strings.ReplaceAll(out, "\n"+dir+"/", "\n/")
	}
	var res, block []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "d ") || strings.HasPrefix(l, "- ") {
			block = append(block, l)
			continue
		}
		slices.Sort(block)
		res, block = append(append(res, block...), l), nil
	}
	return strings.Join(append(res, block...), "\n")
}

// `rrdash - DIR` (and `rrdash -` at the top) answers the same command
// stream as `rrdtool - DIR`: cd, pwd, mkdir, ls, quit, their errors, and
// the commands on files named relative to the current directory.
func TestPipeDirAgainstRRDtool(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	dir := t.TempDir()
	top := filepath.Join(dir, "rrd")
	if err := os.Mkdir(top, 0o755); err != nil {
		t.Fatal(err)
	}
	pre := []string{"--start", "1700000000", "--step", "60", "DS:v:GAUGE:120:U:U", "RRA:LAST:0.5:1:5"}
	rrdtoolIn(t, bin, dir, append([]string{"create", filepath.Join(top, "pre.rrd")}, pre...)...)
	stream := pipeDirStream()

	cmd := exec.Command(bin, "-", top)
	cmd.Stdin = strings.NewReader(stream)
	var wantOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &wantOut, io.Discard
	if err := cmd.Run(); err != nil {
		t.Fatalf("rrdtool - %s: %v", top, err)
	}
	want := normalisePipe(wantOut.String(), top)
	if !strings.Contains(want, "d sub") || !strings.Contains(want, "ERROR: chdir a.rrd Not a directory") {
		t.Fatalf("rrdtool's session is not what the test expects:\n%s", want)
	}

	for _, c := range []struct {
		name   string
		series string   // the series made before the session
		args   []string // after --data D
		serve  bool     // a serve holds the data directory
	}{
		{"in a directory", "web/pre", []string{"-", "web"}, false},
		{"at the top", "pre", []string{"-"}, false},
		{"through a serve", "web/pre", []string{"-", "web"}, true},
	} {
		data := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_"))
		if c.serve {
			startServeRRD(t, data, false)
		}
		if _, ok, err := rrdashRun(t, data, append([]string{"create", c.series}, pre...)...); !ok {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := run(context.Background(), append([]string{"--data", data}, c.args...), strings.NewReader(stream), &out, io.Discard); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := normalisePipe(out.String(), ""); got != want {
			t.Fatalf("%s: rrdash %q differs from rrdtool - DIR:\n%s", c.name, c.args, firstDiff(want, got))
		}
	}
}

// The session's directory must exist, as rrdtool's chdir needs; ".."
// never leaves it, and "/" is its top.
func TestPipeDirConfined(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	for _, s := range []string{"web/a", "web/x/b", "other/c"} {
		if _, ok, err := rrdashRun(t, data, "create", s, "DS:v:GAUGE:120:U:U", "RRA:AVERAGE:0.5:1:10"); !ok {
			t.Fatal(err)
		}
	}
	if _, ok, err := rrdashRun(t, data, "-", "nosuch"); ok || !strings.Contains(err.Error(), "No such file or directory") {
		t.Fatalf("- nosuch: ok=%v %v", ok, err)
	}
	if _, ok, err := rrdashRun(t, data, "-", "web", "more"); ok || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("- web more: ok=%v %v", ok, err)
	}
	var out bytes.Buffer
	in := "cd ../..\npwd\nls\ncd /x\npwd\nlast b.rrd\nlast /a.rrd\nlast ../../other/c.rrd\nlist --recursive /\n"
	if err := run(context.Background(), []string{"--data", data, "-", "web"}, strings.NewReader(in), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	got := pipeOKLine.ReplaceAllString(out.String(), "OK")
	want := "OK\n/\nOK\nd .\nd ..\nd x\n- a.rrd\nOK\nOK\n/x\nOK\n"
	if !strings.HasPrefix(got, want) {
		t.Fatalf("session:\n%s\nwant it to start with:\n%s", got, want)
	}
	// a.rrd's and b.rrd's last update, then other/c is out of reach
	if !strings.Contains(got, "ERROR:") || strings.Count(got, "\nOK\n") < 6 {
		t.Fatalf("session:\n%s", got)
	}
	if !strings.HasSuffix(got, "a\nx/b\nOK\n") {
		t.Fatalf("list --recursive / in web:\n%s", got)
	}
}

// mapArgs and mapDEF never panic, keep the argument count, and map a
// DEF's file only (what follows its first unescaped ':' stays).
func FuzzPipeDirMapArgs(f *testing.F) {
	for _, s := range []string{"update a.rrd N:1", "fetch ../b.rrd AVERAGE -s -5", "xport DEF:a=x\\:y.rrd:v:AVERAGE XPORT:a",
		"create n -r a.rrd --template=/t.rrd DS:x:GAUGE:1:U:U", "tune -h x:5 s.rrd", "list --recursive ..", "graph o.png DEF:=:", "restore x.xml y.rrd"} {
		f.Add("sub/dir", s)
	}
	f.Fuzz(func(t *testing.T, cwd, line string) {
		args := strings.Fields(line)
		if len(args) == 0 {
			return
		}
		d := &pipeDir{root: "web", cwd: strings.Trim(cwd, "/"), made: map[string]bool{}}
		out := d.mapArgs(slices.Clone(args))
		if len(out) != len(args) || out[0] != args[0] {
			t.Fatalf("%q → %q", args, out)
		}
		for i, a := range args {
			if strings.HasPrefix(a, "DEF:") && (args[0] == "xport" || args[0] == "graph" || args[0] == "graphv") {
				if eq := strings.IndexByte(a, '='); eq >= 0 && !strings.HasPrefix(out[i], a[:eq+1]) {
					t.Fatalf("DEF %q → %q: its name changed", a, out[i])
				}
			}
		}
	})
}
