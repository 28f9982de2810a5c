package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
