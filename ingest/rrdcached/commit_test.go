package rrdcached

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"rrdash/store"
)

// TestGroupCommitErrorsByChunk: chunks of several connections applied as
// one group, ordered by series, get their refusals back at their own
// indexes, and each series keeps its updates in submission order: with
// the series' numbers (GroupByKey), without, and with one chunk lacking
// them.
func TestGroupCommitErrorsByChunk(t *testing.T) {
	t.Parallel()
	for _, keyed := range []string{"none", "all", "first"} {
		t.Run(keyed, func(t *testing.T) {
			t.Parallel()
			testGroupCommitErrorsByChunk(t, keyed)
		})
	}
}

func testGroupCommitErrorsByChunk(t *testing.T, keyed string) {
	ts := newTwoSeriesServer(t)
	up := twoValues
	c := ts.srv.commit
	// handed in directly, as one group (no committer goroutine started)
	t1 := &ticket{applied: make(chan struct{})}
	t2 := &ticket{applied: make(chan struct{})}
	c.mu.Lock()
	k1, k2 := []int32{1, 0, 1}, []int32{0, 1, 0, 1} // a: 0, b: 1
	switch keyed {
	case "none":
		k1, k2 = nil, nil
	case "first":
		k2 = nil
	}
	c.pend = append(c.pend,
		pendChunk{[]store.Update{up("b", 1700000060), up("a", 1700000060), up("b", 1700000120)}, k1, nil, t1, 0},
		pendChunk{[]store.Update{up("a", 1700000120), up("b", 1700000100), up("a", 1700000060), up("b", 1700000180)}, k2, nil, t2, 0})
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
// once released, with the error given. It has no SyncJournal: the
// committer makes a group durable with its wait.
type gatedStore struct {
	Store            // only the interface's methods
	started chan int // the group number of each wait that starts
	release chan error
	n       int
}

func (g *gatedStore) ApplyAsync(ctx context.Context, b store.Batch) (store.Result, func() error, error) {
	res, wait, err := g.Store.ApplyAsync(ctx, b)
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

// gatedSyncStore gates SyncJournal instead: the committer answers once it
// returns, before the wait.
type gatedSyncStore struct {
	Store
	db      *store.DB
	started chan int // the number of each SyncJournal call that starts
	release chan error
	n       int
}

func (g *gatedSyncStore) SyncJournal() error {
	g.n++
	g.started <- g.n
	if err := <-g.release; err != nil {
		return err
	}
	return g.db.SyncJournal()
}

// TestGroupSyncOrder: a group's answers wait for its durability (the
// store's wait, or SyncJournal when the store has it), which starts once
// the previous group's has returned (one fsync at a time), and a failure
// reaches every chunk of its group.
func TestGroupSyncOrder(t *testing.T) {
	t.Parallel()
	for _, syncJournal := range []bool{false, true} {
		t.Run(fmt.Sprintf("SyncJournal=%v", syncJournal), func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, AllCommands, Config{})
			if got := ts.dial(t).do(createWeb1); got != "0 RRD created OK\n" {
				t.Fatal(got)
			}
			started, release := make(chan int, 4), make(chan error)
			var st Store = &gatedStore{Store: ts.db, started: started, release: release}
			if syncJournal {
				st = &gatedSyncStore{Store: ts.db, db: ts.db, started: started, release: release}
			}
			c := &committer{st: st, srv: ts.srv, free: make(chan freeChunk, 4)}
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
			if k := <-started; k != 1 {
				t.Fatalf("durability of group %d started first", k)
			}
			answered := make(chan error, 3)
			for _, tk := range []*ticket{t1, t2, t3} {
				go func() { answered <- tk.wait() }()
			}
			select {
			case k := <-started:
				t.Fatalf("durability of group %d started before group 1's returned", k)
			case err := <-answered:
				t.Fatalf("an answer (%v) before any group was durable", err)
			case <-time.After(50 * time.Millisecond):
			}
			release <- nil
			if err := <-answered; err != nil {
				t.Fatalf("group 1: %v", err)
			}
			if k := <-started; k != 2 {
				t.Fatalf("durability of group %d, want 2", k)
			}
			bad := errors.New("disk gone")
			release <- bad
			for range 2 {
				if err := <-answered; !errors.Is(err, bad) {
					t.Errorf("group 2: %v, want %v", err, bad)
				}
			}
		})
	}
}

// submitNoLoop queues a chunk as submit does, without starting the
// committer goroutine (the test applies).
func (c *committer) submitNoLoop(chunk []store.Update) *ticket {
	t := &ticket{applied: make(chan struct{})}
	c.mu.Lock()
	c.pend = append(c.pend, pendChunk{ups: chunk, t: t})
	c.mu.Unlock()
	return t
}

// TestBoundedGroups: the committer loop's groups take the oldest chunks,
// as many as hold groupMax updates (at least one, however large), and
// leave the rest waiting for the next group, in order; applyNow (a
// command that must see every update) takes them all. Every chunk is
// applied once, each series' updates in submission order (an update out
// of order would be refused as too old).
func TestBoundedGroups(t *testing.T) {
	ts := newTestServer(t, AllCommands, Config{})
	cl := ts.dial(t)
	if got := cl.do(strings.Replace(createWeb1, "web1.rrd", "a.rrd", 1)); got != "0 RRD created OK\n" {
		t.Fatal(got)
	}
	c := ts.srv.commit
	c.groupMax = 5
	tm := int64(1700000000)
	chunk := func(n int) pendChunk {
		ups := make([]store.Update, n)
		for i := range ups {
			tm += 10
			ups[i] = store.Update{Series: "a", Time: tm, Values: []string{"1", "1"}}
		}
		return pendChunk{ups: ups, t: &ticket{applied: make(chan struct{})}}
	}
	chunks := []pendChunk{chunk(3), chunk(2), chunk(1), chunk(7), chunk(2), chunk(2)}
	c.mu.Lock()
	c.pend = append(c.pend, chunks...)
	c.mu.Unlock()
	applied := func() []bool {
		var a []bool
		for _, ch := range chunks {
			select {
			case <-ch.t.applied:
				a = append(a, true)
			default:
				a = append(a, false)
			}
		}
		return a
	}
	for i, want := range [][]bool{
		{true, true, false, false, false, false}, // 3+2 = 5
		{true, true, true, false, false, false},  // 1 (+7 over the bound)
		{true, true, true, true, false, false},   // 7: one chunk over the bound
		{true, true, true, true, true, true},     // 2+2
	} {
		g := c.apply(c.groupMax)
		if g == nil {
			t.Fatalf("group %d: nothing applied", i)
		}
		if err := g.wait(); err != nil {
			t.Fatal(err)
		}
		if got := applied(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("after group %d: applied %v, want %v", i, got, want)
		}
	}
	if g := c.apply(c.groupMax); g != nil {
		t.Fatal("a group with nothing pending")
	}
	for i, ch := range chunks {
		if len(ch.t.errs) != 0 || ch.t.fail != "" {
			t.Errorf("chunk %d: %v %q", i, ch.t.errs, ch.t.fail)
		}
	}
	// applyNow takes every chunk, whatever the bound
	more := []pendChunk{chunk(4), chunk(4), chunk(4)}
	c.mu.Lock()
	c.pend = append(c.pend, more...)
	c.mu.Unlock()
	if err := c.applyNow().wait(); err != nil {
		t.Fatal(err)
	}
	for i, ch := range more {
		select {
		case <-ch.t.applied:
		default:
			t.Errorf("applyNow left chunk %d", i)
		}
		if len(ch.t.errs) != 0 || ch.t.fail != "" {
			t.Errorf("chunk %d: %v %q", i, ch.t.errs, ch.t.fail)
		}
	}
	if last, err := ts.srv.st.LastUpdate("a"); err != nil || last != tm {
		t.Errorf("last update %d (%v), want %d", last, err, tm)
	}
}

// TestTouchGrouped: every series of a group is known once applied, in
// runs or not, and a series already known keeps its state.
func TestTouchGrouped(t *testing.T) {
	s := &Server{known: map[string]bool{"c": true}}
	ups := []store.Update{{Series: "a"}, {Series: "a"}, {Series: "b"}, {Series: "c"}, {Series: "b"}, {Series: "d"}}
	s.touchGrouped(ups)
	want := map[string]bool{"a": false, "b": false, "c": true, "d": false}
	if !maps.Equal(s.known, want) {
		t.Fatalf("known %v, want %v", s.known, want)
	}
}

// TestOneSeriesGroup: a group whose chunks all hold one series (numbered
// alike) is applied in submission order without grouping, and its
// refusals come back at their chunk's indexes; a group mixing two such
// chunks of different series is grouped as before.
func TestOneSeriesGroup(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		keys []int32
		n    int
		want int32
	}{{nil, 0, 0}, {nil, 2, 0}, {[]int32{}, 0, 0}, {[]int32{-1, -1}, 2, 0}, {[]int32{3, 3, 3}, 3, 4}, {[]int32{0}, 1, 1},
		{[]int32{3, 4}, 2, 0}, {[]int32{3, 3}, 3, 0}} {
		if got := onlyKey(c.keys, c.n); got != c.want {
			t.Errorf("onlyKey(%v, %d) = %d, want %d", c.keys, c.n, got, c.want)
		}
	}
	ts := newTwoSeriesServer(t)
	up := twoValues
	c := ts.srv.commit
	group := func(chunks ...[]store.Update) []*ticket {
		t.Helper()
		var ts []*ticket
		c.mu.Lock()
		for _, ups := range chunks {
			keys := make([]int32, len(ups))
			for i, u := range ups {
				keys[i] = int32(u.Series[0] - 'a')
			}
			tk := &ticket{applied: make(chan struct{})}
			ts = append(ts, tk)
			c.pend = append(c.pend, pendChunk{ups: ups, keys: keys, t: tk, only: onlyKey(keys, len(ups))})
		}
		c.mu.Unlock()
		applyPending(t, c)
		for _, tk := range ts {
			tk.await()
			if tk.fail != "" {
				t.Fatal(tk.fail)
			}
		}
		return ts
	}
	tooOld := func(at, last int) string {
		return fmt.Sprintf("illegal attempt to update using time %d.000000 when last update time is %d.000000 (minimum one second step)\n", at, last)
	}
	// one series: a@100 refused after a@120, in the second chunk
	tks := group([]store.Update{up("a", 1700000060), up("a", 1700000120)}, []store.Update{up("a", 1700000100), up("a", 1700000180)})
	if len(tks[0].errs) != 0 || len(tks[1].errs) != 1 || tks[1].errs[0] != tooOld(1700000100, 1700000120) {
		t.Errorf("one series: errors %v, %v", tks[0].errs, tks[1].errs)
	}
	// two one-series chunks of different series: grouped
	tks = group([]store.Update{up("b", 1700000060), up("b", 1700000050)}, []store.Update{up("a", 1700000240), up("a", 1700000180)})
	if len(tks[0].errs) != 1 || tks[0].errs[1] != tooOld(1700000050, 1700000060) || len(tks[1].errs) != 1 || tks[1].errs[1] != tooOld(1700000180, 1700000240) {
		t.Errorf("two series: errors %v, %v", tks[0].errs, tks[1].errs)
	}
	for n, want := range map[string]int64{"a": 1700000240, "b": 1700000060} {
		if last, err := ts.db.LastUpdate(n); err != nil || last != want {
			t.Errorf("%s: last update %d (%v), want %d", n, last, err, want)
		}
	}
}

// applyProbe is a Store whose ApplyAsync runs check first.
type applyProbe struct {
	Store
	check func(store.Batch)
}

func (p applyProbe) ApplyAsync(ctx context.Context, b store.Batch) (store.Result, func() error, error) {
	p.check(b)
	return p.Store.ApplyAsync(ctx, b)
}

// TestChunkRoomRecycledAfterApply: a chunk's room (its updates, series
// numbers and the numbers its updates' Nums point into) goes back to the
// connections only once its group is applied: a group of several chunks
// is copied, but the copies' Nums still point into the chunks' rooms,
// which a connection refilling them would overwrite under the store.
func TestChunkRoomRecycledAfterApply(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprint(n, " chunks"), func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, AllCommands, Config{})
			cl := ts.dial(t)
			if got := cl.do("CREATE a.rrd -b 1700000000 -s 10 DS:v:GAUGE:600:U:U RRA:LAST:0.5:1:100"); got != "0 RRD created OK\n" {
				t.Fatal(got)
			}
			c := ts.srv.commit
			for len(c.free) > 0 {
				<-c.free
			}
			c.st = applyProbe{c.st, func(store.Batch) {
				if len(c.free) != 0 {
					t.Errorf("%d chunk rooms recycled before their group was applied", len(c.free))
				}
			}}
			tm, want := int64(1700000000), map[int64]float64{}
			var tickets []*ticket
			c.mu.Lock()
			for k := range n {
				ups, room := make([]store.Update, 0, maxChunk), make([]float64, 0, maxChunk)
				for i := range 4 {
					tm += 10
					room = append(room, float64(100*k+i))
					ups = append(ups, store.Update{Series: "a", Time: tm, Nums: room[i : i+1 : i+1]})
					want[tm] = room[i]
				}
				tk := &ticket{applied: make(chan struct{})}
				tickets = append(tickets, tk)
				c.pend = append(c.pend, pendChunk{ups: ups, keys: make([]int32, 0, maxChunk), nums: room, t: tk})
			}
			c.mu.Unlock()
			applyPending(t, c)
			for _, tk := range tickets {
				if len(tk.errs) > 0 || tk.fail != "" {
					t.Fatalf("refused: %v %q", tk.errs, tk.fail)
				}
			}
			if len(c.free) != n {
				t.Fatalf("%d chunk rooms recycled, want %d", len(c.free), n)
			}
			// the rooms, refilled as a connection would, change nothing stored
			for len(c.free) > 0 {
				room := <-c.free
				room.nums = append(room.nums, -1, -1, -1, -1)
			}
			res, err := c.st.Fetch("a", store.FetchRequest{CF: store.Last, Start: 1700000000, End: tm})
			if err != nil {
				t.Fatal(err)
			}
			seen := 0
			for i, v := range res.Values[0] { // the data source's column
				at := res.Start + int64(i+1)*res.Step
				if w, ok := want[at]; ok {
					seen++
					if v != w {
						t.Errorf("at %d: %v, want %v", at, v, w)
					}
				}
			}
			if seen != len(want) {
				t.Errorf("%d rows of %d fetched", seen, len(want))
			}
		})
	}
}

// applyPending has the committer apply every chunk waiting, as one group,
// and waits until it is durable.
func applyPending(t testing.TB, c *committer) {
	t.Helper()
	g := c.applyNow()
	if g == nil {
		t.Fatal("nothing applied")
	}
	if err := g.wait(); err != nil {
		t.Fatal(err)
	}
}

// newTwoSeriesServer is a test server holding a.rrd and b.rrd, made as
// createWeb1 (two data sources).
func newTwoSeriesServer(t *testing.T) *testServer {
	t.Helper()
	ts := newTestServer(t, AllCommands, Config{})
	cl := ts.dial(t)
	for _, n := range []string{"a", "b"} {
		if got := cl.do(strings.Replace(createWeb1, "web1.rrd", n+".rrd", 1)); got != "0 RRD created OK\n" {
			t.Fatal(got)
		}
	}
	return ts
}

// twoValues is an update of series s at tm for newTwoSeriesServer's files.
func twoValues(s string, tm int64) store.Update {
	return store.Update{Series: s, Time: tm, Values: []string{"1", "1"}}
}
