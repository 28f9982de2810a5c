package store

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"rrdash/store/rrdfile"
)

// rrdFromFile builds an in-memory series from a decoded rrdtool file, the
// way ImportRRD builds an archive.
func rrdFromFile(t *testing.T, f *rrdfile.File) *RRD {
	t.Helper()
	spec, st, rings, err := fromRRDFile(f)
	if err != nil {
		t.Fatal(err)
	}
	r := &RRD{spec: spec, st: st, rows: memRows(rings)}
	r.eng = newEngine(&r.spec, r.st, r.rows)
	return r
}

// TestImportRRDAgainstRRDtool: generated rrdtool files (the differential
// test's layouts and update streams) are imported half-way through their
// updates; the import must equal the file bit for bit, fetch as rrdtool
// fetch does on it, and — after the second half of the updates is applied
// to both — still equal rrdtool's file. Every fourth case also goes
// through a data directory (DB.ImportRRD, Fetch) and through the older
// version 0001 layout rrdtool 1.7.2 still reads.
func TestImportRRDAgainstRRDtool(t *testing.T) {
	h := newRRDtoolHarness(t)
	t.Parallel()
	cases := shortOr(40, 12)
	db := h.openDB(t)
	var stats diffStats
	var nFetches int
	for i := 0; i < cases; i++ {
		r := rand.New(rand.NewPCG(20261203, uint64(i)))
		c := genCase(r)
		ctx := fmt.Sprintf("case %d", i)
		file := h.path("c%d.rrd", i)
		h.createCase(t, file, c)
		half := len(c.chunks) / 2
		h.feed(file, c.chunks[:half])
		f, err := rrdfile.ReadFile(file)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if f.Version != 3 {
			t.Fatalf("case %d: rrdtool wrote version %d", i, f.Version)
		}
		ours := rrdFromFile(t, f)
		// made from rrdtool's file, the rings start where rrdtool's do
		compareDump(t, ctx, file, dumpRRD(ours), &stats, diffCheck{ring: true})
		nFetches += h.compareFetches(t, ctx, file, c.fetches, ours.Fetch, nil)
		if i%4 == 0 {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("imported/c%d", i)
			if err := db.ImportRRD(b, name, false); err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
			nFetches += h.compareFetches(t, ctx+" imported", file, c.fetches, func(q FetchRequest) (*FetchResult, error) { return db.Fetch(name, q) }, nil)
			v1 := h.path("c%d-v1.rrd", i)
			if err := os.WriteFile(v1, toVersion1(t, b, f), 0o644); err != nil {
				t.Fatal(err)
			}
			f1, err := rrdfile.ReadFile(v1)
			if err != nil {
				t.Fatalf("case %d version 1: %v", i, err)
			}
			if f1.Version != 1 || f1.LastUpdate != f.LastUpdate || f1.LastUpdateUsec != 0 {
				t.Fatalf("case %d version 1: version %d, last update %d.%06d", i, f1.Version, f1.LastUpdate, f1.LastUpdateUsec)
			}
			nFetches += h.compareFetches(t, ctx+" version 1", v1, c.fetches, rrdFromFile(t, f1).Fetch, nil)
		}
		h.updateBoth(t, ctx, file, c.chunks[half:], rrdUpdater(ours, nil))
		compareDump(t, ctx+" and updates", file, dumpRRD(ours), &stats, diffCheck{ring: true})
		nFetches += h.compareFetches(t, ctx+" and updates", file, c.fetches, ours.Fetch, nil)
	}
	t.Logf("%d cases: %d values bit-identical, %d fetches", cases, stats.exact, nFetches)
}

// toVersion1 rewrites an x86-64 version 0003 file as version 0001: the
// same layout without live_head's microseconds.
func toVersion1(t *testing.T, b []byte, f *rrdfile.File) []byte {
	t.Helper()
	usec := 128 + 120*len(f.DS) + 120*len(f.RRA) + 8
	if binary.LittleEndian.Uint64(b[usec-8:]) != uint64(f.LastUpdate) {
		t.Fatal("live_head is not where the layout puts it")
	}
	out := append(append([]byte{}, b[:usec]...), b[usec+8:]...)
	copy(out[4:9], "0001\x00")
	return out
}
