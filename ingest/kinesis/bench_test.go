package kinesis

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"rrdash/ingest/kinesis/kds"
	"rrdash/store"

	"rrdash/ingest/kinesis/kinesistest"
)

// benchStore is a real store in a fresh directory.
func benchStore(b *testing.B) (Store, SeriesLookup, func(string, store.FetchRequest) (*store.FetchResult, error)) {
	db, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db, StoreLookup(db), db.Fetch
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
// series) until it has caught up, with everything applied to a real store.
// The series exist already (a warm-up stream created them), so this is the
// steady rate, not the one-off cost of creating archive files.
func BenchmarkKinesaliteToStore(b *testing.B) {
	ep := kinesistest.Start(b)
	ctx := context.Background()
	client := NewClient(Config{Endpoint: ep, Region: "us-east-1"})
	db, lookup, _ := benchStore(b)
	const n, series = 10_000, 200
	t0 := (time.Now().Unix()/60 - 10*1440) * 60
	consume := func(i int) time.Duration {
		stream := fmt.Sprintf("bench%d", i)
		kinesistest.CreateStream(ctx, b, client, stream, 2)
		for start := 0; start < n; start += 500 {
			in := &kds.PutRecordsInput{StreamName: aws.String(stream)}
			for j := start; j < start+500; j++ {
				name := fmt.Sprintf("//host%d/check/section#m", j%series)
				ts := t0 + int64(i*n/series+j/series)*60
				in.Records = append(in.Records, kds.PutRecordsRequestEntry{PartitionKey: aws.String(name),
					Data: fmt.Appendf(nil, `{"timestamp":%d,"name":%q,"value":%d,"units":"ms"}`, ts, name, j)})
			}
			if _, err := client.PutRecords(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
		cfg := Config{Stream: stream, Endpoint: ep, IdleFlush: 50 * time.Millisecond, FlushInterval: 20 * time.Millisecond,
			PollInterval: 20 * time.Millisecond, MinCallInterval: time.Millisecond, DeadLetterPath: filepath.Join(b.TempDir(), "dl.jsonl")}
		c, err := New(cfg, db, Options{Lookup: lookup})
		if err != nil {
			b.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- c.Run(rctx) }()
		for {
			s := c.Stats()
			if s.CaughtUp && s.Counts.Applied == n {
				break
			}
			select {
			case err := <-done:
				b.Fatalf("consumer stopped: %v", err)
			case <-time.After(2 * time.Millisecond):
			}
		}
		took := time.Since(start)
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		return took
	}
	consume(0)
	var total time.Duration
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		total += consume(i)
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "records/s")
}

// BenchmarkDecodeApply is decoding, the grace buffer and applying to a real
// store (journaled and fsync'd per batch): one batch per 1000 records over
// 1000 series, as the consumer makes them at a high rate.
func BenchmarkDecodeApply(b *testing.B) {
	const batch = 1000
	recs := benchRecords(200_000, 1000)
	d, err := NewDecoder(DecoderConfig{})
	if err != nil {
		b.Fatal(err)
	}
	db, lookup, _ := benchStore(b)
	cps := StoreCheckpointer{Store: db, Stream: "bench"}
	tmpl := DefaultTemplate()
	tr := newTracker(d, time.Minute, time.Hour, lookup)
	tr.addShard("shardId-000000000000", Checkpoint{})
	ctx := context.Background()
	now := time.Now()
	flush := func(all bool) {
		w := tr.take(now, all, 60)
		changed, scan, _ := tr.positions(0)
		for _, ns := range w.create {
			spec := tmpl
			spec.Start = ns.Start
			if _, err := db.EnsureWithMeta(ns.Name, spec, map[string]string{"units": ns.Units}); err != nil {
				b.Fatal(err)
			}
		}
		sb := store.Batch{Positions: cps.Positions(changed, scan, nil)}
		for _, u := range w.updates {
			sb.Updates = append(sb.Updates, store.Update{Series: u.Series, Time: u.Sec, Usec: u.Usec, Values: []string{u.Value}})
		}
		res, err := db.Apply(ctx, sb)
		if err != nil || len(res.Errors) > 0 {
			b.Fatal(err, res.Errors)
		}
	}
	// Create the series first: creating preallocated archive files is a
	// one-off cost, not the steady rate.
	const warm = 3000
	for _, r := range recs[:warm] {
		if err := tr.observe(r, now, 0); err != nil {
			b.Fatal(err)
		}
	}
	flush(false)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if warm+i == len(recs) {
			b.Fatalf("more than %d records: raise the benchmark's data", len(recs)-warm)
		}
		if err := tr.observe(recs[warm+i], now, 0); err != nil {
			b.Fatal(err)
		}
		if i%batch == batch-1 || i == b.N-1 {
			flush(i == b.N-1)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
