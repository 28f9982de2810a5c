package rrdcached

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"rrdash/store"
)

// committer is the group commit of single-value updates across all
// connections. Connections submit their chunks of updates; a committer
// goroutine, started when work arrives and gone when there is none,
// applies everything submitted so far in one store call, ordered by series
// (each series' updates stay in the order they arrived), and waits for
// that call's journal fsync; updates submitted meanwhile form the next
// group. Under load a group holds many updates of each series, so every
// archive is touched (and its rows written) once per group rather than
// once per update or per BATCH; when idle a lone update is applied and
// synced at once.
type committer struct {
	st  Store
	srv *Server

	mu      sync.Mutex
	pend    []pendChunk
	running bool // a committer goroutine is active

	applyMu sync.Mutex // one group applied at a time
	// groupMax bounds the updates of a group the loop applies (0: none;
	// maxGroup)
	groupMax int
	// scratch space of the group being applied (under applyMu)
	sorted  []store.Update // the group in submission order
	grouped []store.Update // the group by series
	order   []int
	grouper store.SeriesGrouper

	keys []int32 // the group's series numbers, in submission order
	// free holds applied chunks, emptied, for connections to fill again
	free chan freeChunk
	// lastSync is the newest group's durability (under applyMu)
	lastSync *groupSync
}

// groupSync is the durability of one applied group. One goroutine makes
// the group durable, after the previous group: the journal fsync, then
// done (the answers go), then the rest of the group's wait (the rows'
// write-back, under the store's lock). The connections' writers only wait
// for done: were each to call the store's wait, a writer of a group
// already durable would queue behind the next group's fsync (the
// journal's sync lock) and the next group's apply (the store's lock).
type groupSync struct {
	done chan struct{}
	err  error
}

func (g *groupSync) wait() error {
	<-g.done
	return g.err
}

// startSync starts the goroutine that makes a group durable (under
// applyMu).
func (c *committer) startSync(wait func() error) *groupSync {
	g := &groupSync{done: make(chan struct{})}
	prev := c.lastSync
	c.lastSync = g
	js, early := c.st.(journalSyncer)
	go func() {
		if prev != nil {
			<-prev.done // one fsync at a time: the later covers more
		}
		if !early {
			g.err = wait()
			close(g.done)
			return
		}
		// durable once the journal is synced: answer, then write back
		g.err = js.SyncJournal()
		close(g.done)
		if g.err != nil {
			return
		}
		if err := wait(); err != nil {
			// the updates are durable (the journal holds them); the
			// store refuses further work, and says why
			c.srv.log.Error("rrdcached: writing back durable updates", "error", err)
		}
	}()
	return g
}

// journalSyncer is a Store that can make every update it applied durable
// without writing back its rows (store.DB.SyncJournal).
type journalSyncer interface {
	SyncJournal() error
}

// freeChunk is an applied chunk's room.
type freeChunk struct {
	ups  []store.Update
	keys []int32
	nums []float64
}

// firstChunk is the room of a new chunk. A BATCH's chunk ends with the
// BATCH (commonly hundreds to a few thousand lines) and a window of them
// is in flight per connection: at maxChunk each, a one-series stream of
// BATCHes of 1,000 allocated ~5 MB of chunks in its first 30 ms, and that
// drew a garbage collection into its busiest moment. A chunk grows past
// firstChunk (to maxChunk) once, and keeps its room when recycled.
const firstChunk = 1024

// newChunk is an empty chunk, its series numbers and its numbers' room:
// an applied one when there is one.
func (c *committer) newChunk() freeChunk {
	select {
	case ch := <-c.free:
		clear(ch.ups) // here, on the connection's goroutine
		return freeChunk{ch.ups[:0], ch.keys, ch.nums}
	default:
		return freeChunk{make([]store.Update, 0, firstChunk), make([]int32, 0, firstChunk), nil}
	}
}

// recycle hands an applied chunk back (its updates are no longer read).
func (c *committer) recycle(ch pendChunk) {
	if cap(ch.ups) > 2*maxChunk || cap(ch.keys) > 2*maxChunk || cap(ch.nums) > 2*maxChunk {
		return // grown by a caller beyond the chunks' bound: not kept
	}
	select {
	case c.free <- freeChunk{ch.ups, ch.keys[:0], ch.nums[:0]}: // newChunk clears the updates
	default:
	}
}

// pendChunk is one submitted chunk and the ticket that answers it.
type pendChunk struct {
	ups  []store.Update
	keys []int32   // the series' number of each update (-1: none); nil: none known
	nums []float64 // the room of the updates' Nums (hotArena.fill)
	t    *ticket
	// only is the series number of every update of the chunk plus one
	// (0: several series, or one not numbered): a group of such chunks
	// of one series is in order as it is (one connection's single series
	// took ~80 instructions an update to group and to touch)
	only int32
}

// onlyKey is pendChunk.only for keys.
func onlyKey(keys []int32, n int) int32 {
	if len(keys) != n || n == 0 || keys[0] < 0 {
		return 0
	}
	k := keys[0]
	for _, x := range keys {
		if x != k {
			return 0
		}
	}
	return k + 1
}

// ticket follows one submitted chunk: once applied is closed, errs holds
// the refusals by index within the chunk, fail the answer to all of them
// when the store call failed, and wait makes the chunk durable.
type ticket struct {
	applied chan struct{}
	errs    map[int]string
	fail    string // the store call failed: every update's answer
	wait    func() error
	sync    *groupSync // wait's group (nil: none)
}

// ready reports that await and wait would not block.
func (t *ticket) ready() bool {
	select {
	case <-t.applied:
	default:
		return false
	}
	if t.sync == nil {
		return true
	}
	select {
	case <-t.sync.done:
		return true
	default:
		return false
	}
}

// await returns once the chunk is applied; the answer is then the
// ticket's errors, due once wait returns nil.

func (t *ticket) await() { <-t.applied }

// submit hands a chunk to the group commit, which owns it from then on.
func (c *committer) submit(chunk []store.Update, keys []int32, nums []float64) *ticket {
	t := &ticket{applied: make(chan struct{})}
	only := onlyKey(keys, len(chunk)) // here, on the connection's goroutine
	c.mu.Lock()
	c.pend = append(c.pend, pendChunk{chunk, keys, nums, t, only})
	start := !c.running
	c.running = true
	c.mu.Unlock()
	if start {
		go c.loop()
	}
	return t
}

// maxGroup bounds the updates of a group the committer loop applies. An
// unbounded group took every chunk waiting: when the connections' readers
// were ahead, the group was most of a client's window, applied while the
// readers sat idle (the client waits for answers before it sends more),
// and answered at once, after which the readers parsed the next window
// while the loop sat idle. Groups of a few BATCHes are answered one after
// the other, so clients keep sending while earlier groups are applied:
// the readers' parsing and the loop's applying overlap on two cores.
const maxGroup = 4096

// loop applies groups until none is waiting. A group is applied while
// the previous group's fsync runs, one fsync at a time: the CPU work of
// one overlaps the I/O of the other, and the updates submitted meanwhile
// form the next group. When a whole group (groupMax updates) is already
// waiting, it is applied without waiting for that fsync: waiting would
// cap the throughput at two bounded groups per fsync, and the next fsync
// covers every group applied before it starts.
func (c *committer) loop() {
	var syncing *groupSync // the previous group's
	for {
		g := c.apply(c.groupMax)
		if syncing != nil && (g == nil || !c.fullGroupWaiting()) {
			<-syncing.done
		}
		syncing = nil
		if g == nil {
			c.mu.Lock()
			if len(c.pend) == 0 {
				c.running = false
				c.mu.Unlock()
				return
			}
			c.mu.Unlock()
			continue
		}
		syncing = g
	}
}

// fullGroupWaiting reports whether the chunks waiting hold a bounded
// group's updates.
func (c *committer) fullGroupWaiting() bool {
	if c.groupMax <= 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, ch := range c.pend {
		if n += len(ch.ups); n >= c.groupMax {
			return true
		}
	}
	return false
}

// applyNow applies every update submitted so far (a connection calls it
// before a command that must see its updates) and returns the group's
// durability, nil when nothing was pending or the store refused the
// group.
func (c *committer) applyNow() *groupSync { return c.apply(0) }

// apply applies the oldest submitted chunks, as many as hold max updates
// (at least one chunk; 0: every chunk), as one group.
func (c *committer) apply(max int) *groupSync {
	c.applyMu.Lock()
	defer c.applyMu.Unlock()
	c.mu.Lock()
	chunks := c.pend
	if max > 0 {
		n, k := 0, 0
		for k < len(chunks) && (k == 0 || n+len(chunks[k].ups) <= max) {
			n += len(chunks[k].ups)
			k++
		}
		chunks = chunks[:k:k]
	}
	c.pend = c.pend[len(chunks):]
	if len(c.pend) == 0 {
		c.pend = nil
	}
	c.mu.Unlock()
	if len(chunks) == 0 {
		return nil
	}
	// the group in submission order: chunk k's update i is at base[k]+i
	n := 0
	base := make([]int, len(chunks))
	for k, ch := range chunks {
		base[k] = n
		n += len(ch.ups)
	}
	only := chunks[0].only
	for _, ch := range chunks {
		if ch.only != only {
			only = 0
		}
	}
	// a group of one chunk is that chunk (no 88-byte copy an update)
	all, keys, keyed := chunks[0].ups, chunks[0].keys, only == 0
	own := len(chunks) > 1 // all is c.sorted's room
	if own {
		all, keys = slices.Grow(c.sorted[:0], n), c.keys[:0]
		for _, ch := range chunks {
			all = append(all, ch.ups...)
			if keyed = keyed && len(ch.keys) == len(ch.ups) && !slices.Contains(ch.keys, -1); keyed {
				keys = append(keys, ch.keys...)
			}
		}
		c.keys = keys[:0]
	} else {
		keyed = keyed && len(keys) == len(all) && !slices.Contains(keys, -1)
	}
	// group by series, stably: a store call touches each archive once.
	// order[j] is the submission index of the j-th update applied (nil:
	// j itself). The series' numbers spare a map look-up per update.
	var sorted []store.Update
	var order []int
	if only != 0 {
		sorted = all // one series: grouped already
	} else if keyed {
		sorted, order = c.grouper.GroupByKey(all, keys, c.grouped, c.order)
	} else {
		sorted, order = c.grouper.Group(all, c.grouped, c.order)
	}
	res, wait, err := c.st.ApplyAsync(context.Background(), store.Batch{Updates: sorted})
	s := c.srv
	for _, ue := range res.Errors {
		at := ue.Index
		if order != nil {
			at = order[ue.Index]
		}
		k, _ := slices.BinarySearch(base, at+1)
		k-- // the chunk holding submission index at
		ch := chunks[k]
		u := all[at]
		msg := fmt.Sprintf("RRD Error: %v\n", ue)
		if last, ok := store.TooOldLast(ue); ok {
			// the last update when it was refused, not after the group
			msg = fmt.Sprintf("illegal attempt to update using time %f when last update time is %f (minimum one second step)\n",
				float64(u.Time)+float64(u.Usec)/1e6, float64(last))
		} else if errors.Is(ue, store.ErrTooOld) {
			msg = tooOld(s, u.Series, float64(u.Time)+float64(u.Usec)/1e6).msg
		}
		if ch.t.errs == nil {
			ch.t.errs = map[int]string{}
		}
		ch.t.errs[at-base[k]] = msg
	}
	if err == nil {
		s.written.Add(int64(res.Applied))
		s.dataSets.Add(int64(res.Applied))
		if only != 0 {
			s.touchGrouped(sorted[:1])
		} else {
			s.touchGrouped(sorted)
		}
	}
	fail := ""
	var g *groupSync
	if err != nil {
		fail = fmt.Sprintf("RRD Error: %v\n", err)
	} else {
		g = c.startSync(wait)
	}
	for _, ch := range chunks {
		ch.t.fail = fail
		if g != nil {
			ch.t.wait, ch.t.sync = g.wait, g
		}
		close(ch.t.applied)
	}
	if len(sorted) > 0 && &sorted[0] != &all[0] {
		clear(sorted)
		c.grouped = sorted[:0]
	}
	if own {
		clear(all)
		c.sorted = all[:0]
	}
	// recycled once applied: the updates' Nums are in the chunks' room,
	// copied or not
	for _, ch := range chunks {
		c.recycle(ch)
	}
	if order != nil {
		c.order = order[:0]
	}
	return g
}
