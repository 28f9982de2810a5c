package kinesis

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// kplStream is aggregates of 100 CIMAA user records each, over series
// series, the points of each series a minute apart, in stream order.
func kplStream(aggs, series int) []Record {
	const t0, perAgg = 1_700_000_040, 100
	out := make([]Record, aggs)
	users := make([][]byte, perAgg)
	for a := range out {
		for u := range users {
			i := a*perAgg + u
			ts := time.Unix(t0+int64(i/series)*60, 0).UTC().Format("2006-01-02T15:04:05.000000")
			users[u] = fmt.Appendf(nil, `{"timestamp":%q,"name":"//host%d/check/section#metric","value":%d.25,"units":"ms"}`, ts, i%series, i)
		}
		out[a] = Record{Shard: "shardId-000000000000", Seq: fmt.Sprintf("%056d", a+1), Data: kplAggregate("pk", users...)}
	}
	return out
}

// BenchmarkNodeApplyKPL is what one node does with the records of its
// shards, without Kinesis in the loop: KPL aggregates of 100 user records
// go through the consumer's own batch handling (de-aggregation, decoding,
// the grace buffer, checkpoint bookkeeping: runState.onBatch) and its
// flush (the dead-letter file, one durable store.Apply of the points and
// positions: runState.flush) into a real store, 1,000 existing series
// with the default template (or 10,000, each touched once per flush: the
// cost per series written dominates). A flush every `batch` points stands
// for the consumer's one per FlushInterval. points/cpu-s is points per second of
// the process's CPU time (every goroutine: the store's too), the figure
// per core; points/s is per second of wall time on a shared machine.
func BenchmarkNodeApplyKPL(b *testing.B) {
	const perAgg = 100
	for _, bc := range []struct{ series, batch int }{{1000, 10_000}, {1000, 100_000}, {10_000, 10_000}} {
		series, batch := bc.series, bc.batch
		b.Run(fmt.Sprintf("series=%d/batch=%d", series, batch), func(b *testing.B) {
			const pool = 4000
			recs := kplStream(pool, series)
			db, lookup, _ := benchStore(b)
			cfg := Config{Stream: "bench", Region: "us-east-1", Grace: time.Minute, IdleFlush: time.Hour,
				DeadLetterPath: filepath.Join(b.TempDir(), "dead.jsonl")}
			c, err := New(cfg, db, Options{Lookup: lookup})
			if err != nil {
				b.Fatal(err)
			}
			dl, err := openDeadLetters(cfg.DeadLetterPath)
			if err != nil {
				b.Fatal(err)
			}
			defer dl.Close()
			rs := &runState{c: c, tr: newTracker(c.dec, cfg.Grace, cfg.IdleFlush, lookup), dl: dl,
				known: map[string]shardInfo{}, running: map[string]*runningShard{}, ended: map[string]Lease{}, synced: map[string]bool{},
				shardStats: map[string]ShardStats{}}
			rs.tr.addShard("shardId-000000000000", Checkpoint{})
			ctx := context.Background()
			feed := func(r Record) {
				if err := rs.onBatch(shardBatch{shard: r.Shard, records: []Record{r}}); err != nil {
					b.Fatal(err)
				}
			}
			// Create the series first: creating archive files is a one-off
			// cost, not the steady rate.
			warm := 2 * series / perAgg
			for _, r := range recs[:warm] {
				feed(r)
			}
			if err := rs.flush(ctx, false); err != nil {
				b.Fatal(err)
			}
			applied0 := rs.tr.counts.Applied
			cpu0 := cpuTime(b)
			b.ResetTimer()
			for i := range b.N {
				if warm+i == len(recs) {
					b.Fatalf("more than %d aggregates: raise the benchmark's pool", len(recs)-warm)
				}
				feed(recs[warm+i])
				if (i+1)*perAgg%batch == 0 || i == b.N-1 {
					if err := rs.flush(ctx, false); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			cpu := cpuTime(b) - cpu0
			if bad := sum(rs.tr.counts.Bad); bad != 0 {
				b.Fatalf("%d points dead-lettered", bad)
			}
			applied := rs.tr.counts.Applied - applied0
			if applied < int64(b.N*perAgg-2*series) { // the grace buffer holds each series' newest points
				b.Fatalf("%d points applied of %d fed", applied, b.N*perAgg)
			}
			b.ReportMetric(float64(b.N*perAgg)/b.Elapsed().Seconds(), "points/s")
			b.ReportMetric(float64(b.N*perAgg)/cpu.Seconds(), "points/cpu-s")
		})
	}
}
