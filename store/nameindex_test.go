package store

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"rrdash/store/nametree"
)

func findPaths(t *testing.T, db *DB, expr string) []string {
	t.Helper()
	ms, err := db.FindNodes(expr, nametree.FindOptions{SkipTagged: true, Parents: true})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%s b=%v s=%v nds=%d p=%v", m.Path, m.Branch, m.Series, m.NDS, m.Parent))
	}
	return out
}

// TestNameIndexFollowsChanges: the tree of names a writer keeps shows
// creations, deletions, renames and a tune that changes the data sources
// at once, with their data source counts; a reader's tree follows a
// writer's changes once its listing does.
func TestNameIndexFollowsChanges(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	two := testSpec(t)
	one, err := ParseSpecArgs(10, 1000000000, []string{"DS:v:GAUGE:30:U:U", "RRA:AVERAGE:0.5:1:20"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Ensure("servers.web1.cpu", one); err != nil {
		t.Fatal(err)
	}
	// built now, from the listing: the data sources of a series not
	// opened since are not known (0)
	if got, want := findPaths(t, db, "servers.*"), []string{"servers.web1 b=true s=false nds=0 p=false"}; !slices.Equal(got, want) {
		t.Fatalf("servers.* = %q, want %q", got, want)
	}
	for _, n := range []string{"servers.web2.cpu", "servers.web2.load", "app.cpu;dc=x"} {
		if _, err := db.Ensure(n, one); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Ensure("servers.web2", two); err != nil {
		t.Fatal(err)
	}
	want := []string{"servers.web1.cpu b=false s=true nds=1 p=false", "servers.web2 b=false s=true nds=2 p=true", "servers.web2.cpu b=false s=true nds=1 p=false", "servers.web2.load b=false s=true nds=1 p=false"}
	if _, err := db.Spec("servers.web1.cpu"); err != nil { // opened: its data sources are known
		t.Fatal(err)
	}
	if got := findPaths(t, db, "servers.*.*"); !slices.Equal(got, want) {
		t.Fatalf("after creations servers.*.* = %q, want %q", got, want)
	}
	if got := findPaths(t, db, "*"); !slices.Equal(got, []string{"servers b=true s=false nds=0 p=false"}) {
		t.Fatalf("tagged names show: %q", got)
	}
	if err := db.Delete("servers.web2.load"); err != nil {
		t.Fatal(err)
	}
	if err := db.Rename("servers.web1.cpu", "servers.web3.cpu"); err != nil {
		t.Fatal(err)
	}
	if err := db.Tune("servers.web2", []string{"DEL:c"}); err != nil {
		t.Fatal(err)
	}
	want = []string{"servers.web2 b=true s=true nds=1 p=false", "servers.web3 b=true s=false nds=0 p=false"}
	if got := findPaths(t, db, "servers.*"); !slices.Equal(got, want) {
		t.Fatalf("after delete, rename, tune: servers.* = %q, want %q", got, want)
	}
	if got, err := db.Glob("servers.web{2,3}.*"); err != nil || !slices.Equal(got, []string{"servers.web2.cpu", "servers.web3.cpu"}) {
		t.Fatalf("Glob = %q, %v", got, err)
	}
	if got, err := db.Glob("app.*"); err != nil || !slices.Equal(got, []string{"app.cpu;dc=x"}) {
		t.Fatalf("Glob of a tagged name = %q, %v", got, err)
	}
	if _, err := db.Glob("a.[z-a]"); err == nil {
		t.Fatal("a bad glob is taken")
	}
	all, err := db.AllNodes()
	if err != nil || len(all) != 4 || all[0].Path != "app.cpu;dc=x" {
		t.Fatalf("AllNodes = %+v, %v", all, err)
	}
}

// TestNameIndexConcurrentBuild: creations racing the first build all end
// up in the tree.
func TestNameIndexConcurrentBuild(t *testing.T) {
	t.Parallel()
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	spec := testSpec(t)
	var wg sync.WaitGroup
	const n = 40
	wg.Go(func() {
		for i := 0; i < n; i++ {
			if _, err := db.Ensure(fmt.Sprintf("c.s%02d", i), spec); err != nil {
				t.Error(err)
			}
		}
	})
	for i := 0; i < 5; i++ {
		if _, err := db.Glob("c.*"); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if got, err := db.Glob("c.*"); err != nil || len(got) != n {
		t.Fatalf("Glob after racing creations: %d names, %v", len(got), err)
	}
}
