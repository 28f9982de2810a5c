package store

import (
	"context"
	"fmt"
	"strconv"
	"testing"
)

// TestHandlesFollowTheSeries: updates applied through handles kept from
// batch to batch land where updates applied by name do, while the fd cache
// evicts archives from memory (three open files for eight series), a
// checkpoint drops closed ones, and series are deleted, recreated and
// renamed under the handles. Under the race detector every handle use is
// also checked against the lookup by name (checkHandles).
func TestHandlesFollowTheSeries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	open := func() *DB {
		db, err := Open(t.TempDir(), Options{MaxOpenFiles: 3})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	byName, byHandle := open(), open()
	const n = 8
	names := make([]string, n)
	hs := make([]Handle, n)
	spec := GraphiteTemplate()
	spec.Start = 1795356000 - 60
	meta := map[string]string{MetaModel: ModelGraphite}
	create := func(name string) {
		for _, db := range []*DB{byName, byHandle} {
			if err := db.CreateWithMeta(name, spec, meta, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	for k := range names {
		names[k] = fmt.Sprintf("h.s%d", k)
		create(names[k])
	}
	apply := func(from, to int) {
		for p := from; p < to; p++ {
			var b Batch
			ptrs := make([]*Handle, 0, n)
			for k, name := range names {
				b.Updates = append(b.Updates, Update{Series: name, Time: 1795356000 + int64(p)*60, Values: []string{strconv.Itoa((p*7 + k) % 97)}})
				ptrs = append(ptrs, &hs[k])
			}
			want, err := byName.Apply(ctx, b)
			if err != nil {
				t.Fatal(err)
			}
			got, err := byHandle.ApplyHandles(ctx, b, ptrs)
			if err != nil {
				t.Fatal(err)
			}
			if got.Applied != want.Applied || len(got.Errors) != len(want.Errors) {
				t.Fatalf("point %d: by handle %+v, by name %+v", p, got, want)
			}
		}
	}
	check := func(when string) {
		t.Helper()
		for _, name := range names {
			req := FetchRequest{CF: Average, Start: 1795356000 - 3600, End: 1795356000 + 600*60, Resolution: 60}
			want, err := byName.Fetch(name, req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := byHandle.Fetch(name, req)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s: %s: by handle\n%v\nby name\n%v", when, name, got, want)
			}
		}
	}
	apply(0, 100)
	check("evictions")
	for _, db := range []*DB{byName, byHandle} {
		if err := db.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
	}
	apply(100, 150)
	check("after a checkpoint")
	for _, db := range []*DB{byName, byHandle} {
		if err := db.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		if err := db.Delete(names[2]); err != nil {
			t.Fatal(err)
		}
		if err := db.Rename(names[5], "h.renamed"); err != nil {
			t.Fatal(err)
		}
		if err := db.Rename(names[6], names[5]); err != nil { // a handle's name, another series now
			t.Fatal(err)
		}
	}
	create(names[2])
	create(names[6])
	apply(150, 220)
	check("after delete, recreate and rename")
	if _, err := byHandle.ApplyHandles(ctx, Batch{Updates: []Update{{Series: names[0], Time: 1795356000 + 300*60, Values: []string{"1"}}}}, nil); err != nil {
		t.Errorf("nil handles: %v", err)
	}
	if _, err := byHandle.ApplyHandles(ctx, Batch{Updates: []Update{{Series: names[0], Time: 1795356000 + 301*60, Values: []string{"1"}}}}, []*Handle{nil, nil}); err == nil {
		t.Error("two handles for one update: no error")
	}
}
