package push

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"rrdash/store"
)

// gatedSink is a real store whose commits can be held: while the gate is
// set, a group is journalled and then waits before its fsync until the
// gate is closed, as a slow disk would. It counts groups and fsyncs.
type gatedSink struct {
	*store.DB
	gate   atomic.Pointer[chan struct{}]
	held   chan struct{} // one per wait blocked on the gate
	groups atomic.Int64
	size   atomic.Int64 // updates in the last group
	total  atomic.Int64 // updates in all groups
	syncs  syncCounter
}

type syncCounter struct{ n atomic.Int64 }

func (c *syncCounter) JournalSynced(time.Duration)     { c.n.Add(1) }
func (c *syncCounter) Checkpointed(time.Duration, int) {}
func (c *syncCounter) Applied(int, int)                {}

func newGatedSink(t testing.TB) *gatedSink {
	g := &gatedSink{held: make(chan struct{}, 100)}
	db, err := store.Open(t.TempDir(), store.Options{Observer: &g.syncs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	g.DB = db
	return g
}

func (g *gatedSink) hold() (release func()) {
	ch := make(chan struct{})
	g.gate.Store(&ch)
	var once sync.Once
	return func() { once.Do(func() { g.gate.Store(nil); close(ch) }) }
}

func (g *gatedSink) Apply(ctx context.Context, b store.Batch) (store.Result, error) {
	g.groups.Add(1)
	g.size.Store(int64(len(b.Updates)))
	g.total.Add(int64(len(b.Updates)))
	res, wait, err := g.DB.ApplyAsync(ctx, b)
	if err != nil {
		return res, err
	}
	if gate := g.gate.Load(); gate != nil {
		g.held <- struct{}{}
		<-*gate
	}
	return res, wait()
}

// waitFor polls cond for up to a minute (no timing is asserted: the bound
// only keeps a broken build from hanging).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// Adaptive group commit: a write to an idle writer is committed and
// synced at once, one group and one fsync per write; writes that arrive
// while a commit is in flight wait for it and are then committed together,
// in one group and one fsync, each acknowledged only once it is durable.
func TestWriterAdaptiveGroupCommit(t *testing.T) {
	t.Parallel()
	sink := newGatedSink(t)
	w, err := NewWriter(sink, WriterConfig{Template: exactTemplate(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const followers = 8
	for i := range followers + 1 { // create the series first
		if _, err := w.Write(ctx, []Point{pt(fmt.Sprintf("g.s%d", i), 1, 0, "1")}); err != nil {
			t.Fatal(err)
		}
	}
	groups, syncs := sink.groups.Load(), sink.syncs.n.Load()
	for i := range 3 { // idle: one group and one fsync per write
		if res, err := w.Write(ctx, []Point{pt("g.s0", int64(i+2), 0, "1")}); err != nil || res.Accepted != 1 {
			t.Fatalf("%+v %v", res, err)
		}
	}
	if g, s := sink.groups.Load()-groups, sink.syncs.n.Load()-syncs; g != 3 || s != 3 {
		t.Errorf("3 idle writes made %d groups and %d fsyncs, want 3 and 3", g, s)
	}

	release := sink.hold()
	defer release()
	groups, syncs = sink.groups.Load(), sink.syncs.n.Load()
	first := make(chan error, 1)
	go func() {
		_, err := w.Write(ctx, []Point{pt("g.s0", 10, 0, "10")})
		first <- err
	}()
	<-sink.held // the first commit is in flight
	accepted := w.Counts().Accepted
	var wg sync.WaitGroup
	var acked atomic.Int64
	for i := range followers {
		wg.Go(func() {
			s := fmt.Sprintf("g.s%d", i+1)
			res, err := w.Write(ctx, []Point{pt(s, 10, 0, "10"), pt(s, 11, 0, "11")})
			if err != nil || res.Accepted != 2 {
				t.Errorf("write %d: %+v %v", i, res, err)
			}
			acked.Add(1)
		})
	}
	waitFor(t, "the followers' points to be buffered", func() bool { return w.Counts().Accepted == accepted+2*followers })
	if n := acked.Load(); n != 0 {
		t.Errorf("%d writes acknowledged before their commit", n)
	}
	sink.gate.Store(nil) // the followers' group goes through at once
	release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if g, s := sink.groups.Load()-groups, sink.syncs.n.Load()-syncs; g != 2 || s != 2 {
		t.Errorf("a held write and %d followers made %d groups and %d fsyncs, want 2 and 2", followers, g, s)
	}
	for i := range followers {
		if got := stored(t, sink.DB, fmt.Sprintf("g.s%d", i+1), base+9, base+11); got[base+10] != 10 || got[base+11] != 11 {
			t.Errorf("g.s%d: %v", i+1, got)
		}
	}
}

// A Graphite connection is read on while its earlier batches wait to be
// durable, and is closed cleanly only once all of them are.
func TestGraphitePipelinesBatches(t *testing.T) {
	t.Parallel()
	sink := newGatedSink(t)
	w, err := NewWriter(sink, WriterConfig{Template: exactTemplate(t)})
	if err != nil {
		t.Fatal(err)
	}
	g, err := ListenGraphite("127.0.0.1:0", w, GraphiteConfig{BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- g.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Error(err)
		}
	}()

	release := sink.hold()
	defer release() // before Serve's end: it waits for the connection
	c, err := net.Dial("tcp", g.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var b strings.Builder
	const lines = 200
	for i := 1; i <= lines; i++ {
		fmt.Fprintf(&b, "pipe.a %d %d\n", i, base+i)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	<-sink.held // the first group waits for its fsync...
	first := sink.size.Load()
	// ...while the connection is read on (into the next batches).
	waitFor(t, "lines beyond the held group to be read", func() bool { return g.Stats().Lines > first })
	if st := g.Stats(); st.ConnsDone != 0 {
		t.Fatalf("connection ended before its batches were durable: %+v", st)
	}
	release()
	c.SetReadDeadline(time.Now().Add(time.Minute))
	if _, err := c.Read(make([]byte, 1)); err == nil || !strings.Contains(err.Error(), "EOF") {
		t.Fatalf("connection ended with %v, want a clean close", err)
	}
	if got := stored(t, sink.DB, "pipe.a", base, base+lines); len(got) != lines {
		t.Errorf("%d of %d points stored at the clean close", len(got), lines)
	}
}

// TestWriterCreatesSeriesWithOneFsync: a write that creates many series
// shares one fsync among their creations and its points (it took one per
// new series, waited for one by one in the writer's commit).
func TestWriterCreatesSeriesWithOneFsync(t *testing.T) {
	t.Parallel()
	obs := &syncCounter{}
	db, err := store.Open(t.TempDir(), store.Options{Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w, err := NewWriter(db, WriterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	pts := make([]Point, n)
	for i := range pts {
		pts[i] = Point{Series: fmt.Sprintf("fsync.host%d.cpu", i), Sec: base, Value: "1", Graphite: true}
	}
	before := obs.n.Load()
	res, err := w.Write(context.Background(), pts)
	if err != nil || res.Accepted != n {
		t.Fatalf("write: %+v, %v", res, err)
	}
	if got := obs.n.Load() - before; got > 2 {
		t.Errorf("%d journal fsyncs for %d new series and their points, want at most 2", got, n)
	}
	for i := range n {
		if _, err := db.LastUpdate(fmt.Sprintf("fsync.host%d.cpu", i)); err != nil {
			t.Fatalf("series %d: %v", i, err)
		}
	}
}
