package kds_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"rrdash/ingest/kinesis/kds"
	"rrdash/ingest/kinesis/kinesistest"
)

func staticCreds() aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "a", SecretAccessKey: "b"}, nil
	})
}

// TestKinesalite runs every operation against kinesalite: a stream's
// life (create, describe, list, put, read, split, merge) and the error
// answers callers tell apart with errors.As.
func TestKinesalite(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := kds.New(kds.Options{Region: "us-east-1", Endpoint: kinesistest.Start(t), Credentials: staticCreds()})
	const stream = "kds"
	kinesistest.CreateStream(ctx, t, c, stream, 2)

	err := c.CreateStream(ctx, &kds.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(1)})
	if inUse := new(kds.ResourceInUseException); !errors.As(err, &inUse) || !strings.Contains(err.Error(), "kinesis CreateStream: ResourceInUseException (HTTP 400)") {
		t.Fatalf("CreateStream of an existing stream: %v, want ResourceInUseException", err)
	}
	sum, err := c.DescribeStreamSummary(ctx, &kds.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	if s := sum.StreamDescriptionSummary; s.StreamStatus != kds.StreamStatusActive || aws.ToInt32(s.OpenShardCount) != 2 ||
		aws.ToInt32(s.RetentionPeriodHours) != 24 || aws.ToString(s.StreamName) != stream {
		t.Fatalf("summary %+v", s)
	}
	_, err = c.DescribeStreamSummary(ctx, &kds.DescribeStreamSummaryInput{StreamName: aws.String("missing")})
	if nf := new(kds.ResourceNotFoundException); !errors.As(err, &nf) || nf.Err.Status != 400 {
		t.Fatalf("DescribeStreamSummary of a missing stream: %v, want ResourceNotFoundException", err)
	}

	ls, err := c.ListShards(ctx, &kds.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ls.Shards) != 2 || ls.NextToken != nil {
		t.Fatalf("ListShards: %d shards, token %v", len(ls.Shards), ls.NextToken)
	}
	for _, s := range ls.Shards {
		if s.HashKeyRange == nil || s.SequenceNumberRange == nil || s.SequenceNumberRange.StartingSequenceNumber == nil ||
			s.SequenceNumberRange.EndingSequenceNumber != nil || s.ParentShardId != nil {
			t.Fatalf("open shard %+v", s)
		}
	}
	first := aws.ToString(ls.Shards[0].ShardId)

	// One record by PutRecord, three by PutRecords, all to the first
	// shard (its starting hash key); the data is binary.
	hash := ls.Shards[0].HashKeyRange.StartingHashKey
	before := time.Now().Add(-time.Second)
	one, err := c.PutRecord(ctx, &kds.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String("k"), ExplicitHashKey: hash, Data: []byte{0, 1, 0xff}})
	if err != nil || aws.ToString(one.ShardId) != first || one.SequenceNumber == nil {
		t.Fatalf("PutRecord: %+v, %v", one, err)
	}
	in := &kds.PutRecordsInput{StreamName: aws.String(stream)}
	for i := range 3 {
		in.Records = append(in.Records, kds.PutRecordsRequestEntry{PartitionKey: aws.String("k"), ExplicitHashKey: hash, Data: fmt.Appendf(nil, "r%d", i)})
	}
	many, err := c.PutRecords(ctx, in)
	if err != nil || aws.ToInt32(many.FailedRecordCount) != 0 || len(many.Records) != 3 || many.Attempts != 1 {
		t.Fatalf("PutRecords: %+v, %v", many, err)
	}
	_, err = c.PutRecords(ctx, &kds.PutRecordsInput{StreamName: aws.String("missing"), Records: in.Records})
	if nf := new(kds.ResourceNotFoundException); !errors.As(err, &nf) {
		t.Fatalf("PutRecords to a missing stream: %v, want ResourceNotFoundException", err)
	}

	it, err := c.GetShardIterator(ctx, &kds.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: aws.String(first), ShardIteratorType: kds.ShardIteratorTypeTrimHorizon})
	if err != nil || it.ShardIterator == nil {
		t.Fatalf("GetShardIterator: %+v, %v", it, err)
	}
	recs, err := c.GetRecords(ctx, &kds.GetRecordsInput{ShardIterator: it.ShardIterator, Limit: aws.Int32(10)})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"\x00\x01\xff", "r0", "r1", "r2"}
	if len(recs.Records) != len(want) || recs.NextShardIterator == nil || recs.MillisBehindLatest == nil {
		t.Fatalf("GetRecords: %+v", recs)
	}
	for i, r := range recs.Records {
		at := aws.ToTime(r.ApproximateArrivalTimestamp)
		if string(r.Data) != want[i] || aws.ToString(r.PartitionKey) != "k" || at.Before(before) || at.After(time.Now().Add(time.Second)) {
			t.Fatalf("record %d: %q key %q arrival %v", i, r.Data, aws.ToString(r.PartitionKey), at)
		}
	}
	if got := aws.ToString(recs.Records[0].SequenceNumber); got != aws.ToString(one.SequenceNumber) {
		t.Fatalf("first record's sequence number %s, PutRecord's %s", got, aws.ToString(one.SequenceNumber))
	}
	after, err := c.GetShardIterator(ctx, &kds.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: aws.String(first),
		ShardIteratorType: kds.ShardIteratorTypeAfterSequenceNumber, StartingSequenceNumber: recs.Records[2].SequenceNumber})
	if err != nil {
		t.Fatal(err)
	}
	if rest, err := c.GetRecords(ctx, &kds.GetRecordsInput{ShardIterator: after.ShardIterator}); err != nil || len(rest.Records) != 1 || string(rest.Records[0].Data) != "r2" {
		t.Fatalf("GetRecords after the third record: %+v, %v", rest, err)
	}
	_, err = c.GetRecords(ctx, &kds.GetRecordsInput{ShardIterator: aws.String(strings.Repeat("A", 200))})
	if inv := new(kds.InvalidArgumentException); !errors.As(err, &inv) {
		t.Fatalf("GetRecords of a bad iterator: %v, want InvalidArgumentException", err)
	}
	_, err = c.GetShardIterator(ctx, &kds.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: aws.String("shardId-000000000009"), ShardIteratorType: kds.ShardIteratorTypeLatest})
	if nf := new(kds.ResourceNotFoundException); !errors.As(err, &nf) {
		t.Fatalf("GetShardIterator of a missing shard: %v, want ResourceNotFoundException", err)
	}

	// Split the first shard, then merge its children back.
	lo, _ := new(big.Int).SetString(aws.ToString(ls.Shards[0].HashKeyRange.StartingHashKey), 10)
	hi, _ := new(big.Int).SetString(aws.ToString(ls.Shards[0].HashKeyRange.EndingHashKey), 10)
	mid := new(big.Int).Rsh(new(big.Int).Add(lo, hi), 1)
	if err := c.SplitShard(ctx, &kds.SplitShardInput{StreamName: aws.String(stream), ShardToSplit: aws.String(first), NewStartingHashKey: aws.String(mid.String())}); err != nil {
		t.Fatal(err)
	}
	kinesistest.WaitActive(ctx, t, c, stream)
	ls, err = c.ListShards(ctx, &kds.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil || len(ls.Shards) != 4 {
		t.Fatalf("ListShards after the split: %+v, %v", ls, err)
	}
	if s := ls.Shards[0]; s.SequenceNumberRange.EndingSequenceNumber == nil {
		t.Fatalf("split shard %s not closed", aws.ToString(s.ShardId))
	}
	a, b := ls.Shards[2], ls.Shards[3]
	if aws.ToString(a.ParentShardId) != first || aws.ToString(b.ParentShardId) != first {
		t.Fatalf("children %+v %+v, want parent %s", a, b, first)
	}
	if err := c.MergeShards(ctx, &kds.MergeShardsInput{StreamName: aws.String(stream), ShardToMerge: a.ShardId, AdjacentShardToMerge: b.ShardId}); err != nil {
		t.Fatal(err)
	}
	kinesistest.WaitActive(ctx, t, c, stream)
	ls, err = c.ListShards(ctx, &kds.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil || len(ls.Shards) != 5 {
		t.Fatalf("ListShards after the merge: %+v, %v", ls, err)
	}
	if m := ls.Shards[4]; aws.ToString(m.ParentShardId) != aws.ToString(a.ShardId) || aws.ToString(m.AdjacentParentShardId) != aws.ToString(b.ShardId) {
		t.Fatalf("merged shard %+v, want parents %s and %s", m, aws.ToString(a.ShardId), aws.ToString(b.ShardId))
	}
	err = c.SplitShard(ctx, &kds.SplitShardInput{StreamName: aws.String(stream), ShardToSplit: aws.String("shardId-000000000099"), NewStartingHashKey: aws.String(mid.String())})
	if nf := new(kds.ResourceNotFoundException); !errors.As(err, &nf) {
		t.Fatalf("SplitShard of a missing shard: %v, want ResourceNotFoundException", err)
	}
}

type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// TestRetries: against a local server, the requests' protocol headers and
// signature, throttling retried up to MaxAttempts (and counted in
// PutRecords' Attempts), an expired iterator not retried and typed, the
// request of a ListShards page carrying only its token.
func TestRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		op       string
		failures int
		errType  string
		attempts int
		wantErr  func(error) bool
	}{
		{"throttled then fine", "GetRecords", 2, "ProvisionedThroughputExceededException", 3, nil},
		{"throttled too often", "GetRecords", 5, "ProvisionedThroughputExceededException", 3,
			func(err error) bool { e := new(kds.ProvisionedThroughputExceededException); return errors.As(err, &e) }},
		{"limit exceeded then fine", "PutRecords", 1, "LimitExceededException", 2, nil},
		{"KMS throttling: not retried", "GetRecords", 5, "KMSThrottlingException", 1,
			func(err error) bool { e := new(kds.KMSThrottlingException); return errors.As(err, &e) }},
		{"expired: not retried", "GetRecords", 5, "ExpiredIteratorException", 1,
			func(err error) bool { e := new(kds.ExpiredIteratorException); return errors.As(err, &e) }},
		{"5xx then fine", "PutRecords", 2, "", 3, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("X-Amz-Target") != "Kinesis_20131202."+tc.op || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" ||
					!strings.Contains(r.Header.Get("Authorization"), "/us-east-1/kinesis/aws4_request") {
					http.Error(w, "bad request headers", 400)
					return
				}
				w.Header().Set("Content-Type", "application/x-amz-json-1.1")
				if int(calls.Add(1)) <= tc.failures {
					if tc.errType == "" {
						w.WriteHeader(503)
						return
					}
					w.WriteHeader(400)
					fmt.Fprintf(w, `{"__type":%q,"message":"m"}`, tc.errType)
					return
				}
				switch tc.op {
				case "GetRecords":
					w.Write([]byte(`{"Records":[{"SequenceNumber":"1","PartitionKey":"k","Data":"aGk=","ApproximateArrivalTimestamp":1.7e9}],"NextShardIterator":"n","MillisBehindLatest":5}`))
				case "PutRecords":
					w.Write([]byte(`{"FailedRecordCount":1,"Records":[{"SequenceNumber":"1","ShardId":"shardId-000000000000"},{"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":"slow"}]}`))
				}
			}))
			defer srv.Close()
			c := kds.New(kds.Options{Region: "us-east-1", Endpoint: srv.URL, Credentials: staticCreds()})
			var err error
			switch tc.op {
			case "GetRecords":
				var out *kds.GetRecordsOutput
				out, err = c.GetRecords(t.Context(), &kds.GetRecordsInput{ShardIterator: aws.String("i")})
				if err == nil && (len(out.Records) != 1 || string(out.Records[0].Data) != "hi" || aws.ToInt64(out.MillisBehindLatest) != 5 ||
					aws.ToTime(out.Records[0].ApproximateArrivalTimestamp).Unix() != 1.7e9) {
					t.Fatalf("answer %+v", out)
				}
			case "PutRecords":
				var out *kds.PutRecordsOutput
				out, err = c.PutRecords(t.Context(), &kds.PutRecordsInput{StreamName: aws.String("s")})
				if err == nil && (out.Attempts != tc.attempts || aws.ToInt32(out.FailedRecordCount) != 1 || aws.ToString(out.Records[1].ErrorCode) != "ProvisionedThroughputExceededException") {
					t.Fatalf("answer %+v", out)
				}
			}
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !tc.wantErr(err) {
				t.Fatalf("error %v", err)
			}
			if got := int(calls.Load()); got != tc.attempts {
				t.Fatalf("%d attempts, want %d", got, tc.attempts)
			}
		})
	}
}

// TestListShardsPage: a next page's request carries its token (and a
// filter) without the stream name, which Kinesis refuses with a token; it
// goes to the region's endpoint; the answer's shards and token come back.
func TestListShardsPage(t *testing.T) {
	t.Parallel()
	var req string
	c := kds.New(kds.Options{Region: "eu-west-1", Credentials: staticCreds(), HTTPClient: doerFunc(func(r *http.Request) (*http.Response, error) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		req = r.URL.Scheme + "://" + r.URL.Host + " " + string(b)
		return &http.Response{StatusCode: 200, Header: http.Header{},
			Body: io.NopCloser(strings.NewReader(`{"Shards":[{"ShardId":"shardId-000000000003","ParentShardId":"shardId-000000000001"}],"NextToken":"next"}`))}, nil
	})})
	out, err := c.ListShards(t.Context(), &kds.ListShardsInput{NextToken: aws.String("tok"), ShardFilter: &kds.ShardFilter{Type: "AT_LATEST"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `https://kinesis.eu-west-1.amazonaws.com {"NextToken":"tok","ShardFilter":{"Type":"AT_LATEST"}}`; req != want {
		t.Fatalf("request %s, want %s", req, want)
	}
	if len(out.Shards) != 1 || aws.ToString(out.Shards[0].ParentShardId) != "shardId-000000000001" || aws.ToString(out.NextToken) != "next" {
		t.Fatalf("answer %+v", out)
	}
}
