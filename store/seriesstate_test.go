package store

import (
	"context"
	"fmt"
	"testing"
)

// TestExportRestoreSeries: a series restored from its exported state is
// the same series, and stays the same under the same further updates, also
// across a reopen of the restoring store — Holt-Winters series too (their
// consolidation words and seasonal rings move with them).
func TestExportRestoreSeries(t *testing.T) {
	t.Parallel()
	plain := DefaultTemplate()
	plain.Start = 1_700_000_000
	hw, err := ParseSpecArgs(60, 1_700_000_000, []string{"DS:v:GAUGE:120:U:U", "RRA:AVERAGE:0.5:1:100",
		"RRA:HWPREDICT:100:0.5:0.5:20", "RRA:MHWPREDICT:50:0.3:0.2:10"})
	if err != nil {
		t.Fatal(err)
	}
	for name, spec := range map[string]Spec{"plain": plain, "holt-winters": hw} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testExportRestoreSeries(t, spec)
		})
	}
}

func testExportRestoreSeries(t *testing.T, spec Spec) {
	ctx := context.Background()
	src, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dstDir := t.TempDir()
	dst, err := Open(dstDir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.CreateWithMeta("s", spec, map[string]string{"units": "ms"}, false); err != nil {
		t.Fatal(err)
	}
	apply := func(db *DB, from, n int) {
		t.Helper()
		var b Batch
		for i := from; i < from+n; i++ {
			b.Updates = append(b.Updates, Update{Series: "s", Time: spec.Start + int64(i)*37, Usec: int64(i * 1000 % 1e6), Values: []string{fmt.Sprint(i % 7)}})
		}
		if res, err := db.Apply(ctx, b); err != nil || len(res.Errors) > 0 {
			t.Fatalf("apply: %+v %v", res, err)
		}
	}
	same := func(what string) {
		t.Helper()
		a, err := src.ExportSeries("s")
		if err != nil {
			t.Fatal(err)
		}
		b, err := dst.ExportSeries("s")
		if err != nil {
			t.Fatal(err)
		}
		if fa, fb := fmt.Sprintf("%+v", *a), fmt.Sprintf("%+v", *b); fa != fb {
			t.Fatalf("%s: the series differ (%d and %d bytes of state)", what, len(fa), len(fb))
		}
		da, err := src.Dump("s")
		if err != nil {
			t.Fatal(err)
		}
		db, err := dst.Dump("s")
		if err != nil {
			t.Fatal(err)
		}
		if fa, fb := fmt.Sprintf("%+v", *da), fmt.Sprintf("%+v", *db); fa != fb {
			t.Fatalf("%s: the dumps differ", what)
		}
	}
	apply(src, 1, 500)
	st, err := src.ExportSeries("s")
	if err != nil {
		t.Fatal(err)
	}
	if err := dst.RestoreSeries("s", st); err != nil {
		t.Fatal(err)
	}
	same("restored")
	apply(src, 501, 300)
	apply(dst, 501, 300)
	same("after the same updates")
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	if dst, err = Open(dstDir, Options{}); err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	same("reopened")
	if m, err := dst.Meta("s"); err != nil || m["units"] != "ms" {
		t.Fatalf("meta %v %v", m, err)
	}
	// a state that does not fit its definition is refused
	bad := *st
	bad.RRA = bad.RRA[:1]
	if err := dst.RestoreSeries("t", &bad); err == nil {
		t.Fatal("a state with too few archives was restored")
	}
}
