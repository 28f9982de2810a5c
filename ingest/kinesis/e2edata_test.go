package kinesis

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"rrdash/ingest/kinesis/kds"
	"rrdash/store"
)

// e2e sizes: 200 series × 100 records = 20,000 records.
const (
	e2eSeries    = 200
	e2eProducers = 4
	e2eGood      = 96 // points per series on step boundaries
)

// e2eEntry is one record as a producer puts it, with what it should become.
type e2eEntry struct {
	data   string
	reason Reason // "" for good records
	shard  string // from PutRecords
	seq    string
	sub    int // 1 + sub-sequence index when put inside a KPL aggregate
	// maybeTwice: the SDK retried the PutRecords that put the entry, so an
	// earlier attempt may have stored it too (its answer lost): the stream
	// may hold a copy with a sequence number the test never learnt.
	maybeTwice bool
}

// putAttempts is how many attempts the client made for a call (retries
// are invisible otherwise; an attempt that failed after the service
// stored the records leaves a second copy in the stream — Kinesis
// producers are at least once).
func putAttempts(t *testing.T, out *kds.PutRecordsOutput) int {
	if out.Attempts < 1 {
		// Without it a retry would go unseen: the checks would be wrong.
		t.Error("PutRecords answer without its attempt count")
		return 2
	}
	return out.Attempts
}

type e2eSeriesData struct {
	name string
	// slots in put order; a slot's entries go into one PutRecords call
	// (a swapped pair: adjacent in the shard, so no idle flush between).
	slots  [][]*e2eEntry
	values []float64 // value of good point k at base+60k
}

// e2eData builds, per series, the records in the order one producer puts
// them: good points on step boundaries with some adjacent pairs swapped
// (within the grace window), one NDJSON record holding two points, two late
// points and three bad records.
func e2eData(base int64, rng *rand.Rand, nSeries int) []*e2eSeriesData {
	var all []*e2eSeriesData
	badKinds := []struct {
		data   func(name string, ts int64) string
		reason Reason
	}{
		{func(string, int64) string { return "this is not json" }, ReasonNotJSON},
		{func(n string, ts int64) string { return fmt.Sprintf(`{"timestamp":%d,"name":%q}`, ts, n) }, ReasonMissingField},
		{func(n string, ts int64) string { return fmt.Sprintf(`{"timestamp":%d,"name":%q,"value":"abc"}`, ts, n) }, ReasonBadValue},
		{func(n string, _ int64) string {
			return fmt.Sprintf(`{"timestamp":"last tuesday","name":%q,"value":1}`, n)
		}, ReasonBadTime},
		{func(n string, ts int64) string {
			return fmt.Sprintf(`{"timestamp":%d,"name":%q,"value":1}`, ts+86400*30, n)
		}, ReasonAbsurdTime},
	}
	for s := range nSeries {
		sd := &e2eSeriesData{name: fmt.Sprintf("//host%d/check/section#metric%d", s%17, s)}
		good := func(k int) string {
			ts := time.Unix(base+60*int64(k), 0).UTC().Format("2006-01-02T15:04:05.000000")
			if k%2 == 0 {
				return fmt.Sprintf(`{"timestamp":%q,"name":%q,"value":%v,"units":"ms"}`, ts, sd.name, sd.values[k])
			}
			return fmt.Sprintf(`{"timestamp":%d,"name":%q,"value":"%v","units":"ms"}`, base+60*int64(k), sd.name, sd.values[k])
		}
		for k := range e2eGood {
			sd.values = append(sd.values, float64(s*1000+k)/4+float64(rng.IntN(8)))
		}
		var ents [][]*e2eEntry
		for k := 0; k < e2eGood; k++ {
			switch {
			case k == 60: // two points in one NDJSON record
				ents = append(ents, []*e2eEntry{{data: good(k) + "\n" + good(k+1) + "\n"}})
				k++
			case k > 0 && k < e2eGood-1 && (k+s)%13 == 0 && k != 45 && k != 59 && k != 60:
				ents = append(ents, []*e2eEntry{{data: good(k + 1)}, {data: good(k)}}) // swapped, one step apart
				k++
			default:
				ents = append(ents, []*e2eEntry{{data: good(k)}})
			}
		}
		// Late points: six steps older than the newest point put before them.
		for _, at := range []int{30, 80} {
			ts := base + 60*int64(at-6) + 30
			late := &e2eEntry{data: fmt.Sprintf(`{"timestamp":%d,"name":%q,"value":99}`, ts, sd.name), reason: ReasonLate}
			ents = slices.Insert(ents, at, []*e2eEntry{late})
		}
		for i, at := range []int{10, 50, 90} {
			b := badKinds[(s+i)%len(badKinds)]
			ents = slices.Insert(ents, at, []*e2eEntry{{data: b.data(sd.name, base+60*int64(at)), reason: b.reason}})
		}
		sd.slots = ents
		all = append(all, sd)
	}
	return all
}

// produce puts the entries: producer p puts series s with s%producers == p,
// one entry of each of its series per PutRecords, pausing between rounds;
// at the middle round all wait while the first shard is split.
func produce(ctx context.Context, t *testing.T, client *kds.Client, stream string, data []*e2eSeriesData, producers int, pause time.Duration) error {
	rounds := 0
	for _, sd := range data {
		rounds = max(rounds, len(sd.slots))
	}
	splitAt := rounds / 2
	var arrived, splitDone sync.WaitGroup
	arrived.Add(producers)
	splitDone.Add(1)
	errs := make(chan error, producers+1)
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				if r == splitAt {
					arrived.Done()
					splitDone.Wait()
				}
				var batch []*e2eEntry
				in := &kds.PutRecordsInput{StreamName: aws.String(stream)}
				for s := p; s < len(data); s += producers {
					if r < len(data[s].slots) {
						for _, e := range data[s].slots[r] {
							batch = append(batch, e)
							in.Records = append(in.Records, kds.PutRecordsRequestEntry{Data: []byte(e.data), PartitionKey: aws.String(data[s].name)})
						}
					}
				}
				if len(batch) == 0 {
					continue
				}
				out, err := client.PutRecords(ctx, in)
				if err != nil {
					errs <- fmt.Errorf("producer %d round %d: %w", p, r, err)
					return
				}
				if n := aws.ToInt32(out.FailedRecordCount); n != 0 {
					errs <- fmt.Errorf("producer %d round %d: %d records failed", p, r, n)
					return
				}
				retried := putAttempts(t, out) > 1
				for i, res := range out.Records {
					batch[i].shard, batch[i].seq = aws.ToString(res.ShardId), aws.ToString(res.SequenceNumber)
					batch[i].maybeTwice = retried
				}
				if !sleep(ctx, pause) {
					errs <- ctx.Err()
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() { // the split, half-way
		defer wg.Done()
		arrived.Wait()
		defer splitDone.Done()
		if err := splitFirstShard(ctx, client, stream); err != nil {
			errs <- err
		}
	}()
	wg.Wait()
	close(errs)
	return <-errs
}

func splitFirstShard(ctx context.Context, client *kds.Client, stream string) error {
	ls, err := client.ListShards(ctx, &kds.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		return fmt.Errorf("ListShards: %w", err)
	}
	hr := ls.Shards[0].HashKeyRange
	lo, _ := new(big.Int).SetString(aws.ToString(hr.StartingHashKey), 10)
	hi, _ := new(big.Int).SetString(aws.ToString(hr.EndingHashKey), 10)
	mid := new(big.Int).Rsh(new(big.Int).Add(lo, hi), 1)
	if err := client.SplitShard(ctx, &kds.SplitShardInput{StreamName: aws.String(stream), ShardToSplit: ls.Shards[0].ShardId,
		NewStartingHashKey: aws.String(mid.String())}); err != nil {
		return fmt.Errorf("SplitShard: %w", err)
	}
	for {
		out, err := client.DescribeStreamSummary(ctx, &kds.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		if err != nil {
			return fmt.Errorf("DescribeStreamSummary: %w", err)
		}
		if out.StreamDescriptionSummary.StreamStatus == kds.StreamStatusActive {
			return nil
		}
		if !sleep(ctx, 20*time.Millisecond) {
			return ctx.Err()
		}
	}
}

// checkSeries compares every series' 1-minute averages with the values put.
func checkSeries(t *testing.T, fetch func(string, store.FetchRequest) (*store.FetchResult, error), base int64, data []*e2eSeriesData) {
	t.Helper()
	wrong := 0
	for _, sd := range data {
		res, err := fetch(sd.name, store.FetchRequest{CF: store.Average, Start: base - 60, End: base + 60*(e2eGood-1), Resolution: 60})
		if err != nil {
			t.Errorf("series %s: %v", sd.name, err)
			continue
		}
		col := res.Column("value")
		if res.Step != 60 || col == nil {
			t.Errorf("series %s: fetch step %d, columns %v", sd.name, res.Step, res.DS)
			continue
		}
		for k, want := range sd.values {
			ts := base + 60*int64(k)
			i := int((ts-res.Start)/res.Step) - 1
			if i < 0 || i >= len(col) {
				t.Errorf("series %s: no row for %d in (%d, %d]", sd.name, ts, res.Start, res.End)
				break
			}
			if got := col[i]; got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
				wrong++
				if wrong <= 10 {
					t.Errorf("series %s at %d (point %d): stored %v, put %v", sd.name, ts, k, got, want)
				}
			}
		}
	}
	if wrong > 0 {
		t.Errorf("%d stored values differ from those put", wrong)
	}
}

// checkDeadLetters wants each bad and late record exactly once in the file.
// An entry the SDK may have put twice (maybeTwice) may also have: its known
// copy dead-lettered as a duplicate or late point (the consumer took the
// unknown, earlier copy), and one more letter of the same data and reason
// under the other copy's sequence number.
func checkDeadLetters(t *testing.T, file []byte, data []*e2eSeriesData) {
	t.Helper()
	want := map[string]int{}
	twice := map[string]*e2eEntry{} // by the known copy's shard/seq/sub
	extra := map[string]int{}       // data/reason → letters the unknown copies may have
	retried := 0
	for _, sd := range data {
		for _, slot := range sd.slots {
			for _, e := range slot {
				if e.reason != "" {
					want[fmt.Sprintf("%s/%s/%d/0/%s", e.shard, e.seq, e.sub, e.reason)]++
				}
				if e.maybeTwice {
					retried++
					twice[fmt.Sprintf("%s/%s/%d", e.shard, e.seq, e.sub)] = e
					if e.reason != "" {
						extra[e.data+"/"+string(e.reason)]++
					}
				}
			}
		}
	}
	if retried > 0 {
		t.Logf("%d entries were put by a retried PutRecords: they may be in the stream twice", retried)
	}
	got := map[string]int{}
	for line := range bytes.Lines(file) {
		var d DeadLetter
		if err := json.Unmarshal(line, &d); err != nil {
			t.Fatalf("dead-letter line %q: %v", line, err)
		}
		k := fmt.Sprintf("%s/%s/%d/%d/%s", d.Shard, d.Seq, d.key().sub, d.Item, d.Reason)
		if want[k] == 0 {
			if e := twice[fmt.Sprintf("%s/%s/%d", d.Shard, d.Seq, d.key().sub)]; e != nil && e.reason == "" &&
				(d.Reason == ReasonDuplicate || d.Reason == ReasonLate) {
				continue // the second copy of a good point
			}
			if ek := d.Data + "/" + string(d.Reason); extra[ek] > 0 {
				extra[ek]--
				continue // the unknown copy of a bad record
			}
		}
		got[k]++
	}
	bad := 0
	for k, n := range want {
		if got[k] != n {
			if bad++; bad <= 10 {
				t.Errorf("dead letter %s: %d in the file, want %d", k, got[k], n)
			}
		}
	}
	for k, n := range got {
		if want[k] == 0 {
			if bad++; bad <= 20 {
				t.Errorf("unexpected dead letter %s (%d times)", k, n)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d dead-letter mismatches (%d expected entries, %d lines)", bad, len(want), len(got))
	}
}
