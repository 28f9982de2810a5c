package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"rrdash/store"
	"rrdash/store/rrdtooltest"
)

// import and restore read rrdtool's binary files: after `import FILE.rrd`
// every fetch, lastupdate, first and dump prints what rrdtool prints on
// the file, and so they do after both take the same further updates.
func TestImportRRDFileAgainstRRDtool(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	for _, l := range diffLayouts {
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			data := filepath.Join(dir, "data")
			file := filepath.Join(dir, "s.rrd")
			rrdtoolRun(t, bin, append([]string{"create", file}, l.create...)...)
			half := len(l.updates) / 2
			for _, u := range l.updates[:half] {
				rrdtoolRun(t, bin, append([]string{"update", file}, u...)...)
			}
			if _, ok, err := rrdashRun(t, data, "import", file, "s"); !ok {
				t.Fatal(err)
			}
			if _, ok, err := rrdashRun(t, data, "restore", file, "r"); !ok {
				t.Fatal(err)
			}
			if _, ok, err := rrdashRun(t, data, "restore", file, "r"); ok || !strings.Contains(err.Error(), "already exists") {
				t.Fatalf("restore over a series without -f: %v", err)
			}
			compare := func(names ...string) {
				t.Helper()
				cases := [][]string{{"lastupdate", "@"}, {"first", "@"}, {"first", "@", "--rraindex", "1"}, {"dump", "@"}, {"dump", "--no-header", "@"}}
				for _, cf := range []string{"AVERAGE", "MIN", "MAX", "LAST"} {
					for _, r := range []string{"1", "10", "30", "300"} {
						cases = append(cases, []string{"fetch", "@", cf, "-s", "999999000", "-e", "1000001000", "-r", r})
					}
				}
				for _, name := range names {
					for _, c := range cases {
						want, wantOK := rrdtoolRun(t, bin, slicesReplace(c, "@", file)...)
						got, ok, err := rrdashRun(t, data, slicesReplace(c, "@", name)...)
						if got != want || ok != wantOK {
							t.Fatalf("%s: %q: ok=%v (%v), rrdtool ok=%v\n%s", name, c, ok, err, wantOK, firstDiff(want, got))
						}
					}
				}
			}
			compare("s", "r")
			for _, u := range l.updates[half:] {
				_, wantOK := rrdtoolRun(t, bin, append([]string{"update", file}, u...)...)
				if _, ok, err := rrdashRun(t, data, append([]string{"update", "s"}, u...)...); ok != wantOK {
					t.Fatalf("update %q after import: ok=%v (%v), rrdtool ok=%v", u, ok, err, wantOK)
				}
			}
			compare("s")
		})
	}
}

// import --tree imports a directory of rrdtool files by relative path,
// goes on past a bad file and fails at the end naming it, and resumes: a
// second run skips what is there unless --force.
func TestImportTree(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	data := filepath.Join(dir, "data")
	files := map[string]int{"host1/cpu-0/cpu-idle.rrd": 0, "host1/load/load.rrd": 1, "host2/if.rrd": 2, "top.rrd": 3}
	for rel, li := range files {
		p := filepath.Join(tree, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		l := diffLayouts[li]
		rrdtoolRun(t, bin, append([]string{"create", p}, l.create...)...)
		for _, u := range l.updates {
			rrdtoolRun(t, bin, append([]string{"update", p}, u...)...)
		}
	}
	if err := os.WriteFile(filepath.Join(tree, "host2", "notes.txt"), []byte("not an rrd"), 0o644); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(tree, "top.rrd"))
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(tree, "host2", "broken.rrd")
	if err := os.WriteFile(bad, good[:len(good)-16], 0o644); err != nil {
		t.Fatal(err)
	}
	runTree := func(args ...string) (string, string, error) {
		var out, errb bytes.Buffer
		err := run(context.Background(), append([]string{"--data", data, "import", "--tree", tree, "--prefix", "old."}, args...), strings.NewReader(""), &out, &errb)
		return out.String(), errb.String(), err
	}
	out, stderr, err := runTree()
	if err == nil || !strings.Contains(err.Error(), "1 of 5 files failed") || out != "imported 4, skipped 0 (already there), failed 1 of 5 files\n" ||
		!strings.Contains(stderr, bad+": import old.host2/broken: RRD file is too small") {
		t.Fatalf("first run: %v\nstdout %q\nstderr %q", err, out, stderr)
	}
	for rel := range files {
		name := "old." + strings.TrimSuffix(rel, ".rrd")
		c := []string{"fetch", "@", "AVERAGE", "-s", "999999000", "-e", "1000001000"}
		want, _ := rrdtoolRun(t, bin, slicesReplace(c, "@", filepath.Join(tree, rel))...)
		if got, _, err := rrdashRun(t, data, slicesReplace(c, "@", name)...); got != want {
			t.Errorf("%s: %v\n%s", name, err, firstDiff(want, got))
		}
	}
	if err := os.WriteFile(bad, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, stderr, err = runTree(); err != nil || out != "imported 1, skipped 4 (already there), failed 0 of 5 files\n" {
		t.Fatalf("second run: %v %q %q", err, out, stderr)
	}
	if out, _, err = runTree("--force"); err != nil || out != "imported 5, skipped 0 (already there), failed 0 of 5 files\n" {
		t.Fatalf("--force: %v %q", err, out)
	}
	names, _, _ := rrdashRun(t, data, "list")
	if names != "old.host1/cpu-0/cpu-idle\nold.host1/load/load\nold.host2/broken\nold.host2/if\nold.top\n" {
		t.Errorf("list: %q", names)
	}
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"import", "--tree", filepath.Join(dir, "none")}, "no such file or directory"},
		{[]string{"import", "--tree", filepath.Join(tree, "host1", "load", "load.rrd"), "x"}, "takes no other file"},
		{[]string{"import", "--prefix", "p", filepath.Join(tree, "top.rrd")}, "--prefix goes with --tree"},
		{[]string{"import", filepath.Join(tree, "host2", "notes.txt"), "n"}, "XML"},
	} {
		if _, ok, err := rrdashRun(t, data, c.args...); ok || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%q: %v, want %q", c.args, err, c.err)
		}
	}
}

// A tree of 200 rrdtool-made files of mixed layouts (the differential
// layouts, collectd's and Munin's shapes) imports as 200 series whose
// dumps are rrdtool's dumps of the files, byte for byte.
func TestImportTree200(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	data := filepath.Join(dir, "data")
	layouts := append([]struct {
		name    string
		create  []string
		updates [][]string
	}{
		{"collectd", []string{"--start", "1000000000", "--step", "10", "DS:value:GAUGE:20:U:U", "RRA:AVERAGE:0.1:1:120", "RRA:MIN:0.1:6:50", "RRA:MAX:0.1:6:50"},
			[][]string{{"1000000010:1.5", "1000000020:2", "1000000031:U", "1000000045:7.25"}}},
		{"munin", []string{"--start", "999999900", "--step", "300", "DS:42:DERIVE:600:0:U", "RRA:AVERAGE:0.5:1:576", "RRA:MIN:0.5:1:576", "RRA:MAX:0.5:1:576",
			"RRA:AVERAGE:0.5:6:432", "RRA:MIN:0.5:6:432", "RRA:MAX:0.5:6:432"}, [][]string{{"1000000200:100", "1000000500:400", "1000000800:1000"}}},
	}, diffLayouts...)
	var script strings.Builder
	var rels []string
	for i := 0; i < 200; i++ {
		l := layouts[i%len(layouts)]
		rel := fmt.Sprintf("host%d/%s-%d.rrd", i%7, l.name, i)
		if err := os.MkdirAll(filepath.Join(tree, filepath.Dir(rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		rels = append(rels, rel)
		p := filepath.Join(tree, rel)
		fmt.Fprintf(&script, "create %s %s\n", p, strings.Join(l.create, " "))
		for _, u := range l.updates {
			fmt.Fprintf(&script, "update %s %s\n", p, strings.Join(u, " "))
		}
	}
	for _, rel := range rels {
		fmt.Fprintf(&script, "dump %s\n", filepath.Join(tree, rel))
	}
	cmd := exec.Command(bin, "-")
	cmd.Stdin = strings.NewReader(script.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	// the dumps are the last 200 answers, each ended by "OK u:… s:… r:…"
	answers := regexp.MustCompile(`(?m)^(OK u:[0-9.]+ s:[0-9.]+ r:[0-9.]+|ERROR: .*)\n`).Split(string(out), -1)
	dumps := answers[len(answers)-201 : len(answers)-1]
	var so, se bytes.Buffer
	if err := run(context.Background(), []string{"--data", data, "import", "--tree", tree}, strings.NewReader(""), &so, &se); err != nil {
		t.Fatalf("%v\n%s", err, se.String())
	}
	if so.String() != "imported 200, skipped 0 (already there), failed 0 of 200 files\n" {
		t.Fatalf("%q", so.String())
	}
	// one reader for the 200 dumps (a command per file would open the
	// directory 200 times)
	db, err := store.Open(data, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i, rel := range rels {
		var b bytes.Buffer
		if err := runDump(db, []string{strings.TrimSuffix(rel, ".rrd")}, &b); err != nil {
			t.Fatal(err)
		}
		if got := b.String(); got != dumps[i] {
			t.Fatalf("%s:\n%s", rel, firstDiff(dumps[i], got))
		}
	}
}
