package store

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// packModel applies index records one by one to plain maps: how Open
// read the index before the compact form (packload.go), kept as the
// reference the loader must agree with.
type packModel struct {
	names  map[string]place
	moving map[string]place
	free   map[place]bool
	ends   map[int32]int64
}

func packModelOf(recs []packRec) *packModel {
	m := &packModel{names: map[string]place{}, moving: map[string]place{}, free: map[place]bool{}, ends: map[int32]int64{}}
	for _, r := range recs {
		m.ends[r.pl.pack] = max(m.ends[r.pl.pack], r.pl.off+r.pl.size)
		switch r.kind {
		case packRecPlace:
			if old, ok := m.names[r.name]; ok && old != r.pl {
				m.free[old] = true
			}
			delete(m.free, r.pl)
			m.names[r.name] = r.pl
			delete(m.moving, r.name)
		case packRecFree:
			if m.names[r.name] == r.pl {
				delete(m.names, r.name)
				delete(m.moving, r.name)
			}
			m.free[r.pl] = true
		case packRecMoving:
			if m.names[r.name] == r.pl {
				m.moving[r.name] = r.pl
			}
		}
	}
	return m
}

// checkAgainstModel compares a loaded packSet with the model of recs.
func checkAgainstModel(t *testing.T, ps *packSet, recs []packRec) {
	t.Helper()
	m := packModelOf(recs)
	got := map[string]place{}
	var order []string
	ps.names.each(func(name []byte, pl place) {
		got[string(name)] = pl
		order = append(order, string(name))
	})
	if !maps.Equal(got, m.names) {
		t.Fatalf("names %v, want %v", got, m.names)
	}
	if !slices.IsSorted(order) || ps.names.len() != len(m.names) {
		t.Fatalf("names out of order or miscounted (%d): %q", ps.names.len(), order)
	}
	for name, pl := range m.names {
		if g, ok := ps.names.get(name); !ok || g != pl {
			t.Fatalf("get(%q) = %v %v, want %v", name, g, ok, pl)
		}
	}
	if !maps.Equal(ps.moving, m.moving) {
		t.Fatalf("moving %v, want %v", ps.moving, m.moving)
	}
	free := map[place]bool{}
	for size, l := range ps.free {
		for _, pl := range l {
			if pl.size != size || free[pl] {
				t.Fatalf("free list of size %d holds %v (twice: %v)", size, pl, free[pl])
			}
			free[pl] = true
		}
	}
	if !maps.Equal(free, m.free) {
		t.Fatalf("free %v, want %v", free, m.free)
	}
	for p, end := range m.ends {
		if ps.packs[p].end != end {
			t.Fatalf("pack %d ends at %d, want %d", p, ps.packs[p].end, end)
		}
	}
}

// packPlaceOf is where series name lies in db's packs.
func packPlaceOf(db *DB, name string) place {
	db.mu.Lock()
	defer db.mu.Unlock()
	pl, _ := db.packs.names.get(name)
	return pl
}

// TestPackIndexLoadMatchesModel: Open's sorted, per-name reading of an
// index gives what applying its records in turn gives — places taken,
// released, superseded (a release a crash lost), moved, reused by
// another name — for indexes written in creation order as the writer
// appends them.
func TestPackIndexLoadMatchesModel(t *testing.T) {
	t.Parallel()
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 7))
		nNames := 1 + rng.IntN(60)
		var places []place
		for i := range 1 + rng.IntN(30) {
			places = append(places, place{pack: int32(i % 3), off: int64(i) * 2 * pageSize, size: pageSize * int64(1+rng.IntN(2))})
		}
		var recs []packRec
		for range rng.IntN(200) {
			r := packRec{kind: byte(1 + rng.IntN(3)), name: fmt.Sprintf("s%d.x", rng.IntN(nNames)), pl: places[rng.IntN(len(places))]}
			if rng.IntN(8) == 0 {
				r.name = "-" // compact's free records
				r.kind = packRecFree
			}
			recs = append(recs, r)
		}
		b := packIndexMagic[:]
		for _, r := range recs {
			b = appendPackRec(b, r)
		}
		ps := &packSet{moving: map[string]place{}, free: map[int64][]place{}}
		end, err := ps.loadIndex(b)
		if err != nil || end != int64(len(b)) {
			t.Fatalf("seed %d: end %d of %d, %v", seed, end, len(b), err)
		}
		t.Run(fmt.Sprint(seed), func(t *testing.T) { checkAgainstModel(t, ps, recs) })
	}
}

// TestPackNamesOps: the compact map agrees with a Go map through
// creations, releases and re-creations, across merges into new bases.
func TestPackNamesOps(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	var pn packNames
	want := map[string]place{}
	for i := range 60000 {
		name := fmt.Sprintf("host%d.disk%d.io", rng.IntN(300), rng.IntN(100))
		switch rng.IntN(3) {
		case 0, 1:
			pl := place{pack: int32(rng.IntN(4)), off: int64(rng.IntN(1<<20)) * pageSize, size: int64(1+rng.IntN(200)) * pageSize}
			pn.set(name, pl)
			want[name] = pl
		case 2:
			pn.del(name)
			delete(want, name)
		}
		if got, ok := pn.get(name); ok != (want[name] != place{}) || got != want[name] {
			t.Fatalf("op %d: get(%s) = %v %v, want %v", i, name, got, ok, want[name])
		}
	}
	// names longer than get's buffer on the stack
	for i := range 40 {
		name := strings.Repeat("long.", 50+i%7) + fmt.Sprint(i)
		pl := place{pack: 1, off: int64(i) * pageSize, size: pageSize}
		pn.set(name, pl)
		want[name] = pl
	}
	pn.merge()
	if pn.base.n == 0 {
		t.Fatal("never merged into a base")
	}
	if pn.len() != len(want) {
		t.Fatalf("%d names, want %d", pn.len(), len(want))
	}
	var bytes int64
	for name, pl := range want {
		bytes += int64(len(name))
		if got, ok := pn.get(name); !ok || got != pl {
			t.Fatalf("get(%s) = %v %v, want %v", name, got, ok, pl)
		}
	}
	if pn.bytes != bytes {
		t.Fatalf("name bytes %d, want %d", pn.bytes, bytes)
	}
	for _, absent := range []string{"", "a", "host0", "host299.disk99.iz", "zzz"} {
		if _, ok := pn.get(absent); ok {
			t.Fatalf("get(%q) found", absent)
		}
	}
	if got := pn.sortedNames(); !slices.Equal(got, slices.Sorted(maps.Keys(want))) {
		t.Fatalf("sortedNames: %d names, want %d", len(got), len(want))
	}
	pn.merge()
	if got := pn.sortedNames(); !slices.Equal(got, slices.Sorted(maps.Keys(want))) || len(pn.over) != 0 {
		t.Fatalf("sortedNames after a merge: %d names, want %d", len(got), len(want))
	}
}

// TestPackIndexWrittenBeforeOpens: an index written by the code before
// the compact form (testdata/packindex-v1: 30 creations, deletions, a
// rename and an overwrite moving series out, creations reusing the freed
// places; want.txt is what that code read back) opens unchanged — the
// format on disk did not change, only how Open keeps it.
func TestPackIndexWrittenBeforeOpens(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("testdata", "packindex-v1", "index"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "packindex-v1", "want.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, readOnly := range []bool{true, false} {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, packDirName), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, packDirName, packIndexName), b, 0o644); err != nil {
			t.Fatal(err)
		}
		ps, err := openPacks(dir, readOnly, nil)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		ps.names.each(func(name []byte, pl place) {
			lines = append(lines, fmt.Sprintf("place %s %d %d %d", name, pl.pack, pl.off, pl.size))
		})
		for _, l := range ps.free {
			for _, pl := range l {
				lines = append(lines, fmt.Sprintf("free - %d %d %d", pl.pack, pl.off, pl.size))
			}
		}
		for _, pk := range ps.packs {
			lines = append(lines, fmt.Sprintf("end %s %d", filepath.Base(pk.path), pk.end))
		}
		slices.Sort(lines)
		if got := strings.Join(lines, "\n") + "\n"; got != string(want) {
			t.Errorf("read only %v: read\n%s\nwant\n%s", readOnly, got, want)
		}
		if ps.idxEnd != int64(len(b)) {
			t.Errorf("read only %v: index end %d, want %d", readOnly, ps.idxEnd, len(b))
		}
		ps.close()
	}
	recs, _, err := decodePackIndex(b)
	if err != nil {
		t.Fatal(err)
	}
	ps := &packSet{moving: map[string]place{}, free: map[int64][]place{}}
	if _, err := ps.loadIndex(b); err != nil {
		t.Fatal(err)
	}
	checkAgainstModel(t, ps, recs)
}

// FuzzPackIndexLoad: any sequence of valid records (each three input
// bytes: kind, name, place, from small sets so that names and places
// collide) loads as applying the records in turn does.
func FuzzPackIndexLoad(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 1, 1, 1, 0, 0, 2, 1, 1})
	f.Add([]byte{0, 0, 0, 0, 1, 0, 1, 1, 1, 2, 0, 0, 0, 2, 1})
	f.Add([]byte{2, 3, 3, 0, 3, 3, 1, 3, 3, 0, 4, 3})
	f.Fuzz(func(t *testing.T, prog []byte) {
		names := []string{"a", "a.b", "b", "-", "c;k=v", "a.c", "ab", "b.a"}
		var recs []packRec
		for i := 0; i+2 < len(prog) && len(recs) < 500; i += 3 {
			k := prog[i+2] % 8
			recs = append(recs, packRec{kind: 1 + prog[i]%3, name: names[prog[i+1]%8],
				pl: place{pack: int32(k % 3), off: int64(k/2) * pageSize, size: pageSize * int64(1+k%2)}})
		}
		b := packIndexMagic[:]
		for _, r := range recs {
			b = appendPackRec(b, r)
		}
		ps := &packSet{moving: map[string]place{}, free: map[int64][]place{}}
		if end, err := ps.loadIndex(b); err != nil || end != int64(len(b)) {
			t.Fatalf("end %d of %d: %v", end, len(b), err)
		}
		checkAgainstModel(t, ps, recs)
	})
}
