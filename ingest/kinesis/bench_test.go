package kinesis

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	kds "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"rrdash/store"
)

// benchStore is the store benchmarks apply to.
func benchStore(b *testing.B) (Store, SeriesLookup, func(string, store.FetchRequest) (*store.FetchResult, error)) {
	s := newRRDStore()
	return s, s.lookup, s.fetch
}

func benchRecords(n, series int) []Record {
	const t0 = 1_700_000_040
	recs := make([]Record, n)
	for i := range recs {
		s := i % series
		ts := time.Unix(t0+int64(i/series)*60, 0).UTC().Format("2006-01-02T15:04:05.000000")
		recs[i] = Record{Shard: "shardId-000000000000", Seq: fmt.Sprintf("%056d", i+1),
			Data: fmt.Appendf(nil, `{"timestamp":%q,"name":"//host%d/check/section#metric","value":%d.25,"units":"ms"}`, ts, s, i)}
	}
	return recs
}

// BenchmarkDecode is the JSON decoding of one CIMAA record.
func BenchmarkDecode(b *testing.B) {
	recs := benchRecords(1000, 100)
	d, err := NewDecoder(DecoderConfig{})
	if err != nil {
		b.Fatal(err)
	}
	var items []DecodedItem
	var bad []ItemError
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		items, bad = d.Decode(recs[i%len(recs)].Data, time.Time{}, items[:0], bad[:0])
		if len(items) != 1 {
			b.Fatal(bad)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkDecodeTrack is decoding plus the grace buffer and checkpoint
// bookkeeping, flushing every 1000 records as the consumer does.
func BenchmarkDecodeTrack(b *testing.B) {
	recs := benchRecords(100_000, 1000)
	d, err := NewDecoder(DecoderConfig{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	now := time.Now()
	var tr *tracker
	for i := 0; b.Loop(); i++ {
		if i%len(recs) == 0 {
			tr = newTracker(d, time.Minute, time.Hour, noSeries)
			tr.addShard("shardId-000000000000", Checkpoint{})
		}
		if err := tr.observe(recs[i%len(recs)], now, 0); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 {
			tr.take(now, false, 60)
			tr.positions(0)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkKinesaliteToStore measures records/s end to end: a consumer
// reads a prefilled 2-shard kinesalite stream (10,000 records over 200
// series) until it has caught up, with everything applied to the store.
func BenchmarkKinesaliteToStore(b *testing.B) {
	ep := startKinesalite(b)
	ctx := context.Background()
	client := NewClient(Config{Endpoint: ep, Region: "us-east-1"})
	const n = 10_000
	t0 := (time.Now().Unix()/60 - 200) * 60
	var total time.Duration
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		stream := fmt.Sprintf("bench%d", i)
		createStream(ctx, b, client, stream, 2)
		for start := 0; start < n; start += 500 {
			in := &kds.PutRecordsInput{StreamName: aws.String(stream)}
			for j := start; j < start+500; j++ {
				name := fmt.Sprintf("//host%d/check/section#m", j%200)
				in.Records = append(in.Records, types.PutRecordsRequestEntry{PartitionKey: aws.String(name),
					Data: fmt.Appendf(nil, `{"timestamp":%d,"name":%q,"value":%d,"units":"ms"}`, t0+int64(j/200)*60, name, j)})
			}
			if _, err := client.PutRecords(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
		db, lookup, fetch := benchStore(b)
		_ = fetch
		cfg := Config{Stream: stream, Endpoint: ep, IdleFlush: 200 * time.Millisecond, FlushInterval: 100 * time.Millisecond,
			PollInterval: 50 * time.Millisecond, MinCallInterval: time.Millisecond, DeadLetterPath: filepath.Join(b.TempDir(), "dl.jsonl")}
		c, err := New(cfg, db, Options{Lookup: lookup})
		if err != nil {
			b.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		b.StartTimer()
		start := time.Now()
		go func() { done <- c.Run(rctx) }()
		for {
			s := c.Stats()
			if s.CaughtUp && s.Counts.Applied == n {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		total += time.Since(start)
		b.StopTimer()
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "records/s")
}
