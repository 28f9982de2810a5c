package kinesis

import (
	"context"
	"fmt"
	"testing"
	"time"

	"rrdash/store"
	"rrdash/store/cluster"
)

// BenchmarkReplicaApply is what a cluster node does with the records of
// its shards, without Kinesis in the loop: cluster log entries (one per
// series, perRecord updates each, as a writing node batches them) decoded
// and applied in one durable store batch per GetRecords answer of 1,000
// records, with the shard's position (Replica.onBatch), into a real store
// of 1,000 series with the default template; window=0 applies each answer
// on its own, window=100 gathers 100 answers (100,000 updates, the
// default window's update bound is 200,000) into one store apply.
// points/cpu-s is per second of the process's CPU time.
func BenchmarkReplicaApply(b *testing.B) {
	for _, c := range []struct{ perRecord, window int }{{1, 0}, {10, 0}, {100, 0}, {1, 100}, {10, 10}} {
		perRecord := c.perRecord
		b.Run(fmt.Sprintf("updates-per-record=%d/window=%d", perRecord, c.window), func(b *testing.B) {
			const series, batch = 1000, 1000
			db, err := store.Open(b.TempDir(), store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			r, err := NewReplica(Config{Stream: "bench", Region: "us-east-1"}, db, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			r.shards["s"] = &replicaShard{}
			if err := r.SetApplyWindow(time.Hour, max(c.window, 1)*batch*perRecord); err != nil {
				b.Fatal(err)
			}
			const t0 = 1_700_000_040
			spec := store.DefaultTemplate()
			spec.Start = t0 - 60
			seq, step := 0, 0
			next := func() shardBatch {
				sb := shardBatch{shard: "s", records: make([]Record, batch)}
				for i := range sb.records {
					e := cluster.Entry{Series: fmt.Sprintf("bench.s%d", i%series), Spec: spec}
					for u := range perRecord {
						e.Updates = append(e.Updates, cluster.Update{Time: t0 + int64(step+u)*60, Values: []string{fmt.Sprint(i + u)}})
					}
					seq++
					sb.records[i] = Record{Shard: "s", Seq: fmt.Sprintf("%056d", seq), Data: cluster.EncodeEntry(nil, e)}
				}
				step += perRecord
				return sb
			}
			ctx := context.Background()
			if err := r.onBatch(ctx, next()); err != nil { // creates the series
				b.Fatal(err)
			}
			if err := r.flush(ctx); err != nil {
				b.Fatal(err)
			}
			batches := make([]shardBatch, b.N)
			for i := range batches {
				batches[i] = next()
			}
			b.ResetTimer()
			cpu0, wall0 := cpuTime(b), time.Now()
			points := 0
			for _, sb := range batches {
				if err := r.onBatch(ctx, sb); err != nil {
					b.Fatal(err)
				}
				points += batch * perRecord
			}
			if err := r.flush(ctx); err != nil {
				b.Fatal(err)
			}
			cpu, wall := cpuTime(b)-cpu0, time.Since(wall0)
			if c := r.Counts(); c.Refused > 0 || c.Bad > 0 {
				b.Fatalf("counts %+v", c)
			}
			b.ReportMetric(float64(points)/cpu.Seconds(), "points/cpu-s")
			b.ReportMetric(float64(points)/wall.Seconds(), "points/s")
		})
	}
}
