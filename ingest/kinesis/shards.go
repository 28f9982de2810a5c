package kinesis

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"rrdash/ingest/kinesis/kds"
	"rrdash/store/cluster"
)

type shardInfo struct {
	id, parent, adjacent string
	closed               bool
	// rng is the shard's hash-key range (Start nil when ListShards gave
	// none or an unreadable one).
	rng cluster.ShardRange
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
			info := shardInfo{
				id: aws.ToString(s.ShardId), parent: aws.ToString(s.ParentShardId), adjacent: aws.ToString(s.AdjacentParentShardId),
				closed: s.SequenceNumberRange != nil && s.SequenceNumberRange.EndingSequenceNumber != nil,
			}
			if s.HashKeyRange != nil {
				if r, err := cluster.ParseRange(info.id, aws.ToString(s.HashKeyRange.StartingHashKey), aws.ToString(s.HashKeyRange.EndingHashKey)); err == nil {
					info.rng = r
				}
			}
			out = append(out, info)
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
		var it kds.ShardIteratorType
		var after string
		switch {
		case sh.pos.resumeAfter() != "":
			it, after = kds.ShardIteratorTypeAfterSequenceNumber, sh.pos.resumeAfter()
		case first && rs.fresh && c.cfg.StartAt == Latest:
			if s.closed { // nothing will ever be put after LATEST
				rs.tr.endShard(id)
				rs.ended[id] = lease
				continue
			}
			it = kds.ShardIteratorTypeLatest
		default:
			it = kds.ShardIteratorTypeTrimHorizon
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
