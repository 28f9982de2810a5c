package kinesis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"rrdash/ingest/kinesis/kds"
	"rrdash/store/cluster"
)

// Kinesis limits of PutRecords.
const (
	maxRecordBytes     = 1 << 20 // data plus partition key of one record
	maxPutRecords      = 500     // records per call
	maxPutRequestBytes = 5 << 20 // per call
	maxPartitionKey    = 256     // UTF-8 bytes
)

// Producer is the cluster log on a Kinesis stream (cluster.Log): each
// entry is one record whose partition key is the series name, so a
// series' writes land on one shard in order, and the consumer that leases
// the shard builds its archive.
type Producer struct {
	client *kds.Client
	stream string
	log    *slog.Logger
	// route, when set, gives the stream's shard map: entries of one shard
	// then share records (as the KPL aggregates), each record put with the
	// partition key of its first series, which lands it in that shard.
	route func(ctx context.Context) (*cluster.Router, error)

	mu     sync.Mutex
	ranges map[string]cluster.HashRange // every shard's range, for checking where aggregates landed
}

// Aggregate makes the producer pack the entries of one shard into shared
// records (at most 1 MiB each), which cuts the records put — Kinesis
// counts 1,000 records/s per shard and charges per 25 KB unit — when a
// write holds a point or two of many series. route gives the shard map
// (cached by its caller); while it fails, records stay one per series.
func (p *Producer) Aggregate(route func(ctx context.Context) (*cluster.Router, error)) {
	p.route = route
}

var _ cluster.Log = (*Producer)(nil)

// NewProducer puts records on cfg.Stream.
func NewProducer(cfg Config, log *slog.Logger) *Producer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Producer{client: NewClient(cfg), stream: cfg.Stream, log: log}
}

type putRecord struct {
	key  string
	data []byte
	// an aggregate: the shard the map placed it in, and its entries
	shard string
	parts []putRecord
}

// Append puts the entries and returns once Kinesis acknowledged every
// record (failed records are retried with backoff until ctx ends). An
// entry too large for one record is split by its updates; the parts of one
// series go in successive calls, because PutRecords may apply a retried
// record after a later one of the same call.
func (p *Producer) Append(ctx context.Context, entries []cluster.Entry) error {
	var rounds [][]putRecord
	for _, e := range entries {
		if len(e.Series) > maxPartitionKey || e.Series == "" {
			return fmt.Errorf("series %q: name is empty or longer than Kinesis's %d-byte partition key", e.Series, maxPartitionKey)
		}
		parts, err := splitEntry(e)
		if err != nil {
			return err
		}
		for i, data := range parts {
			if i == len(rounds) {
				rounds = append(rounds, nil)
			}
			rounds[i] = append(rounds[i], putRecord{key: e.Series, data: data})
		}
	}
	if p.route != nil {
		if router, err := p.route(ctx); err != nil {
			p.log.Warn("kinesis: no shard map; records not aggregated", "stream", p.stream, "err", err)
		} else {
			for i, recs := range rounds {
				rounds[i] = aggregate(router, recs)
			}
		}
	}
	for _, recs := range rounds {
		for len(recs) > 0 {
			n, size := 0, 0
			for n < len(recs) && n < maxPutRecords && size+len(recs[n].data)+len(recs[n].key) <= maxPutRequestBytes {
				size += len(recs[n].data) + len(recs[n].key)
				n++
			}
			misrouted, err := p.put(ctx, recs[:n])
			if err != nil {
				return err
			}
			// entries an aggregate took to a shard not theirs (a stale
			// map), which its replicas skip: put again, each with its own
			// partition key, before the round's next part of any series
			recs = append(misrouted, recs[n:]...)
		}
	}
	return nil
}

// aggregate packs the records of each shard, in order, into records of
// at most maxRecordBytes; a record alone in its pack stays as it is.
func aggregate(router *cluster.Router, recs []putRecord) []putRecord {
	type pack struct {
		key, shard string
		parts      [][]byte
		recs       []putRecord
		size       int
	}
	var out []putRecord
	flush := func(pk *pack) {
		switch len(pk.parts) {
		case 0:
		case 1:
			out = append(out, putRecord{key: pk.key, data: pk.parts[0]})
		default:
			out = append(out, putRecord{key: pk.key, data: cluster.EncodeAggregate(nil, pk.parts), shard: pk.shard, parts: pk.recs})
		}
		*pk = pack{}
	}
	open := map[string]*pack{}
	var order []string
	for _, r := range recs {
		shard := router.Shard(r.key)
		pk := open[shard]
		if pk == nil {
			pk = &pack{}
			open[shard] = pk
			order = append(order, shard)
		}
		if len(pk.parts) > 0 && pk.size+len(r.data)+cluster.AggregateOverhead(len(pk.parts)+1)+len(pk.key) > maxRecordBytes {
			flush(pk)
		}
		if len(pk.parts) == 0 {
			pk.key, pk.shard = r.key, shard
		}
		pk.parts = append(pk.parts, r.data)
		pk.recs = append(pk.recs, r)
		pk.size += len(r.data)
	}
	for _, shard := range order {
		flush(open[shard])
	}
	return out
}

// splitEntry encodes e into records of at most maxRecordBytes, halving its
// updates until each part fits.
func splitEntry(e cluster.Entry) ([][]byte, error) {
	b := cluster.EncodeEntry(nil, e)
	if len(b)+len(e.Series) <= maxRecordBytes {
		return [][]byte{b}, nil
	}
	if len(e.Updates) < 2 {
		return nil, fmt.Errorf("series %s: one update encodes to %d bytes, over Kinesis's 1 MiB record", e.Series, len(b))
	}
	h := len(e.Updates) / 2
	a, c := e, e
	a.Updates, c.Updates = e.Updates[:h], e.Updates[h:]
	pa, err := splitEntry(a)
	if err != nil {
		return nil, err
	}
	pc, err := splitEntry(c)
	if err != nil {
		return nil, err
	}
	return append(pa, pc...), nil
}

// put sends one PutRecords call's worth, retrying what Kinesis refused.
// It returns the entries of aggregates that landed in a shard whose range
// does not hold their series.
func (p *Producer) put(ctx context.Context, recs []putRecord) ([]putRecord, error) {
	bo := backoff{min: 50 * time.Millisecond, max: 5 * time.Second}
	var misrouted []putRecord
	for {
		in := &kds.PutRecordsInput{StreamName: aws.String(p.stream), Records: make([]kds.PutRecordsRequestEntry, len(recs))}
		for i, r := range recs {
			in.Records[i] = kds.PutRecordsRequestEntry{PartitionKey: aws.String(r.key), Data: r.data}
		}
		out, err := p.client.PutRecords(ctx, in)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("kinesis: PutRecords %s: %w", p.stream, ctx.Err())
			}
			var nf *kds.ResourceNotFoundException
			var inv *kds.InvalidArgumentException
			if errors.As(err, &nf) || errors.As(err, &inv) {
				return nil, fmt.Errorf("kinesis: PutRecords %s: %w", p.stream, err)
			}
			d := bo.next()
			p.log.Warn("kinesis: PutRecords failed; retrying", "stream", p.stream, "records", len(recs), "wait", d, "err", err)
			if !sleep(ctx, d) {
				return nil, fmt.Errorf("kinesis: PutRecords %s: %w (last error: %v)", p.stream, ctx.Err(), err)
			}
			continue
		}
		var again []putRecord
		var first string
		for i, r := range out.Records {
			if r.ErrorCode != nil {
				again = append(again, recs[i])
				if first == "" {
					first = aws.ToString(r.ErrorCode) + ": " + aws.ToString(r.ErrorMessage)
				}
				continue
			}
			if landed := aws.ToString(r.ShardId); len(recs[i].parts) > 0 && landed != recs[i].shard {
				off, err := p.offRange(ctx, landed, recs[i].parts)
				if err != nil {
					return nil, err
				}
				misrouted = append(misrouted, off...)
			}
		}
		if len(again) == 0 {
			return misrouted, nil
		}
		recs = again
		d := bo.next()
		p.log.Debug("kinesis: records refused; retrying them", "stream", p.stream, "records", len(recs), "first", first, "wait", d)
		if !sleep(ctx, d) {
			return nil, fmt.Errorf("kinesis: PutRecords %s: %d records not acknowledged: %w (%s)", p.stream, len(recs), ctx.Err(), first)
		}
	}
}

// offRange returns the parts whose series are not in shard's hash-key
// range (a shard's range never changes; ranges are listed once, with the
// closed shards).
func (p *Producer) offRange(ctx context.Context, shard string, parts []putRecord) ([]putRecord, error) {
	p.mu.Lock()
	rng, ok := p.ranges[shard]
	p.mu.Unlock()
	if !ok {
		c := &Consumer{client: p.client, cfg: Config{Stream: p.stream}}
		all, err := c.listShards(ctx)
		if err != nil {
			return nil, fmt.Errorf("kinesis: shard %s of an aggregate put: %w", shard, err)
		}
		p.mu.Lock()
		if p.ranges == nil {
			p.ranges = map[string]cluster.HashRange{}
		}
		for _, s := range all {
			if s.rng.Start != nil {
				p.ranges[s.id] = s.rng.Hash()
			}
		}
		rng, ok = p.ranges[shard]
		p.mu.Unlock()
		if !ok {
			return nil, fmt.Errorf("kinesis: an aggregate landed in shard %s, which ListShards of %s does not give a range", shard, p.stream)
		}
	}
	var off []putRecord
	for _, part := range parts {
		if !rng.Contains(part.key) {
			off = append(off, part)
		}
	}
	if len(off) > 0 {
		p.log.Info("kinesis: entries of an aggregate landed in a shard not theirs (shard map older than a reshard); putting them again",
			"stream", p.stream, "shard", shard, "entries", len(off))
	}
	return off, nil
}

// Retention returns the stream's retention period: how far back a
// consumer without a snapshot can replay.
func (p *Producer) Retention(ctx context.Context) (time.Duration, error) {
	out, err := p.client.DescribeStreamSummary(ctx, &kds.DescribeStreamSummaryInput{StreamName: aws.String(p.stream)})
	if err != nil {
		return 0, fmt.Errorf("kinesis: DescribeStreamSummary %s: %w", p.stream, err)
	}
	return time.Duration(aws.ToInt32(out.StreamDescriptionSummary.RetentionPeriodHours)) * time.Hour, nil
}
