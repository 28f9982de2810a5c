// Package kds is the small Kinesis Data Streams client of rrdash: the
// operations the consumer, producer and cluster topology use (ListShards,
// GetShardIterator, GetRecords, PutRecords, PutRecord,
// DescribeStreamSummary) and those tests reshape streams with
// (CreateStream, SplitShard, MergeShards), over Kinesis' JSON 1.1
// protocol through the transport shared with the DynamoDB client.
//
// Hand-written because the SDK's service/kinesis costs every rrdash
// process start about 0.5 M instructions and 35 page faults of package
// initialization, though most runs never talk to Kinesis (see
// docs/BENCHMARKS.md, Session 8). Inputs and outputs keep the SDK's
// shapes (pointer fields, the same names), so callers read as before;
// the operations whose answer is empty return only an error.
package kds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"rrdash/ingest/kinesis/internal/awsjson"
)

// Options configure a Client: Endpoint (empty: Kinesis' regional
// endpoint of Region), Region, Credentials (nil: not signed), HTTPClient,
// MaxAttempts (0: 3).
type Options = awsjson.Options

// HTTPClient sends HTTP requests: an *http.Client, or the SDK's.
type HTTPClient = awsjson.Doer

// Client sends Kinesis requests. It is safe for concurrent use.
type Client struct{ t *awsjson.Client }

// New returns a client of o.
func New(o Options) *Client {
	return &Client{awsjson.New(awsjson.Service{Name: "kinesis", Target: "Kinesis_20131202", ContentType: "application/x-amz-json-1.1"}, o)}
}

// call sends one operation; its error answers callers tell apart have
// their types.
func (c *Client) call(ctx context.Context, op string, in, out any) error {
	_, err := c.callN(ctx, op, in, out)
	return err
}

// callN is call that also returns how many requests it sent.
func (c *Client) callN(ctx context.Context, op string, in, out any) (int, error) {
	n, err := c.t.CallN(ctx, op, in, out)
	return n, typedError(err)
}

// typedError turns the error answers callers tell apart into their types.
func typedError(err error) error {
	var e *awsjson.Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Type {
	case "ResourceNotFoundException":
		return &ResourceNotFoundException{e}
	case "ResourceInUseException":
		return &ResourceInUseException{e}
	case "ExpiredIteratorException":
		return &ExpiredIteratorException{e}
	case "ProvisionedThroughputExceededException":
		return &ProvisionedThroughputExceededException{e}
	case "LimitExceededException":
		return &LimitExceededException{e}
	case "KMSThrottlingException":
		return &KMSThrottlingException{e}
	case "InvalidArgumentException":
		return &InvalidArgumentException{e}
	}
	return err
}

// do sends one operation and decodes its answer, nil on an error.
func do[T any](ctx context.Context, c *Client, op string, in any) (*T, error) {
	var out T
	if err := c.call(ctx, op, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// The error answers callers tell apart with errors.As. Each wraps the
// service's *awsjson.Error (its type, status and message).
type (
	ResourceNotFoundException              struct{ Err *awsjson.Error }
	ResourceInUseException                 struct{ Err *awsjson.Error }
	ExpiredIteratorException               struct{ Err *awsjson.Error }
	ProvisionedThroughputExceededException struct{ Err *awsjson.Error }
	LimitExceededException                 struct{ Err *awsjson.Error }
	KMSThrottlingException                 struct{ Err *awsjson.Error }
	InvalidArgumentException               struct{ Err *awsjson.Error }
)

func errText(e *awsjson.Error, typ string) string {
	if e == nil {
		return "kinesis: " + typ
	}
	return e.Error()
}

func (e *ResourceNotFoundException) Error() string {
	return errText(e.Err, "ResourceNotFoundException")
}
func (e *ResourceInUseException) Error() string   { return errText(e.Err, "ResourceInUseException") }
func (e *ExpiredIteratorException) Error() string { return errText(e.Err, "ExpiredIteratorException") }
func (e *ProvisionedThroughputExceededException) Error() string {
	return errText(e.Err, "ProvisionedThroughputExceededException")
}
func (e *LimitExceededException) Error() string   { return errText(e.Err, "LimitExceededException") }
func (e *KMSThrottlingException) Error() string   { return errText(e.Err, "KMSThrottlingException") }
func (e *InvalidArgumentException) Error() string { return errText(e.Err, "InvalidArgumentException") }

func (e *ResourceNotFoundException) Unwrap() error              { return e.Err }
func (e *ResourceInUseException) Unwrap() error                 { return e.Err }
func (e *ExpiredIteratorException) Unwrap() error               { return e.Err }
func (e *ProvisionedThroughputExceededException) Unwrap() error { return e.Err }
func (e *LimitExceededException) Unwrap() error                 { return e.Err }
func (e *KMSThrottlingException) Unwrap() error                 { return e.Err }
func (e *InvalidArgumentException) Unwrap() error               { return e.Err }

// ShardIteratorType is where a shard iterator starts.
type ShardIteratorType string

// Shard iterator types.
const (
	ShardIteratorTypeAtSequenceNumber    ShardIteratorType = "AT_SEQUENCE_NUMBER"
	ShardIteratorTypeAfterSequenceNumber ShardIteratorType = "AFTER_SEQUENCE_NUMBER"
	ShardIteratorTypeTrimHorizon         ShardIteratorType = "TRIM_HORIZON"
	ShardIteratorTypeLatest              ShardIteratorType = "LATEST"
	ShardIteratorTypeAtTimestamp         ShardIteratorType = "AT_TIMESTAMP"
)

// StreamStatus is a stream's state.
type StreamStatus string

// Stream states.
const (
	StreamStatusCreating StreamStatus = "CREATING"
	StreamStatusDeleting StreamStatus = "DELETING"
	StreamStatusActive   StreamStatus = "ACTIVE"
	StreamStatusUpdating StreamStatus = "UPDATING"
)

// Time is a timestamp of the JSON 1.1 protocol: epoch seconds, with a
// fraction, as a JSON number.
type Time struct{ time.Time }

// MarshalJSON writes epoch seconds with milliseconds, as the SDK does.
func (t Time) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(t.UnixMilli())/1e3, 'f', -1, 64), nil
}

// UnmarshalJSON reads epoch seconds (a number, or the number as a string).
func (t *Time) UnmarshalJSON(b []byte) error {
	if len(b) > 1 && b[0] == '"' {
		b = b[1 : len(b)-1]
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<53/1e3 {
		return fmt.Errorf("timestamp %q: want epoch seconds", b)
	}
	sec, frac := math.Modf(f)
	// Round to microseconds: the float's last bits are noise.
	t.Time = time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC()
	return nil
}

// HashKeyRange is a shard's range of partition-key hashes (decimal
// 128-bit numbers).
type HashKeyRange struct {
	StartingHashKey *string `json:",omitempty"`
	EndingHashKey   *string `json:",omitempty"`
}

// SequenceNumberRange is a shard's range of sequence numbers; an ending
// one means the shard is closed.
type SequenceNumberRange struct {
	StartingSequenceNumber *string `json:",omitempty"`
	EndingSequenceNumber   *string `json:",omitempty"`
}

// Shard is a shard of a stream.
type Shard struct {
	ShardId               *string
	ParentShardId         *string              `json:",omitempty"`
	AdjacentParentShardId *string              `json:",omitempty"`
	HashKeyRange          *HashKeyRange        `json:",omitempty"`
	SequenceNumberRange   *SequenceNumberRange `json:",omitempty"`
}

// ShardFilter selects the shards ListShards returns.
type ShardFilter struct {
	Type      string  // e.g. AT_LATEST, AT_TRIM_HORIZON, AFTER_SHARD_ID
	ShardId   *string `json:",omitempty"`
	Timestamp *Time   `json:",omitempty"`
}

// ListShardsInput asks for a stream's shards, or their next page.
type ListShardsInput struct {
	StreamName  *string      `json:",omitempty"` // not with NextToken
	NextToken   *string      `json:",omitempty"`
	MaxResults  *int32       `json:",omitempty"`
	ShardFilter *ShardFilter `json:",omitempty"`
}

// ListShardsOutput is a page of shards; NextToken is nil on the last.
type ListShardsOutput struct {
	Shards    []Shard
	NextToken *string
}

// ListShards lists a page of shards.
func (c *Client) ListShards(ctx context.Context, in *ListShardsInput) (*ListShardsOutput, error) {
	return do[ListShardsOutput](ctx, c, "ListShards", in)
}

// GetShardIteratorInput asks for an iterator of a shard.
type GetShardIteratorInput struct {
	StreamName             *string
	ShardId                *string
	ShardIteratorType      ShardIteratorType
	StartingSequenceNumber *string `json:",omitempty"`
	Timestamp              *Time   `json:",omitempty"`
}

// GetShardIteratorOutput holds the iterator.
type GetShardIteratorOutput struct{ ShardIterator *string }

// GetShardIterator gets a shard iterator.
func (c *Client) GetShardIterator(ctx context.Context, in *GetShardIteratorInput) (*GetShardIteratorOutput, error) {
	return do[GetShardIteratorOutput](ctx, c, "GetShardIterator", in)
}

// GetRecordsInput asks for the records after an iterator.
type GetRecordsInput struct {
	ShardIterator *string
	Limit         *int32 `json:",omitempty"`
}

// Record is a record read from a shard.
type Record struct {
	SequenceNumber              *string
	PartitionKey                *string
	Data                        []byte // base64 in JSON
	ApproximateArrivalTimestamp *time.Time
	EncryptionType              *string
}

// UnmarshalJSON reads the arrival time as epoch seconds.
func (r *Record) UnmarshalJSON(b []byte) error {
	type plain Record
	var v struct {
		*plain
		ApproximateArrivalTimestamp *Time
	}
	v.plain = (*plain)(r)
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	r.ApproximateArrivalTimestamp = nil
	if v.ApproximateArrivalTimestamp != nil {
		r.ApproximateArrivalTimestamp = &v.ApproximateArrivalTimestamp.Time
	}
	return nil
}

// ChildShard is a shard a closed shard was split or merged into.
type ChildShard struct {
	ShardId      *string
	ParentShards []string
	HashKeyRange *HashKeyRange
}

// GetRecordsOutput is a batch of records; NextShardIterator is nil at a
// closed shard's end.
type GetRecordsOutput struct {
	Records            []Record
	NextShardIterator  *string
	MillisBehindLatest *int64
	ChildShards        []ChildShard
}

// GetRecords reads records.
func (c *Client) GetRecords(ctx context.Context, in *GetRecordsInput) (*GetRecordsOutput, error) {
	return do[GetRecordsOutput](ctx, c, "GetRecords", in)
}

// PutRecordsRequestEntry is one record to put.
type PutRecordsRequestEntry struct {
	Data            []byte
	PartitionKey    *string
	ExplicitHashKey *string `json:",omitempty"`
}

// PutRecordsInput puts up to 500 records.
type PutRecordsInput struct {
	StreamName *string
	Records    []PutRecordsRequestEntry
}

// PutRecordsResultEntry is the fate of one record, in the input's order:
// a sequence number and shard, or an error code and message.
type PutRecordsResultEntry struct {
	SequenceNumber *string
	ShardId        *string
	ErrorCode      *string
	ErrorMessage   *string
}

// PutRecordsOutput holds each record's fate.
type PutRecordsOutput struct {
	FailedRecordCount *int32
	Records           []PutRecordsResultEntry
	EncryptionType    *string
	// Attempts is how many requests were sent (retries included): a
	// request that failed after the service stored its records leaves
	// them twice in the stream.
	Attempts int `json:"-"`
}

// PutRecords puts records; some may fail while others land.
func (c *Client) PutRecords(ctx context.Context, in *PutRecordsInput) (*PutRecordsOutput, error) {
	var out PutRecordsOutput
	n, err := c.callN(ctx, "PutRecords", in, &out)
	if err != nil {
		return nil, err
	}
	out.Attempts = n
	return &out, nil
}

// PutRecordInput puts one record.
type PutRecordInput struct {
	StreamName                *string
	PartitionKey              *string
	Data                      []byte
	ExplicitHashKey           *string `json:",omitempty"`
	SequenceNumberForOrdering *string `json:",omitempty"`
}

// PutRecordOutput is where the record landed.
type PutRecordOutput struct {
	SequenceNumber *string
	ShardId        *string
	EncryptionType *string
}

// PutRecord puts one record.
func (c *Client) PutRecord(ctx context.Context, in *PutRecordInput) (*PutRecordOutput, error) {
	return do[PutRecordOutput](ctx, c, "PutRecord", in)
}

// DescribeStreamSummaryInput names the stream.
type DescribeStreamSummaryInput struct{ StreamName *string }

// StreamDescriptionSummary is a stream's state without its shards.
type StreamDescriptionSummary struct {
	StreamName           *string
	StreamARN            *string
	StreamStatus         StreamStatus
	RetentionPeriodHours *int32
	OpenShardCount       *int32
	ConsumerCount        *int32
	EncryptionType       *string
	// StreamCreationTimestamp is left out: rrdash does not use it.
}

// DescribeStreamSummaryOutput holds the summary.
type DescribeStreamSummaryOutput struct {
	StreamDescriptionSummary *StreamDescriptionSummary
}

// DescribeStreamSummary describes a stream. A stream answered without
// its summary is an error, so callers may read the summary's fields.
func (c *Client) DescribeStreamSummary(ctx context.Context, in *DescribeStreamSummaryInput) (*DescribeStreamSummaryOutput, error) {
	var out DescribeStreamSummaryOutput
	if err := c.call(ctx, "DescribeStreamSummary", in, &out); err != nil {
		return nil, err
	}
	if out.StreamDescriptionSummary == nil {
		return nil, errors.New("kinesis DescribeStreamSummary: no StreamDescriptionSummary in the answer")
	}
	return &out, nil
}

// CreateStreamInput creates a provisioned stream of ShardCount shards.
type CreateStreamInput struct {
	StreamName *string
	ShardCount *int32 `json:",omitempty"`
}

// CreateStream creates a stream (CREATING until ACTIVE).
func (c *Client) CreateStream(ctx context.Context, in *CreateStreamInput) error {
	return c.call(ctx, "CreateStream", in, nil)
}

// SplitShardInput splits a shard at a hash key.
type SplitShardInput struct {
	StreamName         *string
	ShardToSplit       *string
	NewStartingHashKey *string
}

// SplitShard splits a shard in two (the stream UPDATING until done).
func (c *Client) SplitShard(ctx context.Context, in *SplitShardInput) error {
	return c.call(ctx, "SplitShard", in, nil)
}

// MergeShardsInput merges two adjacent shards.
type MergeShardsInput struct {
	StreamName           *string
	ShardToMerge         *string
	AdjacentShardToMerge *string
}

// MergeShards merges two adjacent shards into one.
func (c *Client) MergeShards(ctx context.Context, in *MergeShardsInput) error {
	return c.call(ctx, "MergeShards", in, nil)
}
