package kinesis

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"rrdash/ingest/kinesis/kds"
)

// readShard reads one shard in order and hands its records over; it ends
// at the shard's end, when ctx is done, or when the lease is lost.
func (c *Consumer) readShard(ctx context.Context, lease Lease, shard string, it kds.ShardIteratorType, after string, out chan<- shardBatch) {
	var lost <-chan struct{} // nil lease: a closed shard read without one (never lost)
	if lease != nil {
		lost = lease.Lost()
	}
	send := func(b shardBatch) bool {
		select {
		case out <- b:
			return true
		case <-ctx.Done():
			return false
		case <-lost:
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
				in.ShardIteratorType, in.StartingSequenceNumber = kds.ShardIteratorTypeAfterSequenceNumber, aws.String(last)
			}
			res, err := c.client.GetShardIterator(ctx, in)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				var nf *kds.ResourceNotFoundException
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
	var exp *kds.ExpiredIteratorException
	var thr *kds.ProvisionedThroughputExceededException
	var lim *kds.LimitExceededException
	var kms *kds.KMSThrottlingException
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
