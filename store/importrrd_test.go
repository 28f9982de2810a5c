package store

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"rrdash/store/rrdfile"
	"rrdash/store/rrdtooltest"
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
	bin := rrdtooltest.Bin(t)
	t.Parallel()
	cases := 40
	if testing.Short() {
		cases = 12
	}
	dir := t.TempDir()
	db, err := Open(filepath.Join(dir, "data"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stats diffStats
	var nFetches int
	for i := 0; i < cases; i++ {
		r := rand.New(rand.NewPCG(20261203, uint64(i)))
		c := genCase(r)
		file := filepath.Join(dir, fmt.Sprintf("c%d.rrd", i))
		rrdtoolOK(t, bin, c.createArgs(file)...)
		half := len(c.chunks) / 2
		update := func(chunks [][]string, ours *RRD) {
			for _, ch := range chunks {
				_, rerr := exec.Command(bin, append([]string{"update", file}, ch...)...).CombinedOutput()
				if ours == nil {
					continue
				}
				var oerr error
				for _, a := range ch {
					u, err := ParseUpdateArg(a, nil, len(c.spec.DS))
					if err == nil {
						err = ours.Update(u.Time, u.Usec, u.Values)
					}
					if err != nil {
						oerr = err
						break
					}
				}
				if (rerr == nil) != (oerr == nil) {
					t.Fatalf("case %d: rrdtool update: %v; ours: %v", i, rerr, oerr)
				}
			}
		}
		update(c.chunks[:half], nil)
		f, err := rrdfile.ReadFile(file)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if f.Version != 3 {
			t.Fatalf("case %d: rrdtool wrote version %d", i, f.Version)
		}
		ours := rrdFromFile(t, f)
		compareFiles(t, i, file, ours, &stats)
		compareFetches := func(fetch func(FetchRequest) (*FetchResult, error), file string) {
			for _, q := range c.fetches {
				want, werr := rrdtoolFetchText(t, bin, file, q)
				res, gerr := fetch(q)
				if (werr == nil) != (gerr == nil) {
					t.Fatalf("case %d fetch %+v: rrdtool: %v; ours: %v", i, q, werr, gerr)
				}
				if gerr == nil {
					if got := fetchText(res); got != want {
						t.Fatalf("case %d fetch %+v:\n%s", i, q, firstDiff(want, got))
					}
					nFetches++
				}
			}
		}
		compareFetches(ours.Fetch, file)
		if i%4 == 0 {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("imported/c%d", i)
			if err := db.ImportRRD(b, name, false); err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
			compareFetches(func(q FetchRequest) (*FetchResult, error) { return db.Fetch(name, q) }, file)
			v1 := filepath.Join(dir, fmt.Sprintf("c%d-v1.rrd", i))
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
			compareFetches(rrdFromFile(t, f1).Fetch, v1)
		}
		update(c.chunks[half:], ours)
		compareFiles(t, i, file, ours, &stats)
		compareFetches(ours.Fetch, file)
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

func rrdtoolOK(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("rrdtool %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
