package objstore

import (
	"context"
	"fmt"
	"testing"

	"rrdash/store"
	"rrdash/store/cluster"
	"rrdash/tools/testdeps"
)

// TestBucketNewestSnapshot: on s3rver, the newest of a shard's snapshots
// (by position, not by key text: positions differ in length) comes back
// whole; older ones beyond the last two are deleted; other shards and a
// position that is not a sequence number are kept apart; a position
// stored is not written again.
func TestBucketNewestSnapshot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, err := New(Config{Bucket: "snaps", Prefix: "stream", Endpoint: testdeps.NodeServer(t, "s3rver")})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CreateBucket(ctx); err != nil {
		t.Fatal(err)
	}
	if snap, err := b.Newest(ctx, "shard-0"); err != nil || snap != nil {
		t.Fatalf("empty bucket: %v, %v", snap, err)
	}
	spec := store.DefaultTemplate()
	spec.Start = 1_700_000_000
	st := &store.SeriesState{Spec: spec, LastUpdate: spec.Start, Meta: map[string]string{"units": "ms"}}
	for range spec.DS {
		st.DS = append(st.DS, store.DumpDS{LastDS: "U"})
	}
	for _, r := range spec.RRA {
		st.RRA = append(st.RRA, store.SeriesRRA{CDP: make([]store.DumpCDP, len(spec.DS)), Ring: make([]float64, r.Rows*int64(len(spec.DS)))})
	}
	for _, pos := range []string{"9", "10", "123", "45"} {
		snap := &cluster.ShardSnapshot{Shard: "shard-0", Position: pos, Series: []cluster.NamedState{{Name: "s;p=" + pos, State: st}}}
		if err := b.Put(ctx, snap); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Put(ctx, &cluster.ShardSnapshot{Shard: "shard-1", Position: "7"}); err != nil {
		t.Fatal(err)
	}
	// A second snapshot at a stored position is not written: a key is
	// never overwritten (a put cut short would truncate a good one).
	if err := b.Put(ctx, &cluster.ShardSnapshot{Shard: "shard-0", Position: "123", Series: []cluster.NamedState{{Name: "again", State: st}}}); err != nil {
		t.Fatal(err)
	}
	snap, err := b.Newest(ctx, "shard-0")
	if err != nil {
		t.Fatal(err)
	}
	if snap.Position != "123" || len(snap.Series) != 1 || snap.Series[0].Name != "s;p=123" {
		t.Fatalf("newest: %s with %d series", snap.Position, len(snap.Series))
	}
	if got, want := fmt.Sprintf("%+v", *snap.Series[0].State), fmt.Sprintf("%+v", *st); got != want {
		t.Fatal("the series state changed on its way through the bucket")
	}
	keys, err := b.keys(ctx, "shard-0")
	if err != nil || len(keys) != 2 {
		t.Fatalf("kept %v (%v), want the newest two", keys, err)
	}
	if err := b.Put(ctx, &cluster.ShardSnapshot{Shard: "shard-0", Position: "12a"}); err == nil {
		t.Fatal("a position that is no sequence number was stored")
	}
}
