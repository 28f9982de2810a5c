package rrdcached

import (
	"strings"
	"testing"

	"rrdash/store"
)

// TestGroupCommitErrorsByChunk: chunks of several connections applied as
// one group, ordered by series, get their refusals back at their own
// indexes, and each series keeps its updates in submission order.
func TestGroupCommitErrorsByChunk(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, AllCommands, Config{})
	cl := ts.dial(t)
	for _, n := range []string{"a", "b"} {
		if got := cl.do(strings.Replace(createWeb1, "web1.rrd", n+".rrd", 1)); got != "0 RRD created OK\n" {
			t.Fatal(got)
		}
	}
	up := func(s string, tm int64) store.Update {
		return store.Update{Series: s, Time: tm, Values: []string{"1", "1"}}
	}
	c := ts.srv.commit
	// handed in directly, as one group (no committer goroutine started)
	t1 := &ticket{applied: make(chan struct{})}
	t2 := &ticket{applied: make(chan struct{})}
	c.mu.Lock()
	c.pend = append(c.pend,
		pendChunk{[]store.Update{up("b", 1700000060), up("a", 1700000060), up("b", 1700000120)}, t1},
		pendChunk{[]store.Update{up("a", 1700000120), up("b", 1700000100), up("a", 1700000060), up("b", 1700000180)}, t2})
	c.mu.Unlock()
	wait := c.applyNow()
	if wait == nil {
		t.Fatal("nothing applied")
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	t1.await()
	t2.await()
	if len(t1.errs) != 0 || t1.fail != "" {
		t.Errorf("first chunk: %v %q", t1.errs, t1.fail)
	}
	want := map[int]string{
		// the last update when refused (b@120), not after the group (b@180)
		1: "illegal attempt to update using time 1700000100.000000 when last update time is 1700000120.000000 (minimum one second step)\n",
		2: "illegal attempt to update using time 1700000060.000000 when last update time is 1700000120.000000 (minimum one second step)\n",
	}
	if len(t2.errs) != len(want) {
		t.Fatalf("second chunk: errors %v", t2.errs)
	}
	for i, w := range want {
		if t2.errs[i] != w {
			t.Errorf("second chunk, update %d: %q, want %q", i, t2.errs[i], w)
		}
	}
	for n, want := range map[string]int64{"a": 1700000120, "b": 1700000180} {
		if last, err := ts.db.LastUpdate(n); err != nil || last != want {
			t.Errorf("%s: last update %d (%v), want %d", n, last, err, want)
		}
	}
}
