package kinesis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"rrdash/ingest/kinesis/kds"
	"rrdash/ingest/kinesis/kinesistest"
)

// TestKinesisKPLAggregatedKill9 puts KPL aggregates (built by the test
// encoder) and plain records into kinesalite, kills the consumer with
// SIGKILL a few times while it reads them, then lets it catch up: every
// good user record must be stored once and every bad or late one be in the
// dead-letter file once, named by sequence number and sub-sequence index.
func TestKinesisKPLAggregatedKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("long end-to-end test")
	}
	ep := kinesistest.Start(t)
	mk := consumerBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 180*time.Second)
	defer cancel()
	const stream = "cimaa-kpl"
	client := NewClient(Config{Endpoint: ep, Region: "us-east-1"})
	kinesistest.CreateStream(ctx, t, client, stream, 2)

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 24))
	base := (time.Now().Unix()/3600 - 4) * 3600
	data := e2eData(base, rng, 60)
	aggs, err := produceKPL(ctx, t, client, stream, data, 5)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stream filled: %d aggregates", aggs)

	dataDir := t.TempDir()
	deadLetters := filepath.Join(dataDir, "kinesis-"+stream+".deadletter.jsonl")
	args := []string{"--endpoint", ep, "--stream", stream, "--idle-flush", "3s", "--poll", "100ms", "--min-call-interval", "20ms", "--list-interval", "1s", "--limit", "40", "--flush-interval", "300ms"}
	killThenCatchUp(ctx, t, mk, dataDir, args, 3, 2*time.Second, rng)
	checkStoredOnce(t, dataDir, deadLetters, base, data)
}

// produceKPL puts the entries round by round, one PutRecords per round.
// Series form groups of `per` under one partition key (so a series stays
// on one shard); a group's entries of a round go into one KPL aggregate,
// except every third group's, which are put as plain records. It returns
// the number of aggregates put.
func produceKPL(ctx context.Context, t *testing.T, client *kds.Client, stream string, data []*e2eSeriesData, per int) (int, error) {
	rounds := 0
	for _, sd := range data {
		rounds = max(rounds, len(sd.slots))
	}
	aggs := 0
	for r := range rounds {
		in := &kds.PutRecordsInput{StreamName: aws.String(stream)}
		var put [][]*e2eEntry // per request entry, the user records it holds
		for g := 0; g*per < len(data); g++ {
			key := fmt.Sprintf("group%d", g)
			var ents []*e2eEntry
			for s := g * per; s < min(len(data), (g+1)*per); s++ {
				if r < len(data[s].slots) {
					ents = append(ents, data[s].slots[r]...)
				}
			}
			if len(ents) == 0 {
				continue
			}
			if g%3 == 2 {
				for _, e := range ents {
					in.Records = append(in.Records, kds.PutRecordsRequestEntry{Data: []byte(e.data), PartitionKey: aws.String(key)})
					put = append(put, []*e2eEntry{e})
				}
				continue
			}
			var users [][]byte
			for k, e := range ents {
				users = append(users, []byte(e.data))
				e.sub = k + 1
			}
			in.Records = append(in.Records, kds.PutRecordsRequestEntry{Data: kplAggregate(key, users...), PartitionKey: aws.String(key)})
			put = append(put, ents)
			aggs++
		}
		out, err := client.PutRecords(ctx, in)
		if err != nil {
			return aggs, fmt.Errorf("round %d: %w", r, err)
		}
		if n := aws.ToInt32(out.FailedRecordCount); n != 0 {
			return aggs, fmt.Errorf("round %d: %d records failed", r, n)
		}
		retried := putAttempts(t, out) > 1
		for i, res := range out.Records {
			for _, e := range put[i] {
				e.shard, e.seq = aws.ToString(res.ShardId), aws.ToString(res.SequenceNumber)
				e.maybeTwice = retried
			}
		}
	}
	return aggs, nil
}
