package store

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestListFollowsChanges: List right after creations, deletions and
// renames (through the journal, in place, and of a long hashed name) shows
// them, with the default racy window (the scan is not kept).
func TestListFollowsChanges(t *testing.T) {
	t.Parallel()
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	spec := testSpec(t)
	long := "long." + string(slices.Repeat([]byte("x"), 300))
	want := []string{}
	check := func(when string) {
		t.Helper()
		got, err := db.List("")
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("%s: List %q, want %q", when, got, want)
		}
	}
	check("empty")
	for _, name := range []string{"b.x", "a b%c", long, "a.y"} {
		if _, err := db.Ensure(name, spec); err != nil {
			t.Fatal(err)
		}
		want = append(want, name)
		check("created " + name)
	}
	if err := db.Delete("b.x"); err != nil {
		t.Fatal(err)
	}
	want = slices.DeleteFunc(want, func(s string) bool { return s == "b.x" })
	check("deleted")
	if err := db.Rename("a.y", "c.z"); err != nil {
		t.Fatal(err)
	}
	want = append(slices.DeleteFunc(want, func(s string) bool { return s == "a.y" }), "c.z")
	check("renamed")
	if got, err := db.List("c.*"); err != nil || !slices.Equal(got, []string{"c.z"}) {
		t.Fatalf("List(c.*) = %q, %v", got, err)
	}
}

// TestListKeepsScan: a scan is kept while the directory's times are
// unchanged, and a change of them (any process's creation) makes List scan
// again.
func TestListKeepsScan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.names.window = -time.Hour // keep every scan
	spec := testSpec(t)
	for i := range 3 {
		// files of their own: the scan of the series directory is the test
		if err := db.Create(fmt.Sprint("s", i), spec, true); err != nil {
			t.Fatal(err)
		}
	}
	first, err := db.List("")
	if err != nil || len(first) != 3 {
		t.Fatalf("List: %q %v", first, err)
	}
	if db.names.names == nil {
		t.Fatal("the scan was not kept")
	}
	// a file the directory gained behind the DB's back, with times that
	// differ from the kept scan's
	series := filepath.Join(dir, "series")
	b := readArchiveBytes(t, dir, "s0")
	if err := os.WriteFile(filepath.Join(series, "t.rrd"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(series, old, old); err != nil {
		t.Fatal(err)
	}
	got, err := db.List("")
	if err != nil || !slices.Equal(got, []string{"s0", "s1", "s2", "t"}) {
		t.Fatalf("List after a change: %q %v", got, err)
	}
	got[0] = "changed by the caller"
	if again, _ := db.List(""); again[0] != "s0" {
		t.Fatalf("a caller's change reached the kept scan: %q", again)
	}
}
