package kinesis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"rrdash/ingest/kinesis/dynamo"
)

// The lease table has the KCL's schema, so its tools read it: one item per
// shard, hash key leaseKey (the shard id), with leaseOwner, leaseCounter,
// checkpoint, checkpointSubSequenceNumber, ownerSwitchesSinceCheckpoint and
// parentShardIds. Every change is a conditional write on the counter (or
// the owner), so two workers never both believe they hold a shard for
// longer than a renewal.
const (
	attrKey      = "leaseKey"
	attrOwner    = "leaseOwner"
	attrCounter  = "leaseCounter"
	attrCP       = "checkpoint"
	attrSubSeq   = "checkpointSubSequenceNumber"
	attrSwitches = "ownerSwitchesSinceCheckpoint"
	attrParents  = "parentShardIds"
	// attrEndedBy (not the KCL's) names the worker that read the shard to
	// its end: it holds the shard's series as they were at the end, which
	// the children's first owners inherit.
	attrEndedBy   = "rrdashEndedBy"
	cpTrimHorizon = "TRIM_HORIZON"
	// CheckpointShardEnd is the checkpoint of a shard read to its end: its
	// children may then be leased.
	CheckpointShardEnd = "SHARD_END"
)

// DynamoConfig configures a DynamoLeaser.
type DynamoConfig struct {
	Table  string // the lease table (one per replica group and stream)
	Worker string // this worker's id, unique among the table's workers
	// Duration is the failover time: a lease whose counter no worker has
	// moved for this long is expired and may be taken (the KCL's
	// failoverTimeMillis; default 10s). Leases are renewed every third
	// of it and taken or stolen every half of it.
	Duration time.Duration
	// MaxStealAtOnce bounds the leases stolen in one round (default 1,
	// as the KCL's maxLeasesToStealAtOneTime).
	MaxStealAtOnce int
	Logger         *slog.Logger
}

// ShardLineage is a shard and its parents, as a lease records them.
type ShardLineage struct {
	ID      string
	Parents []string // parent and adjacent parent, when any
}

// LeaseItem is one item of the lease table.
type LeaseItem struct {
	Shard      string
	Owner      string // empty: no one holds it
	Counter    int64
	Checkpoint string // a sequence number, TRIM_HORIZON or SHARD_END
	Parents    []string
	Switches   int64  // owner changes since the last checkpoint
	EndedBy    string // the worker that read the shard to its end ("" not ended, or not known)
}

// DynamoLeaser shares a stream's shards among workers through a DynamoDB
// lease table, with the KCL's rules: a worker aims at
// ceil(leases / workers) leases; it takes expired leases first and, when
// none are left and another worker holds more than its share, steals one
// at a time from the most loaded; a child shard's lease is taken only
// once all its parents' leases are at SHARD_END (or gone from the table).
// Expiry is seen, as in the KCL, by a lease counter not moving for
// Duration on this worker's clock, so workers' clocks need not agree.
type DynamoLeaser struct {
	cfg DynamoConfig
	db  *dynamo.Client
	log *slog.Logger

	mu    sync.Mutex
	seen  map[string]observed     // every lease at the last scan
	held  map[string]*dynamoLease // leases this worker holds
	given map[string]bool         // held leases handed out by Acquire
}

// observed is a lease as a scan saw it, and since when its counter has
// not moved.
type observed struct {
	item  LeaseItem
	since time.Time
}

var _ Leaser = (*DynamoLeaser)(nil)

// NewDynamoLeaser checks the configuration; call CreateTable, then Run.
func NewDynamoLeaser(db *dynamo.Client, cfg DynamoConfig) (*DynamoLeaser, error) {
	if cfg.Table == "" || cfg.Worker == "" {
		return nil, errors.New("dynamodb leases: table and worker id are required")
	}
	if cfg.Duration == 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Duration < 100*time.Millisecond {
		return nil, fmt.Errorf("dynamodb leases: duration %v is below 100ms", cfg.Duration)
	}
	if cfg.MaxStealAtOnce == 0 {
		cfg.MaxStealAtOnce = 1
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &DynamoLeaser{cfg: cfg, db: db, log: log.With("lease_table", cfg.Table, "worker", cfg.Worker),
		seen: map[string]observed{}, held: map[string]*dynamoLease{}, given: map[string]bool{}}, nil
}

// CreateTable creates the lease table (on-demand capacity) unless it
// exists, and waits until it is active.
func (l *DynamoLeaser) CreateTable(ctx context.Context) error {
	err := l.db.CreateTable(ctx, l.cfg.Table, attrKey)
	if err != nil && !dynamo.IsType(err, "ResourceInUseException") {
		return fmt.Errorf("dynamodb leases: create table %s: %w", l.cfg.Table, err)
	}
	for {
		status, err := l.db.TableStatus(ctx, l.cfg.Table)
		if err != nil {
			return fmt.Errorf("dynamodb leases: describe table %s: %w", l.cfg.Table, err)
		}
		if status == "ACTIVE" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dynamodb leases: table %s not active: %w", l.cfg.Table, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// SyncShards creates the leases of shards the table does not have yet
// (unowned, at TRIM_HORIZON, with their parents), as the KCL's shard
// syncer does; any worker may call it, the writes are conditional.
func (l *DynamoLeaser) SyncShards(ctx context.Context, shards []ShardLineage) error {
	l.mu.Lock()
	var missing []ShardLineage
	for _, s := range shards {
		if _, ok := l.seen[s.ID]; !ok {
			missing = append(missing, s)
		}
	}
	l.mu.Unlock()
	for _, s := range missing {
		item := dynamo.Item{
			attrKey:      str(s.ID),
			attrCounter:  num(0),
			attrCP:       str(cpTrimHorizon),
			attrSubSeq:   num(0),
			attrSwitches: num(0),
		}
		var parents []string
		for _, p := range s.Parents {
			if p != "" {
				parents = append(parents, p)
			}
		}
		if len(parents) > 0 { // a string set cannot be empty
			item[attrParents] = dynamo.SS(parents)
		}
		err := l.db.PutItem(ctx, l.cfg.Table, item, "attribute_not_exists("+attrKey+")")
		if err != nil && !conditionFailed(err) {
			return fmt.Errorf("dynamodb leases: create lease %s: %w", s.ID, err)
		}
	}
	return nil
}

// Leases scans the table.
func (l *DynamoLeaser) Leases(ctx context.Context) ([]LeaseItem, error) {
	items, err := l.db.Scan(ctx, l.cfg.Table)
	if err != nil {
		return nil, fmt.Errorf("dynamodb leases: scan %s: %w", l.cfg.Table, err)
	}
	out := make([]LeaseItem, 0, len(items))
	for _, it := range items {
		li, err := decodeLease(it)
		if err != nil {
			return nil, fmt.Errorf("dynamodb leases: table %s: %w", l.cfg.Table, err)
		}
		out = append(out, li)
	}
	return out, nil
}

// Held returns the shards this worker holds, sorted.
func (l *DynamoLeaser) Held() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for k := range l.held {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Run renews this worker's leases every third of Duration and takes or
// steals leases every half of it until ctx ends. It gives nothing up on
// return (a killed worker does not either); Release or ReleaseAll does.
func (l *DynamoLeaser) Run(ctx context.Context) error {
	renew := time.NewTicker(l.cfg.Duration / 3)
	defer renew.Stop()
	take := time.NewTimer(0)
	defer take.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-renew.C:
			l.renewAll(ctx)
		case <-take.C:
			if err := l.takeRound(ctx); err != nil && ctx.Err() == nil {
				l.log.Warn("kinesis: lease taking failed; retrying", "err", err)
			}
			take.Reset(l.cfg.Duration / 2)
		}
	}
}

// Acquire hands out a lease this worker holds and has not handed out.
func (l *DynamoLeaser) Acquire(_ context.Context, shardID string) (Lease, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.held[shardID]
	if h == nil || l.given[shardID] {
		return nil, false, nil
	}
	l.given[shardID] = true
	return h, true, nil
}

// ShardEnded reports whether the last scan saw the shard's lease at
// SHARD_END (read to its end by any worker).
func (l *DynamoLeaser) ShardEnded(shardID string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	o, ok := l.seen[shardID]
	return ok && o.item.Checkpoint == CheckpointShardEnd
}

// ReleaseAll gives up every lease this worker holds (a graceful stop), so
// that others take them at once instead of after Duration.
func (l *DynamoLeaser) ReleaseAll(ctx context.Context) error {
	var errs []error
	for _, h := range l.heldLeases() {
		errs = append(errs, h.Release(ctx, false))
	}
	return errors.Join(errs...)
}

func (l *DynamoLeaser) heldLeases() []*dynamoLease {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*dynamoLease, 0, len(l.held))
	for _, h := range l.held {
		out = append(out, h)
	}
	return out
}

// renewAll moves the counter of every held lease; a lease whose write is
// refused (taken or stolen) or not renewed for Duration is lost.
func (l *DynamoLeaser) renewAll(ctx context.Context) {
	for _, h := range l.heldLeases() {
		h.write.Lock()
		h.mu.Lock()
		c := h.counter
		h.mu.Unlock()
		err := l.db.UpdateItem(ctx, l.cfg.Table, leaseKey(h.shard), "SET "+attrCounter+" = :next",
			attrCounter+" = :c AND "+attrOwner+" = :me",
			dynamo.Item{":c": num(c), ":next": num(c + 1), ":me": str(l.cfg.Worker)})
		if err == nil { // before the next write of the lease reads it
			h.mu.Lock()
			h.counter, h.renewed = c+1, time.Now()
			h.mu.Unlock()
		}
		h.write.Unlock()
		switch {
		case err == nil:
		case conditionFailed(err):
			l.lose(h, "taken by another worker")
		case ctx.Err() != nil:
			return
		default:
			h.mu.Lock()
			stale := time.Since(h.renewed) >= l.cfg.Duration
			h.mu.Unlock()
			if stale { // others may see it expired by now
				l.lose(h, "not renewed within the lease duration: "+err.Error())
			} else {
				l.log.Warn("kinesis: lease renewal failed; retrying", "shard", h.shard, "err", err)
			}
		}
	}
}

// lose forgets a held lease and tells its reader.
func (l *DynamoLeaser) lose(h *dynamoLease, why string) {
	l.mu.Lock()
	if l.held[h.shard] == h {
		delete(l.held, h.shard)
		delete(l.given, h.shard)
	}
	l.mu.Unlock()
	h.lostOnce.Do(func() { close(h.lost) })
	l.log.Info("kinesis: lease lost", "shard", h.shard, "why", why)
}

// takeRound scans the table, then takes expired leases up to this
// worker's share or, with none expired, steals from the most loaded
// worker (the KCL's lease taker).
func (l *DynamoLeaser) takeRound(ctx context.Context) error {
	items, err := l.Leases(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	l.mu.Lock()
	seen := make(map[string]observed, len(items))
	for _, it := range items {
		o, ok := l.seen[it.Shard]
		if !ok || o.item.Counter != it.Counter || o.item.Owner != it.Owner {
			o.since = now // moved: a live owner (or a new lease)
		}
		o.item = it
		seen[it.Shard] = o
	}
	l.seen = seen
	heldSet := make(map[string]bool, len(l.held))
	var stolen []*dynamoLease
	for k, h := range l.held {
		if o, ok := seen[k]; ok && o.item.Owner != l.cfg.Worker {
			stolen = append(stolen, h) // found out before the next renewal
			continue
		}
		heldSet[k] = true
	}
	l.mu.Unlock()
	for _, h := range stolen {
		l.lose(h, "taken by another worker")
	}

	// Leases to share: not finished, and whose parents are finished or
	// gone (parents first after a reshard).
	var active, expired []observed
	counts := map[string]int{l.cfg.Worker: 0}
	for _, o := range seen {
		if o.item.Checkpoint == CheckpointShardEnd || !parentsDone(seen, o.item.Parents) {
			continue
		}
		active = append(active, o)
		mine := o.item.Owner == l.cfg.Worker
		switch {
		case mine && heldSet[o.item.Shard]:
			counts[l.cfg.Worker]++
		// Unowned, not moved for Duration, or naming this worker without
		// its holding it (a restart under the same id): free to take.
		case o.item.Owner == "" || mine || now.Sub(o.since) >= l.cfg.Duration:
			expired = append(expired, o)
		default:
			counts[o.item.Owner]++
		}
	}
	if len(active) == 0 {
		return nil
	}
	held := counts[l.cfg.Worker]
	workers := len(counts)
	target := 1
	if workers < len(active) {
		target = (len(active) + workers - 1) / workers
	}
	need := target - held
	if need <= 0 {
		return nil
	}
	var take []observed
	if len(expired) > 0 {
		rand.Shuffle(len(expired), func(i, j int) { expired[i], expired[j] = expired[j], expired[i] })
		take = expired[:min(need, len(expired))]
	} else {
		take = l.toSteal(active, counts, need, target)
	}
	for _, o := range take {
		if err := l.takeLease(ctx, o.item); err != nil {
			return err
		}
	}
	return nil
}

// toSteal picks leases of the most loaded worker: up to what it holds
// over the target, or one when it holds exactly the target and this
// worker needs more than one; never more than MaxStealAtOnce.
func (l *DynamoLeaser) toSteal(active []observed, counts map[string]int, need, target int) []observed {
	most, n := "", -1
	for w, c := range counts {
		if c > n || c == n && w < most {
			most, n = w, c
		}
	}
	if most == l.cfg.Worker || n < target {
		return nil
	}
	steal := min(need, n-target)
	if steal == 0 && need > 1 {
		steal = 1
	}
	steal = min(steal, l.cfg.MaxStealAtOnce)
	if steal <= 0 {
		return nil
	}
	var cands []observed
	for _, o := range active {
		if o.item.Owner == most {
			cands = append(cands, o)
		}
	}
	rand.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	return cands[:min(steal, len(cands))]
}

// takeLease makes this worker the owner if the counter is still the one
// seen; a refused write means another worker was quicker or the owner
// renewed: not an error.
func (l *DynamoLeaser) takeLease(ctx context.Context, it LeaseItem) error {
	err := l.db.UpdateItem(ctx, l.cfg.Table, leaseKey(it.Shard),
		"SET "+attrOwner+" = :me, "+attrCounter+" = :next ADD "+attrSwitches+" :one", attrCounter+" = :c",
		dynamo.Item{":c": num(it.Counter), ":next": num(it.Counter + 1), ":me": str(l.cfg.Worker), ":one": num(1)})
	if conditionFailed(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("take lease %s: %w", it.Shard, err)
	}
	// The write was conditional on the counter scanned, and every
	// checkpoint moves the counter: the checkpoint scanned is current.
	h := &dynamoLease{l: l, shard: it.Shard, counter: it.Counter + 1, renewed: time.Now(), lost: make(chan struct{}), takenAt: it.Checkpoint}
	l.mu.Lock()
	l.held[it.Shard] = h
	delete(l.given, it.Shard)
	l.mu.Unlock()
	l.log.Info("kinesis: lease taken", "shard", it.Shard, "from", it.Owner, "checkpoint", it.Checkpoint)
	return nil
}

// parentsDone: every parent's lease is at SHARD_END or not in the table.
func parentsDone(seen map[string]observed, parents []string) bool {
	for _, p := range parents {
		if o, ok := seen[p]; ok && o.item.Checkpoint != CheckpointShardEnd {
			return false
		}
	}
	return true
}

// dynamoLease is a lease this worker holds.
type dynamoLease struct {
	l        *DynamoLeaser
	shard    string
	lost     chan struct{}
	lostOnce sync.Once
	takenAt  string // the checkpoint when taken

	// write serialises this worker's writes of the lease: a renewal and
	// a checkpoint each condition on the counter the other moves, so run
	// together one would fail and the lease be wrongly given up.
	write sync.Mutex

	mu      sync.Mutex
	counter int64
	renewed time.Time
}

func (h *dynamoLease) ShardID() string       { return h.shard }
func (h *dynamoLease) Lost() <-chan struct{} { return h.lost }
func (h *dynamoLease) TakenAt() string       { return h.takenAt }

var _ SharedCheckpoint = (*dynamoLease)(nil)

// Checkpoint records how far the shard was read (a sequence number) in
// the lease, as the KCL does; only the owner may.
func (h *dynamoLease) Checkpoint(ctx context.Context, seq string) error {
	return h.update(ctx, "SET "+attrCP+" = :cp, "+attrSubSeq+" = :zero, "+attrSwitches+" = :zero", seq, false)
}

// Release gives the lease up: finished marks the shard SHARD_END, so its
// children may be leased.
func (h *dynamoLease) Release(ctx context.Context, finished bool) error {
	// Conditional on the owner alone: a renewal cut short by a shutdown
	// may have moved the counter without this worker learning it.
	var err error
	if finished {
		err = h.update(ctx, "SET "+attrCP+" = :cp, "+attrSubSeq+" = :zero, "+attrEndedBy+" = :me REMOVE "+attrOwner, CheckpointShardEnd, true)
	} else {
		err = h.update(ctx, "REMOVE "+attrOwner, "", true)
	}
	l := h.l
	l.mu.Lock()
	if l.held[h.shard] == h {
		delete(l.held, h.shard)
		delete(l.given, h.shard)
	}
	l.mu.Unlock()
	h.lostOnce.Do(func() { close(h.lost) })
	return err
}

// update applies expr (with :cp when cp is set) if this worker still
// owns the lease at the counter it knows (ownerOnly: whatever the
// counter), moving the counter.
func (h *dynamoLease) update(ctx context.Context, expr, cp string, ownerOnly bool) error {
	h.write.Lock()
	defer h.write.Unlock()
	h.mu.Lock()
	c := h.counter
	h.mu.Unlock()
	cond := attrOwner + " = :me"
	vals := dynamo.Item{":me": str(h.l.cfg.Worker)}
	// The counter moves with every write: to the next of the one known,
	// or by one when the owner alone is the condition.
	counterSet := attrCounter + " = :next"
	if ownerOnly {
		counterSet = attrCounter + " = " + attrCounter + " + :one"
		vals[":one"] = num(1)
	} else {
		cond = attrCounter + " = :c AND " + cond
		vals[":c"], vals[":next"] = num(c), num(c+1)
	}
	if cp != "" {
		vals[":cp"], vals[":zero"] = str(cp), num(0)
	}
	if rest, ok := strings.CutPrefix(expr, "SET "); ok {
		expr = "SET " + counterSet + ", " + rest
	} else {
		expr = "SET " + counterSet + " " + expr
	}
	err := h.l.db.UpdateItem(ctx, h.l.cfg.Table, leaseKey(h.shard), expr, cond, vals)
	if conditionFailed(err) {
		return fmt.Errorf("lease %s: no longer held by %s", h.shard, h.l.cfg.Worker)
	}
	if err != nil {
		return fmt.Errorf("lease %s: %w", h.shard, err)
	}
	if !ownerOnly {
		h.mu.Lock()
		h.counter = c + 1
		h.mu.Unlock()
	}
	return nil
}

func leaseKey(shard string) dynamo.Item { return dynamo.Item{attrKey: str(shard)} }

func str(s string) dynamo.Value { return dynamo.S(s) }
func num(n int64) dynamo.Value  { return dynamo.N(n) }

func conditionFailed(err error) bool { return dynamo.ConditionFailed(err) }

// decodeLease reads a lease item; a malformed one is an error naming it.
func decodeLease(it dynamo.Item) (LeaseItem, error) {
	var li LeaseItem
	key := it[attrKey].S
	if key == nil {
		return li, fmt.Errorf("an item without a string %s", attrKey)
	}
	li.Shard = *key
	for _, f := range []struct {
		name string
		out  *string
	}{{attrOwner, &li.Owner}, {attrCP, &li.Checkpoint}, {attrEndedBy, &li.EndedBy}} {
		if v := it[f.name].S; v != nil {
			*f.out = *v
		}
	}
	li.Parents = it[attrParents].SS
	for _, f := range []struct {
		name string
		out  *int64
	}{{attrCounter, &li.Counter}, {attrSwitches, &li.Switches}} {
		v := it[f.name].N
		if v == nil {
			if f.name == attrCounter {
				return li, fmt.Errorf("lease %s: no numeric %s", li.Shard, attrCounter)
			}
			continue
		}
		n, err := strconv.ParseInt(*v, 10, 64)
		if err != nil {
			return li, fmt.Errorf("lease %s: %s %q: %w", li.Shard, f.name, *v, err)
		}
		*f.out = n
	}
	return li, nil
}
