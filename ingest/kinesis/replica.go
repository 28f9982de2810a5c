package kinesis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"rrdash/ingest/kinesis/kds"
	"rrdash/store"
	"rrdash/store/cluster"
)

// ReplicaStore is what a Replica needs of the store; *store.DB has it.
type ReplicaStore interface {
	EnsureAsync(name string, spec store.Spec, meta map[string]string) (created bool, wait func() error, err error)
	Apply(ctx context.Context, b store.Batch) (store.Result, error)
	Position(source string) []byte
}

var _ ReplicaStore = (*store.DB)(nil)

// Replica builds a cluster node's archives from the cluster log: it reads
// the shards its Leaser grants (parents before children) and applies each
// record's entry (cluster.Entry) to the store in shard order, with the
// shard's position in the same store batch, so a record is applied
// exactly once per replica across kill -9. No grace window: the writing
// node already ordered each series' points, and applying in shard order
// makes every replica that reads the same records hold the same archives.
type Replica struct {
	c      *Consumer // for the Kinesis client, listing and reading shards
	db     ReplicaStore
	leaser Leaser
	log    *slog.Logger

	batches chan shardBatch
	nudge   chan struct{}
	handoff func(ctx context.Context, shard string) (*cluster.ShardSnapshot, error)
	inherit func(ctx context.Context, parent string, rng cluster.ShardRange) (*cluster.ShardSnapshot, error)
	bucket  SnapshotBucket
	every   time.Duration
	member  func(ctx context.Context) (func(shard, name string) bool, error)

	// applyMu is held while a batch is applied and while a snapshot is
	// copied, so a snapshot's series and position agree.
	applyMu sync.Mutex

	mu     sync.Mutex
	shards map[string]*replicaShard
	counts ReplicaCounts

	// pend is the apply being gathered from GetRecords answers (Run's
	// goroutine only); window bounds it.
	pend   pendingApply
	window applyWindow
	known  map[string]struct{} // series the store holds (Run's goroutine)
}

// ReplicaCounts are a replica's running totals.
type ReplicaCounts struct {
	Records int64 // records read
	Applied int64 // updates applied
	Refused int64 // updates the store refused (e.g. not newer than the series' last update)
	Bad     int64 // records that are not cluster log entries
	// HandedOver counts shards taken over from a snapshot; Replayed those
	// read from the stream's oldest record for want of one.
	HandedOver, Replayed int64
	// Inherited counts parent shards whose series a child shard's first
	// owner here took from the node that read the parent to its end;
	// ParentsReplayed those it read from the stream itself for want of one.
	Inherited, ParentsReplayed int64
	// Misrouted counts entries skipped because their series is not in the
	// shard's hash-key range: a writer aggregated them with a stale shard
	// map during a reshard, and puts them again to their own shard.
	Misrouted int64
}

// SnapshotStore is what shard snapshots need of the store; *store.DB has it.
type SnapshotStore interface {
	List(pattern string) ([]string, error)
	ExportSeries(name string) (*store.SeriesState, error)
	RestoreSeries(name string, s *store.SeriesState) error
}

var _ SnapshotStore = (*store.DB)(nil)

type replicaShard struct {
	info     shardInfo
	pos      string // last applied sequence number; "" none
	ended    bool   // read to its end and durable so
	run      *runningShard
	caughtUp bool // read to the tip since the lease was taken
	synced   bool // given to the leaser's SyncShards
	lastCopy time.Time
}

// endMark is the position of a shard read to its end.
const endMark = "SHARD_END"

// NewReplica reads cfg.Stream into db; leaser nil reads every shard.
func NewReplica(cfg Config, db ReplicaStore, leaser Leaser, log *slog.Logger) (*Replica, error) {
	if cfg.DeadLetterPath == "" {
		cfg.DeadLetterPath = "-" // the replica has no dead letters: a bad record is counted and logged
	}
	c, err := New(cfg, nil, Options{Logger: log, Lookup: func(string) (int64, bool, error) { return 0, false, nil }, Leaser: leaser})
	if err != nil {
		return nil, err
	}
	return &Replica{c: c, db: db, leaser: c.leaser, log: c.log, batches: make(chan shardBatch, 4), nudge: make(chan struct{}, 1),
		shards: map[string]*replicaShard{}, window: defaultApplyWindow}, nil
}

// EnableHandoff makes a shard this replica has no position in start from
// a snapshot that fetch finds (the old owner's, or another group's
// replica's), restored into the store, instead of the stream's oldest
// record. Call before Run; the store must be a SnapshotStore.
func (r *Replica) EnableHandoff(fetch func(ctx context.Context, shard string) (*cluster.ShardSnapshot, error)) error {
	if _, ok := r.db.(SnapshotStore); !ok {
		return errors.New("cluster: this store cannot restore snapshots")
	}
	r.handoff = fetch
	return nil
}

// EnableInherit makes the first owner of a child shard (after a split or
// a merge) take its part of each parent's series, as they were at the
// parent's end, before it reads the child: fetch finds them on the node
// that read the parent to its end (rows written before a reshard stay
// with the series, wherever its new shard is read). Without an answer the
// replica reads the parent from the stream itself, for the child's part.
// Call before Run; the store must be a SnapshotStore.
func (r *Replica) EnableInherit(fetch func(ctx context.Context, parent string, rng cluster.ShardRange) (*cluster.ShardSnapshot, error)) error {
	if _, ok := r.db.(SnapshotStore); !ok {
		return errors.New("cluster: this store cannot restore snapshots")
	}
	r.inherit = fetch
	return nil
}

// SnapshotBucket keeps shard snapshots in object storage
// (objstore.Bucket).
type SnapshotBucket interface {
	Put(ctx context.Context, snap *cluster.ShardSnapshot) error
	Newest(ctx context.Context, shard string) (*cluster.ShardSnapshot, error)
}

// EnableBucket makes the replica put a snapshot of every shard it serves
// into b every interval, and take a shard over from b's newest snapshot
// when no other node has a position in it. member tells which shard a
// series belongs to (the stream's hash-key ranges). Call before Run, after
// EnableHandoff.
func (r *Replica) EnableBucket(b SnapshotBucket, every time.Duration, member func(ctx context.Context) (func(shard, name string) bool, error)) error {
	if _, ok := r.db.(SnapshotStore); !ok {
		return errors.New("cluster: this store cannot make snapshots")
	}
	if every <= 0 {
		return fmt.Errorf("cluster: snapshot interval %v: want a positive duration", every)
	}
	r.bucket, r.every, r.member = b, every, member
	return nil
}

// snapshotLoop puts the served shards' snapshots into the bucket.
func (r *Replica) snapshotLoop(ctx context.Context) {
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		member, err := r.member(ctx)
		if err != nil {
			r.log.Warn("cluster: no snapshots this round", "err", err)
			continue
		}
		for _, shard := range r.Reading() {
			if !r.Serving(shard) {
				continue
			}
			snap, err := r.Snapshot(ctx, shard, func(name string) bool { return member(shard, name) })
			if err == nil && snap.Position != "" {
				err = r.bucket.Put(ctx, snap)
			}
			if err != nil && ctx.Err() == nil {
				r.log.Warn("cluster: shard snapshot not stored", "shard", shard, "err", err)
			}
		}
	}
}

// Position is the durable position of shard in the store ("" none).
func (r *Replica) Position(shard string) string {
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	p := string(r.db.Position(r.source(shard)))
	if p == endMark {
		return ""
	}
	return p
}

// Snapshot copies the store's series of shard at its durable position,
// holding the applying meanwhile. nil when the store has no position in it.
// The series are those in the shard's own hash-key range when the replica
// knows it (inShard otherwise): a caller's map of the open shards no
// longer holds a shard closed by a reshard, whose series must still all
// go with its position.
func (r *Replica) Snapshot(_ context.Context, shard string, inShard func(string) bool) (*cluster.ShardSnapshot, error) {
	r.mu.Lock()
	if sh := r.shards[shard]; sh != nil && sh.info.rng.Start != nil {
		inShard = sh.info.rng.Hash().Contains
	}
	r.mu.Unlock()
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	pos := string(r.db.Position(r.source(shard)))
	if pos == "" || pos == endMark {
		return &cluster.ShardSnapshot{Shard: shard}, nil
	}
	return r.copySeries(shard, pos, inShard)
}

// Ended copies the store's series that in accepts if this replica read
// shard to its end (nil otherwise): the parent's part a child inherits.
func (r *Replica) Ended(_ context.Context, shard string, in func(string) bool) (*cluster.ShardSnapshot, error) {
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	if string(r.db.Position(r.source(shard))) != endMark {
		return nil, nil
	}
	return r.copySeries(shard, endMark, in)
}

// copySeries: called with applyMu held.
func (r *Replica) copySeries(shard, pos string, in func(string) bool) (*cluster.ShardSnapshot, error) {
	ss, ok := r.db.(SnapshotStore)
	if !ok {
		return nil, errors.New("cluster: this store cannot make snapshots")
	}
	names, err := ss.List("")
	if err != nil {
		return nil, fmt.Errorf("cluster: snapshot of %s: %w", shard, err)
	}
	snap := &cluster.ShardSnapshot{Shard: shard, Position: pos}
	for _, name := range names {
		if !in(name) {
			continue
		}
		st, err := ss.ExportSeries(name)
		if err != nil {
			return nil, fmt.Errorf("cluster: snapshot of %s: %w", shard, err)
		}
		snap.Series = append(snap.Series, cluster.NamedState{Name: name, State: st})
	}
	return snap, nil
}

// restore applies a snapshot: its series, then its position (a crash in
// between restores it again at the next takeover).
func (r *Replica) restore(ctx context.Context, snap *cluster.ShardSnapshot) error {
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	if err := r.restoreSeries(snap); err != nil {
		return err
	}
	if _, err := r.db.Apply(ctx, store.Batch{Positions: map[string][]byte{r.source(snap.Shard): []byte(snap.Position)}}); err != nil {
		return fmt.Errorf("cluster: restore shard %s: position: %w", snap.Shard, err)
	}
	return nil
}

// restoreSeries: called with applyMu held.
func (r *Replica) restoreSeries(snap *cluster.ShardSnapshot) error {
	ss := r.db.(SnapshotStore)
	for _, s := range snap.Series {
		if err := ss.RestoreSeries(s.Name, s.State); err != nil {
			return fmt.Errorf("cluster: restore shard %s: %w", snap.Shard, err)
		}
	}
	return nil
}

func (r *Replica) source(shard string) string { return "cluster:" + r.c.cfg.Stream + ":" + shard }

// Counts returns the running totals.
func (r *Replica) Counts() ReplicaCounts {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts
}

// Serving tells whether this replica reads shard and has read it to its
// tip since it took the lease: its archives of the shard's series are
// then current, and reads of them may be answered here.
func (r *Replica) Serving(shard string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.shards[shard]
	return s != nil && s.run != nil && s.caughtUp
}

// Reading lists the shards read here.
func (r *Replica) Reading() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for id, s := range r.shards {
		if s.run != nil {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Run reads until ctx ends (nil) or the store fails.
func (r *Replica) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lists := make(chan []shardInfo, 1)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		r.mu.Lock()
		runs := make([]*runningShard, 0, len(r.shards))
		for _, s := range r.shards {
			if s.run != nil {
				runs = append(runs, s.run)
			}
		}
		r.mu.Unlock()
		for _, run := range runs {
			<-run.done
		}
	}()
	wg.Go(func() { r.c.listLoop(ctx, r.nudge, lists) })
	if r.bucket != nil {
		wg.Go(func() { r.snapshotLoop(ctx) })
	}
	window := time.NewTimer(time.Hour)
	defer window.Stop()
	for {
		// the pending apply is due at its deadline (ApplyWindow)
		var due <-chan time.Time
		if !r.pend.deadline.IsZero() {
			window.Reset(time.Until(r.pend.deadline))
			due = window.C
		}
		select {
		case <-ctx.Done():
			return nil
		case <-due:
			if err := r.flush(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		case shards := <-lists:
			// a shard starts reading from its position: make it current
			if err := r.flush(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			if err := r.onShards(ctx, shards); err != nil {
				return err
			}
		case b := <-r.batches:
			if err := r.onBatch(ctx, b); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
	}
}

func (r *Replica) onShards(ctx context.Context, shards []shardInfo) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range shards {
		if sh := r.shards[s.id]; sh != nil {
			sh.info = s
			continue
		}
		pos := string(r.db.Position(r.source(s.id)))
		sh := &replicaShard{info: s, pos: pos}
		if pos == endMark {
			sh.pos, sh.ended = "", true
		}
		r.shards[s.id] = sh
	}
	if syncer, ok := r.leaser.(ShardSyncer); ok {
		var add []ShardLineage // new shards only: each costs the lease table writes
		for _, s := range shards {
			if !r.shards[s.id].synced {
				add = append(add, ShardLineage{ID: s.id, Parents: []string{s.parent, s.adjacent}})
			}
		}
		if len(add) > 0 {
			if err := syncer.SyncShards(ctx, add); err != nil {
				r.log.Warn("cluster: shard leases not created; retried at the next listing", "err", err)
			} else {
				for _, s := range add {
					r.shards[s.ID].synced = true
				}
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(r.shards)) {
		sh := r.shards[id]
		if sh.ended || sh.run != nil || !r.parentDone(sh.info.parent) || !r.parentDone(sh.info.adjacent) {
			continue
		}
		lease, ok, err := r.leaser.Acquire(ctx, id)
		if err != nil {
			r.log.Warn("cluster: lease failed", "shard", id, "err", err)
			continue
		}
		if !ok {
			continue
		}
		rctx, cancel := context.WithCancel(ctx)
		run := &runningShard{cancel: cancel, lease: lease, done: make(chan struct{})}
		sh.run, sh.caughtUp = run, false
		pos := sh.pos
		go func() {
			defer close(run.done)
			if pos == "" && r.handoff != nil {
				pos = r.takeOver(rctx, id)
			}
			// A child shard read from its start here: its series' rows
			// before the reshard are the parents'; take them first (reads
			// of the shard answer 503 meanwhile: it is not caught up).
			if pos == "" && r.inherit != nil && !r.inheritParents(rctx, id) {
				return
			}
			// Without a position the replica replays the shard from its
			// oldest record: every record carries its series'
			// definition, so the series' state is rebuilt as far back as
			// the stream's retention reaches.
			it, after := kds.ShardIteratorTypeTrimHorizon, ""
			if pos != "" {
				it, after = kds.ShardIteratorTypeAfterSequenceNumber, pos
			}
			r.log.Info("cluster: reading shard", "shard", id, "from", string(it), "after", after)
			r.c.readShard(rctx, lease, id, it, after, r.batches)
			select {
			case <-lease.Lost():
				select {
				case r.batches <- shardBatch{shard: id, lost: run}:
				case <-ctx.Done():
				}
			default:
			}
		}()
	}
	return nil
}

// takeOver fetches and restores a snapshot of shard; it returns the
// position to read on from ("" when there is none: replay the shard).
func (r *Replica) takeOver(ctx context.Context, shard string) string {
	start := time.Now()
	snap, err := r.handoff(ctx, shard)
	from := "a peer"
	if (err != nil || snap == nil) && r.bucket != nil {
		// no node has the shard: the group's last snapshot in object storage
		if err != nil {
			r.log.Warn("cluster: no snapshot from the other nodes; trying object storage", "shard", shard, "err", err)
		}
		snap, err = r.bucket.Newest(ctx, shard)
		from = "object storage"
	}
	if err == nil && snap != nil {
		err = r.restore(ctx, snap)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err != nil:
		r.counts.Replayed++
		r.log.Warn("cluster: no shard snapshot; replaying the shard from its oldest record", "shard", shard, "err", err)
		return ""
	case snap == nil:
		r.counts.Replayed++
		r.log.Info("cluster: no node has a position in the shard; reading it from its oldest record", "shard", shard)
		return ""
	}
	r.counts.HandedOver++
	if sh := r.shards[shard]; sh != nil {
		sh.pos = snap.Position
	}
	r.log.Info("cluster: shard state handed over", "shard", shard, "from", from, "series", len(snap.Series), "position", snap.Position, "took", time.Since(start))
	return snap.Position
}

// parentDone: called with r.mu held.
func (r *Replica) parentDone(id string) bool {
	if id == "" {
		return true
	}
	sh, ok := r.shards[id]
	if !ok || sh.ended {
		return true
	}
	es, ok := r.leaser.(EndedShards)
	return ok && es.ShardEnded(id)
}
