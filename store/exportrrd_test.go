package store

import (
	"os"
	"testing"

	"rrdash/store/rrdfile"
)

// TestExportRRDRoundTrip: an rrdtool file imported then exported comes
// back byte for byte (files rrdtool 1.7.2 wrote, store/rrdfile/testdata).
func TestExportRRDRoundTrip(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"small.rrd", "dderive.rrd"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile("rrdfile/testdata/" + name)
			if err != nil {
				t.Fatal(err)
			}
			db, err := Open(t.TempDir(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.ImportRRD(b, "x", false); err != nil {
				t.Fatal(err)
			}
			f, err := db.ExportRRD("x")
			if err != nil {
				t.Fatal(err)
			}
			if !f.Marked() {
				t.Error("the exported file lacks rrdash's mark")
			}
			f.Params[0] = 0 // rrdtool's file has none
			got, err := rrdfile.Encode(f)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(b) {
				for i := range min(len(got), len(b)) {
					if got[i] != b[i] {
						t.Fatalf("%d bytes, want %d; first difference at offset %d: %#x, want %#x", len(got), len(b), i, got[i], b[i])
					}
				}
				t.Fatalf("%d bytes, want %d", len(got), len(b))
			}
		})
	}
}

func TestExportRRDMissing(t *testing.T) {
	t.Parallel()
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExportRRD("nope"); err == nil {
		t.Fatal("exported a series that does not exist")
	}
}
