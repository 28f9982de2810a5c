package rrdcached

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

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
	g := c.applyNow()
	if g == nil {
		t.Fatal("nothing applied")
	}
	if err := g.wait(); err != nil {
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

// gatedStore hands out waits that record when they run and return only
// once released, with the error given.
type gatedStore struct {
	*store.DB
	started chan int // the group number of each wait that starts
	release chan error
	n       int
}

func (g *gatedStore) ApplyAsync(ctx context.Context, b store.Batch) (store.Result, func() error, error) {
	res, wait, err := g.DB.ApplyAsync(ctx, b)
	g.n++
	k := g.n
	return res, func() error {
		g.started <- k
		if err := <-g.release; err != nil {
			return err
		}
		return wait()
	}, err
}

// TestGroupSyncOrder: a group's answers wait for its own wait, which runs
// once the previous group's has returned (one fsync at a time), and a
// failed wait reaches every chunk of its group.
func TestGroupSyncOrder(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, AllCommands, Config{})
	if got := ts.dial(t).do(createWeb1); got != "0 RRD created OK\n" {
		t.Fatal(got)
	}
	gs := &gatedStore{DB: ts.db, started: make(chan int, 4), release: make(chan error)}
	c := &committer{st: gs, srv: ts.srv, free: make(chan []store.Update, 4)}
	up := func(tm int64) []store.Update {
		return []store.Update{{Series: "web1", Time: tm, Values: []string{"1", "1"}}}
	}
	t1 := c.submitNoLoop(up(1700000060))
	g1 := c.applyNow()
	t2 := c.submitNoLoop(up(1700000120))
	t3 := c.submitNoLoop(up(1700000180))
	g2 := c.applyNow()
	if g1 == nil || g2 == nil {
		t.Fatal("nothing applied")
	}
	for _, tk := range []*ticket{t1, t2, t3} {
		tk.await()
	}
	if k := <-gs.started; k != 1 {
		t.Fatalf("wait of group %d ran first", k)
	}
	answered := make(chan error, 3)
	for _, tk := range []*ticket{t1, t2, t3} {
		go func() { answered <- tk.wait() }()
	}
	select {
	case k := <-gs.started:
		t.Fatalf("wait of group %d ran before group 1's returned", k)
	case err := <-answered:
		t.Fatalf("an answer (%v) before any wait returned", err)
	case <-time.After(50 * time.Millisecond):
	}
	gs.release <- nil
	if err := <-answered; err != nil {
		t.Fatalf("group 1: %v", err)
	}
	if k := <-gs.started; k != 2 {
		t.Fatalf("wait of group %d, want 2", k)
	}
	bad := errors.New("disk gone")
	gs.release <- bad
	for range 2 {
		if err := <-answered; !errors.Is(err, bad) {
			t.Errorf("group 2: %v, want %v", err, bad)
		}
	}
}

// submitNoLoop queues a chunk as submit does, without starting the
// committer goroutine (the test applies).
func (c *committer) submitNoLoop(chunk []store.Update) *ticket {
	t := &ticket{applied: make(chan struct{})}
	c.mu.Lock()
	c.pend = append(c.pend, pendChunk{chunk, t})
	c.mu.Unlock()
	return t
}
