package cluster

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"rrdash/ingest/kinesis/kds"
	"rrdash/ingest/kinesis/kinesistest"
)

func kinesisClient(endpoint string) *kds.Client {
	return kds.New(kds.Options{Region: "us-east-1", Endpoint: endpoint,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "rrdash", SecretAccessKey: "rrdash"}, nil
		})})
}

// openRouter lists the stream's open shards into a Router.
func openRouter(ctx context.Context, t *testing.T, c *kds.Client, stream string) *Router {
	t.Helper()
	res, err := c.ListShards(ctx, &kds.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	var open []ShardRange
	for _, s := range res.Shards {
		if s.SequenceNumberRange != nil && s.SequenceNumberRange.EndingSequenceNumber != nil {
			continue // closed by a reshard: no new records
		}
		r, err := ParseRange(aws.ToString(s.ShardId), aws.ToString(s.HashKeyRange.StartingHashKey), aws.ToString(s.HashKeyRange.EndingHashKey))
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, r)
	}
	rt, err := NewRouter(open)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// TestRouterAgreesWithKinesalite: for series names put with themselves as
// partition key, the router names the shard kinesalite put the record in,
// on a 4-shard stream and after a split.
func TestRouterAgreesWithKinesalite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := kinesisClient(kinesistest.Start(t))
	kinesistest.CreateStream(ctx, t, c, "route", 4)
	check := func(rt *Router, n int) map[string]int {
		t.Helper()
		per := map[string]int{}
		for i := range n {
			name := fmt.Sprintf("//host%d/check/section#metric%d", i%7, i)
			out, err := c.PutRecord(ctx, &kds.PutRecordInput{StreamName: aws.String("route"), PartitionKey: aws.String(name), Data: []byte("{}")})
			if err != nil {
				t.Fatal(err)
			}
			got := rt.Shard(name)
			if got != aws.ToString(out.ShardId) {
				t.Fatalf("series %q: router says %s, kinesalite put it in %s (hash key %s; ranges %s)", name, got, aws.ToString(out.ShardId), HashKey(name), rt)
			}
			per[got]++
		}
		return per
	}
	rt := openRouter(ctx, t, c, "route")
	if per := check(rt, 200); len(per) != 4 {
		t.Errorf("200 series over %d shards: %v", len(per), per)
	}
	// Split the first shard: its children take its range.
	res, _ := c.ListShards(ctx, &kds.ListShardsInput{StreamName: aws.String("route")})
	p := res.Shards[0]
	lo, _ := new(big.Int).SetString(aws.ToString(p.HashKeyRange.StartingHashKey), 10)
	hi, _ := new(big.Int).SetString(aws.ToString(p.HashKeyRange.EndingHashKey), 10)
	mid := new(big.Int).Rsh(new(big.Int).Add(lo, hi), 1)
	if err := c.SplitShard(ctx, &kds.SplitShardInput{StreamName: aws.String("route"), ShardToSplit: p.ShardId, NewStartingHashKey: aws.String(mid.String())}); err != nil {
		t.Fatal(err)
	}
	kinesistest.WaitActive(ctx, t, c, "route")
	rt = openRouter(ctx, t, c, "route")
	per := check(rt, 200)
	if per[aws.ToString(p.ShardId)] != 0 || len(per) != 5 {
		t.Errorf("after the split: %v (the parent %s is closed)", per, aws.ToString(p.ShardId))
	}
}

func TestNewRouterRefuses(t *testing.T) {
	t.Parallel()
	r := func(id, a, b string) ShardRange {
		x, err := ParseRange(id, a, b)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	top := maxHashKey.String()
	half := new(big.Int).Rsh(maxHashKey, 1)
	h, h1 := half.String(), new(big.Int).Add(half, big.NewInt(1)).String()
	h2 := new(big.Int).Add(half, big.NewInt(2)).String()
	for _, tt := range []struct {
		name   string
		shards []ShardRange
		want   string
	}{
		{"none", nil, "no open shards"},
		{"gap", []ShardRange{r("a", "0", h), r("b", h2, top)}, "a gap"},
		{"overlap", []ShardRange{r("a", "0", h1), r("b", h, top)}, "an overlap"},
		{"short", []ShardRange{r("a", "0", h)}, "not 2^128-1"},
		{"late start", []ShardRange{r("a", "1", top)}, "a gap"},
	} {
		if _, err := NewRouter(tt.shards); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	if _, err := NewRouter([]ShardRange{r("b", h1, top), r("a", "0", h)}); err != nil {
		t.Errorf("two halves out of order: %v", err)
	}
}

func TestParseRange(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ start, end string }{
		{"-1", "5"}, {"0", "x"}, {"5", "4"}, {"0", new(big.Int).Lsh(big.NewInt(1), 128).String()}, {"", "1"},
	} {
		if _, err := ParseRange("s", tt.start, tt.end); err == nil {
			t.Errorf("ParseRange(%q, %q) accepted", tt.start, tt.end)
		}
	}
}

// FuzzParseRange: any input either parses into an ordered range within
// the hash-key space or is refused; never a panic.
func FuzzParseRange(f *testing.F) {
	f.Add("0", "340282366920938463463374607431768211455")
	f.Add("10", "9")
	f.Add("0x10", "1e3")
	f.Fuzz(func(t *testing.T, a, b string) {
		r, err := ParseRange("s", a, b)
		if err != nil {
			return
		}
		if r.Start.Sign() < 0 || r.End.Cmp(maxHashKey) > 0 || r.Start.Cmp(r.End) > 0 {
			t.Errorf("ParseRange(%q, %q) = %v..%v", a, b, r.Start, r.End)
		}
	})
}

func TestHashKeyIsMD5BigEndian(t *testing.T) {
	t.Parallel()
	// MD5("") = d41d8cd98f00b204e9800998ecf8427e.
	want, _ := new(big.Int).SetString("d41d8cd98f00b204e9800998ecf8427e", 16)
	if got := HashKey(""); got.Cmp(want) != 0 {
		t.Errorf("HashKey(\"\") = %x", got)
	}
}
