package kinesis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	kds "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"rrdash/store"
)

// Store is what the consumer needs of the store; *store.DB satisfies it.
type Store interface {
	EnsureWithMeta(name string, spec store.Spec, meta map[string]string) (created bool, err error)
	Apply(ctx context.Context, b store.Batch) (store.Result, error)
	Position(source string) []byte
}

// Consumer reads every shard of a stream into the store.
type Consumer struct {
	cfg    Config
	db     Store
	lookup SeriesLookup
	client *kds.Client
	log    *slog.Logger
	leaser Leaser
	cps    Checkpointer
	dec    *Decoder

	mu    sync.Mutex
	stats Stats
}

// Stats is a snapshot of the consumer's own metrics.
type Stats struct {
	Started          time.Time
	Counts           Counts
	RecordsPerSecond float64 // over the last flush intervals
	Buffered         int     // points in the grace buffer
	Shards           map[string]ShardStats
	CaughtUp         bool // every shard read to its tip, nothing buffered
}

// ShardStats describes one shard being read.
type ShardStats struct {
	MillisBehindLatest int64
	AtTip              bool // the last GetRecords returned nothing
	Finished           bool
}

// Options are the parts of a Consumer other than its configuration.
type Options struct {
	Logger *slog.Logger
	// Lookup returns a series' last update; required (store.DB's
	// LastUpdate is wrapped by cmd, telling "no such series" apart).
	Lookup       SeriesLookup
	Leaser       Leaser       // default: LocalLeaser
	Checkpointer Checkpointer // default: StoreCheckpointer on db
}

// New checks the configuration and builds a consumer.
func New(cfg Config, db Store, opt Options) (*Consumer, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if opt.Lookup == nil {
		return nil, errors.New("kinesis: no series lookup")
	}
	dec, err := NewDecoder(cfg.Decoder)
	if err != nil {
		return nil, fmt.Errorf("kinesis: %w", err)
	}
	c := &Consumer{cfg: cfg, db: db, lookup: opt.Lookup, log: opt.Logger, leaser: opt.Leaser, cps: opt.Checkpointer, dec: dec}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.leaser == nil {
		c.leaser = NewLocalLeaser()
	}
	if c.cps == nil {
		c.cps = StoreCheckpointer{Store: db, Stream: cfg.Stream}
	}
	c.client = NewClient(cfg)
	return c, nil
}

// NewClient builds a Kinesis client from the configuration without the
// SDK's shared-config loading (which fails with a custom HTTP client when
// AWS_CA_BUNDLE is set, and reads files we do not want read).
func NewClient(cfg Config) *kds.Client {
	creds := cfg.Credentials
	if creds == nil {
		creds = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "rrdash", SecretAccessKey: "rrdash", Source: "rrdash static"}, nil
		})
	}
	o := kds.Options{Region: cfg.Region, Credentials: aws.NewCredentialsCache(creds)}
	if cfg.Endpoint != "" {
		o.BaseEndpoint = aws.String(cfg.Endpoint)
	}
	if cfg.HTTPClient != nil {
		o.HTTPClient = cfg.HTTPClient
	}
	return kds.New(o)
}

// Stats returns a snapshot of the metrics.
func (c *Consumer) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Counts.Bad = maps.Clone(s.Counts.Bad)
	s.Shards = maps.Clone(s.Shards)
	return s
}

type shardInfo struct {
	id, parent, adjacent string
	closed               bool
}

type shardBatch struct {
	shard        string
	records      []Record
	millisBehind int64
	end          bool
	err          error
	lost         *runningShard // its lease was lost: the shard is no longer read here
}

type runningShard struct {
	cancel context.CancelFunc
	lease  Lease
	done   chan struct{}
}

// run state owned by the applier goroutine.
type runState struct {
	c          *Consumer
	tr         *tracker
	dl         *deadLetterFile
	known      map[string]shardInfo
	running    map[string]*runningShard
	ended      map[string]Lease // read to the end; lease released once finished is durable
	synced     map[string]bool  // shards given to the leaser's SyncShards
	shardStats map[string]ShardStats
	fresh      bool // no checkpoint at the first listing: StartAt applies
	listed     bool
	batches    chan shardBatch
	nudge      chan struct{}
	caughtUp   bool
	rate       rateMeter
	lastSnap   time.Time // when this run last saved the grace buffer
}

// Run consumes until ctx is done (returns nil) or an error that needs a
// restart (store or dead-letter file failing). Everything durable when it
// returns stays consistent; a kill -9 is handled the same way.
func (c *Consumer) Run(ctx context.Context) error {
	dl, err := openDeadLetters(c.cfg.DeadLetterPath)
	if err != nil {
		return fmt.Errorf("kinesis: %w", err)
	}
	defer dl.Close()
	from, err := c.cps.DeadLetterOffset()
	if err != nil {
		return fmt.Errorf("kinesis: %w", err)
	}
	tr := newTracker(c.dec, c.cfg.Grace, c.cfg.IdleFlush, c.lookup)
	known, err := dl.Scan(from, c.log, tr.rememberDeadLetter)
	if err != nil {
		return fmt.Errorf("kinesis: %w", err)
	}
	restored, err := c.restoreBuffer(tr)
	if err != nil {
		return fmt.Errorf("kinesis: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rs := &runState{
		c: c, tr: tr, dl: dl,
		known: map[string]shardInfo{}, running: map[string]*runningShard{}, ended: map[string]Lease{}, synced: map[string]bool{},
		shardStats: map[string]ShardStats{},
		batches:    make(chan shardBatch, 4),
		nudge:      make(chan struct{}, 1),
	}
	c.mu.Lock()
	c.stats = Stats{Started: time.Now(), Counts: Counts{Bad: map[Reason]int64{}}}
	c.mu.Unlock()
	c.log.Info("kinesis: consumer starting", "stream", c.cfg.Stream, "endpoint", c.cfg.Endpoint,
		"dead_letter", c.cfg.DeadLetterPath, "dead_letters_known", known, "buffered_points_restored", restored, "grace", c.cfg.Grace)
	if _, local := c.leaser.(*LocalLeaser); local {
		// Nothing tells a second consumer of the stream that this one exists.
		c.log.Warn("kinesis: this consumer reads the whole stream; consumers do not coordinate, so every other consumer of it (another data directory or host) reads all of it too",
			"stream", c.cfg.Stream)
	}

	lists := make(chan []shardInfo, 1)
	var wg sync.WaitGroup
	defer func() {
		// Readers and the lister stop on ctx; wait so none outlives Run.
		cancel()
		wg.Wait()
		for _, r := range rs.running {
			<-r.done
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.listLoop(ctx, rs.nudge, lists)
	}()

	tick := time.NewTicker(c.cfg.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case shards := <-lists:
			if err := rs.onShards(ctx, shards); err != nil {
				return err
			}
		case b := <-rs.batches:
			if err := rs.onBatch(b); err != nil {
				return err
			}
		case <-tick.C:
			if err := rs.flush(ctx, false); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
	}
}

// restoreBuffer registers the shards of the saved grace buffer snapshot
// with their positions and puts its points back; it returns how many.
func (c *Consumer) restoreBuffer(tr *tracker) (int64, error) {
	snap, err := decodeBuffer(c.cps.Buffer())
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", c.cfg.Stream, err)
	}
	for id := range snap {
		cp, err := c.cps.Load(id)
		if err != nil {
			return 0, err
		}
		tr.addShard(id, cp)
	}
	if err := tr.restore(snap, time.Now()); err != nil {
		return 0, fmt.Errorf("stream %s: %w", c.cfg.Stream, err)
	}
	return tr.counts.Points, nil
}

// listLoop lists shards every ListInterval, and at once when nudged (a
// shard ended: its children may be new). Failures are logged and retried:
// a stream that is briefly unreachable is not a reason to stop.
func (c *Consumer) listLoop(ctx context.Context, nudge <-chan struct{}, out chan<- []shardInfo) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-nudge:
		}
		shards, err := c.listShards(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.log.Warn("kinesis: listing shards failed; retrying", "stream", c.cfg.Stream, "err", err)
			t.Reset(min(c.cfg.ListInterval, 5*time.Second))
			continue
		}
		select {
		case out <- shards:
		case <-ctx.Done():
			return
		}
		t.Reset(c.cfg.ListInterval)
	}
}

func (c *Consumer) listShards(ctx context.Context) ([]shardInfo, error) {
	var out []shardInfo
	in := &kds.ListShardsInput{StreamName: aws.String(c.cfg.Stream)}
	for {
		res, err := c.client.ListShards(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("ListShards %s: %w", c.cfg.Stream, err)
		}
		for _, s := range res.Shards {
			out = append(out, shardInfo{
				id: aws.ToString(s.ShardId), parent: aws.ToString(s.ParentShardId), adjacent: aws.ToString(s.AdjacentParentShardId),
				closed: s.SequenceNumberRange != nil && s.SequenceNumberRange.EndingSequenceNumber != nil,
			})
		}
		if res.NextToken == nil {
			return out, nil
		}
		in = &kds.ListShardsInput{NextToken: res.NextToken}
	}
}

// onShards registers new shards and starts readers for those whose parents
// have been read to their end: a series' points then reach the tracker in
// the order they were put.
func (rs *runState) onShards(ctx context.Context, shards []shardInfo) error {
	c := rs.c
	first := !rs.listed
	for _, s := range shards {
		if _, ok := rs.known[s.id]; ok {
			rs.known[s.id] = s
			continue
		}
		rs.known[s.id] = s
		cp, err := c.cps.Load(s.id)
		if err != nil {
			return fmt.Errorf("kinesis: %w", err)
		}
		rs.tr.addShard(s.id, cp)
	}
	if syncer, ok := c.leaser.(ShardSyncer); ok {
		var add []ShardLineage
		for _, s := range shards {
			if !rs.synced[s.id] {
				add = append(add, ShardLineage{ID: s.id, Parents: []string{s.parent, s.adjacent}})
			}
		}
		if len(add) > 0 {
			if err := syncer.SyncShards(ctx, add); err != nil {
				c.log.Warn("kinesis: shard leases not created; retried at the next listing", "err", err)
			} else {
				for _, s := range add {
					rs.synced[s.ID] = true
				}
			}
		}
	}
	if first {
		rs.listed = true
		rs.tr.forgetGoneShards(rs.known)
		rs.fresh = true
		for _, s := range shards {
			if sh := rs.tr.shards[s.id]; sh.pos.CP != "" || sh.pos.Read != "" || sh.pos.Buf != "" || sh.pos.End {
				rs.fresh = false
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(rs.known)) {
		s := rs.known[id]
		sh := rs.tr.shards[id]
		if sh.finished || sh.ended || rs.running[id] != nil {
			continue
		}
		if !rs.parentDone(s.parent) || !rs.parentDone(s.adjacent) {
			continue
		}
		lease, ok, err := c.leaser.Acquire(ctx, id)
		if err != nil {
			c.log.Warn("kinesis: lease failed", "shard", id, "err", err)
			continue
		}
		if !ok {
			continue
		}
		// The journal is the source of truth when it has a position for
		// the shard: it was saved in the same batch as the points and the
		// grace buffer it covers. Only when it has none does a checkpoint
		// another worker left in the shared lease say where to start.
		if sc, ok := lease.(SharedCheckpoint); ok && sh.pos == (Checkpoint{}) && isSeqNumber(sc.TakenAt()) {
			rs.tr.startAfter(id, sc.TakenAt())
			c.log.Info("kinesis: no journal position for the shard; starting after the lease's checkpoint", "shard", id, "checkpoint", sc.TakenAt())
		}
		var it types.ShardIteratorType
		var after string
		switch {
		case sh.pos.resumeAfter() != "":
			it, after = types.ShardIteratorTypeAfterSequenceNumber, sh.pos.resumeAfter()
		case first && rs.fresh && c.cfg.StartAt == Latest:
			if s.closed { // nothing will ever be put after LATEST
				rs.tr.endShard(id)
				rs.ended[id] = lease
				continue
			}
			it = types.ShardIteratorTypeLatest
		default:
			it = types.ShardIteratorTypeTrimHorizon
		}
		rctx, cancel := context.WithCancel(ctx)
		r := &runningShard{cancel: cancel, lease: lease, done: make(chan struct{})}
		rs.running[id] = r
		c.log.Info("kinesis: reading shard", "shard", id, "from", string(it), "after", after, "replay_to", sh.replay)
		go func() {
			defer close(r.done)
			c.readShard(rctx, lease, id, it, after, rs.batches)
			select {
			case <-lease.Lost(): // another consumer took it: stop counting it as read here
				select {
				case rs.batches <- shardBatch{shard: id, lost: r}:
				case <-ctx.Done():
				}
			default:
			}
		}()
	}
	return nil
}

// parentDone: no parent, a parent gone from the stream (trimmed), or one
// read to its end.
func (rs *runState) parentDone(id string) bool {
	if id == "" {
		return true
	}
	if _, ok := rs.known[id]; !ok {
		return true
	}
	sh := rs.tr.shards[id]
	if sh.finished || sh.ended {
		return true
	}
	es, ok := rs.c.leaser.(EndedShards) // read to its end by another consumer
	return ok && es.ShardEnded(id)
}

func (rs *runState) onBatch(b shardBatch) error {
	if b.err != nil {
		return b.err
	}
	if b.lost != nil {
		if rs.running[b.shard] == b.lost {
			delete(rs.running, b.shard)
			rs.c.log.Info("kinesis: shard lease lost; the shard is read elsewhere", "shard", b.shard)
		}
		return nil
	}
	now := time.Now()
	for _, r := range b.records {
		if err := rs.tr.observe(r, now, rs.dl.Size()); err != nil {
			return fmt.Errorf("kinesis: %w", err)
		}
	}
	rs.rate.add(now, int64(len(b.records)))
	st := rs.shardStats[b.shard]
	st.MillisBehindLatest, st.AtTip = b.millisBehind, len(b.records) == 0 && !b.end
	if b.end {
		rs.tr.endShard(b.shard)
		if r := rs.running[b.shard]; r != nil {
			rs.ended[b.shard] = r.lease
			delete(rs.running, b.shard)
		}
		st.AtTip = true
		rs.c.log.Info("kinesis: shard read to its end", "shard", b.shard)
		select { // its children can start now
		case rs.nudge <- struct{}{}:
		default:
		}
	}
	rs.shardStats[b.shard] = st
	return nil
}

// flush applies what left the grace buffer, the dead letters and the
// checkpoints in one store batch.
func (rs *runState) flush(ctx context.Context, all bool) error {
	c, tr := rs.c, rs.tr
	w := tr.take(time.Now(), all, c.template().Step)
	if err := rs.dl.Append(w.dead); err != nil {
		return fmt.Errorf("kinesis: %w", err)
	}
	rs.logDead(w.dead)
	changed, scanFrom, finished := tr.positions(rs.dl.Size())
	var buffer []byte
	var firstFor []string
	if (len(w.updates) > 0 || len(changed) > 0) && tr.snapshotWanted(time.Since(rs.lastSnap) >= c.cfg.CheckpointInterval) {
		// The first batch holding records of a shard saves the buffer, so
		// that even a short run's progress survives; later ones now and then.
		var snap bufferSnapshot
		snap, firstFor = tr.snapshot(changed)
		buffer = encodeBuffer(snap)
	}
	if len(w.updates) > 0 || len(changed) > 0 {
		for _, ns := range w.create {
			spec := c.template()
			spec.Start = ns.Start
			var meta map[string]string
			if ns.Units != "" {
				meta = map[string]string{"units": ns.Units}
			}
			if _, err := c.db.EnsureWithMeta(ns.Name, spec, meta); err != nil {
				return fmt.Errorf("kinesis: create series %q: %w", ns.Name, err)
			}
		}
		batch := store.Batch{Updates: make([]store.Update, len(w.updates)), Positions: c.cps.Positions(changed, scanFrom, buffer)}
		for i, u := range w.updates {
			batch.Updates[i] = store.Update{Series: u.Series, Time: u.Sec, Usec: u.Usec, Values: []string{u.Value}}
		}
		res, err := c.db.Apply(ctx, batch)
		if err != nil {
			return fmt.Errorf("kinesis: apply %d updates: %w", len(batch.Updates), err)
		}
		if buffer != nil {
			if len(firstFor) > 0 {
				c.log.Info("kinesis: checkpoint saved with the grace buffer; a restart resumes these shards after the records read so far",
					"shards", strings.Join(firstFor, ","), "buffered_points", tr.buffered(), "bytes", len(buffer))
			}
			rs.lastSnap = time.Now()
		}
		if len(res.Errors) > 0 {
			// The tracker only lets through points newer than the series'
			// last update, so this is the store disagreeing: keep them.
			var dead []DeadLetter
			for _, e := range res.Errors {
				u := w.updates[e.Index]
				dead = append(dead, DeadLetter{Reason: ReasonRejected, Detail: e.Err.Error(), Shard: u.Shard, Seq: u.Seq, Sub: subIndex(u.Sub), Item: u.Item,
					Series: u.Series, Time: fmtTime(u.Sec, u.Usec), Value: u.Value})
				tr.counts.Bad[ReasonRejected]++
			}
			if err := rs.dl.Append(dead); err != nil {
				return fmt.Errorf("kinesis: %w", err)
			}
			rs.logDead(dead)
		}
	}
	rs.shareCheckpoints(ctx, changed)
	for _, id := range finished {
		if l := rs.ended[id]; l != nil {
			if err := l.Release(ctx, true); err != nil {
				c.log.Warn("kinesis: lease release failed", "shard", id, "err", err)
			}
			delete(rs.ended, id)
		}
		c.log.Info("kinesis: shard finished", "shard", id)
	}
	rs.publish()
	return nil
}

// shareCheckpoints copies the checkpoints just made durable into the
// shared leases (the KCL's checkpoint attribute), so that a worker taking
// a shard over starts after them. Only CP is copied: the records up to it
// are applied here, while those up to Buf have points in this node's
// grace buffer snapshot, which no other worker has. A failed write is
// logged: the lease then lags, and a new owner re-reads from an earlier
// record (its points are then applied in both stores), which is no worse
// than without it; a lost lease refuses the write.
func (rs *runState) shareCheckpoints(ctx context.Context, changed map[string]Checkpoint) {
	var wg sync.WaitGroup
	for id, cp := range changed {
		if cp.End || cp.CP == "" { // SHARD_END is written on release
			continue
		}
		var l Lease
		if r := rs.running[id]; r != nil {
			l = r.lease
		} else if e := rs.ended[id]; e != nil {
			l = e
		}
		sc, ok := l.(SharedCheckpoint)
		if !ok {
			continue
		}
		select {
		case <-l.Lost():
			continue
		default:
		}
		wg.Go(func() {
			if err := sc.Checkpoint(ctx, cp.CP); err != nil && ctx.Err() == nil {
				rs.c.log.Warn("kinesis: checkpoint not copied into the lease", "shard", id, "checkpoint", cp.CP, "err", err)
			}
		})
	}
	wg.Wait()
}

// isSeqNumber: a Kinesis sequence number (decimal digits), not a
// TRIM_HORIZON, LATEST or SHARD_END checkpoint.
func isSeqNumber(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func (c *Consumer) template() store.Spec {
	s := c.cfg.Template
	s.DS = slices.Clone(s.DS)
	s.RRA = slices.Clone(s.RRA)
	return s
}

// logDead logs dead letters, at most a few a second per reason, so a flood
// of bad records cannot flood the log; the counts are exact regardless.
func (rs *runState) logDead(dead []DeadLetter) {
	logged := map[Reason]int{}
	for _, d := range dead {
		if logged[d.Reason] < 3 {
			args := []any{"reason", string(d.Reason), "shard", d.Shard, "seq", d.Seq}
			if d.Sub != nil {
				args = append(args, "sub", *d.Sub)
			}
			rs.c.log.Warn("kinesis: record dead-lettered", append(args, "item", d.Item, "series", d.Series, "detail", d.Detail)...)
		}
		logged[d.Reason]++
	}
	for r, n := range logged {
		if n > 3 {
			rs.c.log.Warn("kinesis: more records dead-lettered", "reason", string(r), "not_logged", n-3)
		}
	}
}

func (rs *runState) publish() {
	tr := rs.tr
	for id, sh := range tr.shards {
		st := rs.shardStats[id]
		st.Finished = sh.finished
		rs.shardStats[id] = st
	}
	caught := rs.listed && len(tr.dl) == 0 && tr.buffered() == 0 && len(rs.ended) == 0
	for id, sh := range tr.shards {
		if !sh.finished && (rs.running[id] == nil || !rs.shardStats[id].AtTip || len(sh.queue) > 0) {
			caught = false
		}
	}
	s := Stats{Counts: tr.snapshotCounts(), RecordsPerSecond: rs.rate.perSecond(time.Now()), Buffered: tr.buffered(),
		Shards: maps.Clone(rs.shardStats), CaughtUp: caught}
	c := rs.c
	c.mu.Lock()
	s.Started = c.stats.Started
	c.stats = s
	c.mu.Unlock()
	if caught && !rs.caughtUp {
		c.log.Info("kinesis: caught up", "records", s.Counts.Records, "applied", s.Counts.Applied,
			"replayed", s.Counts.Replayed, "dead_lettered", sum(s.Counts.Bad))
	}
	rs.caughtUp = caught
}

func sum(m map[Reason]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// rateMeter is records per second over the last rateWindow.
type rateMeter struct {
	start time.Time
	marks []rateMark
}

type rateMark struct {
	at time.Time
	n  int64
}

const rateWindow = 10 * time.Second

func (m *rateMeter) add(now time.Time, n int64) {
	if m.start.IsZero() {
		m.start = now
	}
	m.marks = append(m.marks, rateMark{now, n})
	m.prune(now)
}

func (m *rateMeter) prune(now time.Time) {
	cut := 0
	for cut < len(m.marks) && now.Sub(m.marks[cut].at) > rateWindow {
		cut++
	}
	m.marks = slices.Delete(m.marks, 0, cut)
}

func (m *rateMeter) perSecond(now time.Time) float64 {
	m.prune(now)
	if m.start.IsZero() {
		return 0
	}
	span := min(rateWindow, now.Sub(m.start))
	if span < time.Second {
		span = time.Second // a rate over less is noise
	}
	var n int64
	for _, k := range m.marks {
		n += k.n
	}
	return float64(n) / span.Seconds()
}

// readShard reads one shard in order and hands its records over; it ends
// at the shard's end, when ctx is done, or when the lease is lost.
func (c *Consumer) readShard(ctx context.Context, lease Lease, shard string, it types.ShardIteratorType, after string, out chan<- shardBatch) {
	send := func(b shardBatch) bool {
		select {
		case out <- b:
			return true
		case <-ctx.Done():
			return false
		case <-lease.Lost():
			return false
		}
	}
	last := after
	bo := backoff{min: c.cfg.MinCallInterval, max: 10 * time.Second}
	var iter *string
	for {
		if iter == nil {
			in := &kds.GetShardIteratorInput{StreamName: aws.String(c.cfg.Stream), ShardId: aws.String(shard), ShardIteratorType: it}
			if last != "" {
				in.ShardIteratorType, in.StartingSequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(last)
			}
			res, err := c.client.GetShardIterator(ctx, in)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				var nf *types.ResourceNotFoundException
				if errors.As(err, &nf) {
					c.log.Warn("kinesis: shard gone; treating it as ended", "shard", shard, "err", err)
					send(shardBatch{shard: shard, end: true})
					return
				}
				c.log.Warn("kinesis: GetShardIterator failed; retrying", "shard", shard, "err", err)
				if !sleep(ctx, bo.next()) {
					return
				}
				continue
			}
			iter = res.ShardIterator
			if iter == nil {
				send(shardBatch{shard: shard, end: true})
				return
			}
		}
		start := time.Now()
		res, err := c.client.GetRecords(ctx, &kds.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(c.cfg.Limit)})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			switch getRecordsAction(err) {
			case actNewIterator:
				c.log.Info("kinesis: shard iterator expired; getting a new one", "shard", shard, "after", last)
				iter = nil
				continue
			case actThrottled:
				d := bo.next()
				c.log.Debug("kinesis: throttled; backing off", "shard", shard, "wait", d)
				if !sleep(ctx, d) {
					return
				}
				continue
			default:
				d := bo.next()
				c.log.Warn("kinesis: GetRecords failed; retrying", "shard", shard, "wait", d, "err", err)
				if !sleep(ctx, d) {
					return
				}
				continue
			}
		}
		bo.reset()
		b := shardBatch{shard: shard, records: make([]Record, len(res.Records)), millisBehind: aws.ToInt64(res.MillisBehindLatest)}
		for i, r := range res.Records {
			b.records[i] = Record{Shard: shard, Seq: aws.ToString(r.SequenceNumber), Data: r.Data, Arrival: aws.ToTime(r.ApproximateArrivalTimestamp)}
		}
		if len(b.records) > 0 {
			last = b.records[len(b.records)-1].Seq
		}
		b.end = res.NextShardIterator == nil
		if !send(b) || b.end {
			return
		}
		iter = res.NextShardIterator
		wait := c.cfg.MinCallInterval - time.Since(start)
		if len(res.Records) == 0 {
			wait = max(wait, c.cfg.PollInterval)
		}
		if wait > 0 && !sleep(ctx, wait) {
			return
		}
	}
}

type action int

const (
	actRetry       action = iota // back off and retry, logging
	actThrottled                 // back off and retry quietly
	actNewIterator               // the iterator expired: get a new one after the last record
)

// getRecordsAction decides what a GetRecords error calls for.
func getRecordsAction(err error) action {
	var exp *types.ExpiredIteratorException
	var thr *types.ProvisionedThroughputExceededException
	var lim *types.LimitExceededException
	var kms *types.KMSThrottlingException
	switch {
	case errors.As(err, &exp):
		return actNewIterator
	case errors.As(err, &thr), errors.As(err, &lim), errors.As(err, &kms):
		return actThrottled
	default:
		return actRetry
	}
}

type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = max(b.min, 50*time.Millisecond)
	} else {
		b.cur = min(b.cur*2, b.max)
	}
	// Full jitter keeps shards that were throttled together from retrying together.
	return b.cur/2 + rand.N(b.cur/2+1)
}

func (b *backoff) reset() { b.cur = 0 }

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
