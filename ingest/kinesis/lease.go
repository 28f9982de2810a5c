package kinesis

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
)

// Leaser decides which shards this node reads. The local implementation
// grants every shard; DynamoLeaser (as the KCL does: one item per shard
// with owner, counter and expiry, taken by conditional writes) lets
// several rrdash ingest nodes split a stream. Checkpoints stay with the
// data (see Checkpointer) so a node applies a record exactly once; a
// lease says who may read a shard, and a copy of the checkpoint in it
// (SharedCheckpoint) where a new owner with no position of its own starts.
type Leaser interface {
	// Acquire tries to take the lease of shardID. ok is false when another
	// node holds it; the consumer tries again at its next shard listing.
	Acquire(ctx context.Context, shardID string) (lease Lease, ok bool, err error)
}

// ShardSyncer is a Leaser that records the stream's shards and their
// parents (DynamoLeaser: one lease item per shard); the consumer gives it
// every shard it lists.
type ShardSyncer interface {
	SyncShards(ctx context.Context, shards []ShardLineage) error
}

// EndedShards is a Leaser that knows which shards were read to their end
// by any consumer sharing it, so that this one may read their children.
type EndedShards interface {
	ShardEnded(shardID string) bool
}

// Lease is the right to read one shard.
type Lease interface {
	ShardID() string
	// Lost is closed when the lease expires or is taken over; the reader
	// of the shard then stops reading. (Handing the shard's buffered points
	// over to the new owner is for the multi-node implementation.)
	Lost() <-chan struct{}
	// Release gives the lease up; finished says the shard was read to its
	// end and done, so its children may be leased by anyone.
	Release(ctx context.Context, finished bool) error
}

// SharedCheckpoint is a Lease that carries a checkpoint every worker of
// the lease table sees (DynamoDB leases, the KCL's checkpoint attribute).
// The consumer copies its durable checkpoint there after each flush, and a
// worker taking over a shard its own journal knows nothing of starts
// after it.
type SharedCheckpoint interface {
	// TakenAt is the lease's checkpoint when this worker took it: a
	// sequence number, TRIM_HORIZON, or "" (none).
	TakenAt() string
	// Checkpoint records that every record up to seq is applied; only
	// the owner may.
	Checkpoint(ctx context.Context, seq string) error
}

// LocalLeaser grants every shard to this process.
type LocalLeaser struct {
	mu   sync.Mutex
	held map[string]bool
}

// NewLocalLeaser returns a leaser for a single consumer process.
func NewLocalLeaser() *LocalLeaser { return &LocalLeaser{held: map[string]bool{}} }

// Acquire grants the lease unless this process already holds it.
func (l *LocalLeaser) Acquire(_ context.Context, shardID string) (Lease, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[shardID] {
		return nil, false, nil
	}
	l.held[shardID] = true
	return &localLease{owner: l, shard: shardID, lost: make(chan struct{})}, true, nil
}

type localLease struct {
	owner *LocalLeaser
	shard string
	lost  chan struct{}
}

func (l *localLease) ShardID() string       { return l.shard }
func (l *localLease) Lost() <-chan struct{} { return l.lost } // a local lease is never lost

func (l *localLease) Release(context.Context, bool) error {
	l.owner.mu.Lock()
	defer l.owner.mu.Unlock()
	delete(l.owner.held, l.shard)
	return nil
}

// Checkpointer keeps shard checkpoints. The consumer stages them into the
// store batch that applies the records they cover, so updates and
// checkpoints become durable together.
type Checkpointer interface {
	// Load returns the checkpoint of a shard (zero if none).
	Load(shardID string) (Checkpoint, error)
	// DeadLetterOffset returns where the dead letters of records after the
	// checkpoints start in the dead-letter file.
	DeadLetterOffset() (int64, error)
	// Buffer returns the last grace buffer snapshot saved (nil if none).
	Buffer() []byte
	// Positions encodes changed checkpoints, the dead-letter offset and,
	// when not nil, a grace buffer snapshot as store batch positions.
	Positions(changed map[string]Checkpoint, dlOffset int64, buffer []byte) map[string][]byte
}

// PositionReader is the part of the store a StoreCheckpointer reads.
type PositionReader interface {
	Position(source string) []byte
}

// StoreCheckpointer keeps checkpoints as store positions: source
// "kinesis:STREAM:SHARD" per shard, "kinesis:STREAM" for the stream and
// "kinesis:STREAM#buffer" for the grace buffer snapshot ('#' is in no
// stream name).
type StoreCheckpointer struct {
	Store  PositionReader
	Stream string
}

func (c StoreCheckpointer) shardSource(id string) string { return "kinesis:" + c.Stream + ":" + id }

// Load reads a shard's checkpoint from the store.
func (c StoreCheckpointer) Load(shardID string) (Checkpoint, error) {
	cp, err := decodeCheckpoint(c.Store.Position(c.shardSource(shardID)))
	if err != nil {
		return cp, fmt.Errorf("stream %s shard %s: %w", c.Stream, shardID, err)
	}
	return cp, nil
}

type streamPos struct {
	DeadLetterOffset int64 `json:"dl"`
}

// DeadLetterOffset reads the stream position.
func (c StoreCheckpointer) DeadLetterOffset() (int64, error) {
	b := c.Store.Position("kinesis:" + c.Stream)
	if len(b) == 0 {
		return 0, nil
	}
	var p streamPos
	if err := json.Unmarshal(b, &p); err != nil || p.DeadLetterOffset < 0 {
		return 0, fmt.Errorf("stream %s: position %s: not a dead-letter offset", c.Stream, strconv.Quote(truncate(string(b))))
	}
	return p.DeadLetterOffset, nil
}

func (c StoreCheckpointer) bufferSource() string { return "kinesis:" + c.Stream + "#buffer" }

// Buffer reads the grace buffer snapshot from the store.
func (c StoreCheckpointer) Buffer() []byte { return c.Store.Position(c.bufferSource()) }

// Positions encodes checkpoints for store.Batch.Positions.
func (c StoreCheckpointer) Positions(changed map[string]Checkpoint, dlOffset int64, buffer []byte) map[string][]byte {
	out := make(map[string][]byte, len(changed)+2)
	if buffer != nil {
		out[c.bufferSource()] = buffer
	}
	for id, cp := range changed {
		out[c.shardSource(id)] = encodeCheckpoint(cp)
	}
	b, _ := json.Marshal(streamPos{DeadLetterOffset: dlOffset}) // an int always marshals
	out["kinesis:"+c.Stream] = b
	return out
}
