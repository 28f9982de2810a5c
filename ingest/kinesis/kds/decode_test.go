package kds

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"rrdash/ingest/kinesis/internal/awsjson"
)

// TestTime: epoch seconds with a fraction (as a number, or a string of
// one) to microseconds; anything else refused; the written form reads
// back.
func TestTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{`1700000000`, time.Unix(1700000000, 0), false},
		{`1700000000.123`, time.Unix(1700000000, 123e6), false},
		{`1.7000000001234567E9`, time.Unix(1700000000, 123457e3), false},
		{`"1700000000.5"`, time.Unix(1700000000, 5e8), false},
		{`-1.5`, time.Unix(-1, -5e8), false},
		{`"2023-11-14T22:13:20Z"`, time.Time{}, true},
		{`1e300`, time.Time{}, true},
		{`true`, time.Time{}, true},
		{`""`, time.Time{}, true},
	}
	for _, tc := range tests {
		var got Time
		err := json.Unmarshal([]byte(tc.in), &got)
		if tc.bad != (err != nil) || !tc.bad && !got.Equal(tc.want) {
			t.Errorf("%s: %v, %v; want %v (bad %v)", tc.in, got.Time, err, tc.want, tc.bad)
		}
	}
	b, _ := json.Marshal(Time{time.UnixMilli(1700000000123)})
	if string(b) != "1700000000.123" {
		t.Errorf("written %s", b)
	}
}

// TestTypedErrors: each error answer callers tell apart has its type,
// which unwraps to the service's error; the others stay *awsjson.Error.
func TestTypedErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ string
		is  func(error) bool
	}{
		{"ResourceNotFoundException", func(err error) bool { e := new(ResourceNotFoundException); return errors.As(err, &e) }},
		{"ResourceInUseException", func(err error) bool { e := new(ResourceInUseException); return errors.As(err, &e) }},
		{"ExpiredIteratorException", func(err error) bool { e := new(ExpiredIteratorException); return errors.As(err, &e) }},
		{"ProvisionedThroughputExceededException", func(err error) bool { e := new(ProvisionedThroughputExceededException); return errors.As(err, &e) }},
		{"LimitExceededException", func(err error) bool { e := new(LimitExceededException); return errors.As(err, &e) }},
		{"KMSThrottlingException", func(err error) bool { e := new(KMSThrottlingException); return errors.As(err, &e) }},
		{"InvalidArgumentException", func(err error) bool { e := new(InvalidArgumentException); return errors.As(err, &e) }},
		{"AccessDeniedException", func(err error) bool { _, ok := err.(*awsjson.Error); return ok }},
	}
	for _, tc := range tests {
		e := awsjson.DecodeError("GetRecords", 400, "", []byte(`{"__type":"`+tc.typ+`","message":"m"}`))
		err := typedError(e)
		if !tc.is(err) || !awsjson.IsType(err, tc.typ) || err.Error() != e.Error() {
			t.Errorf("%s: %T %v", tc.typ, err, err)
		}
	}
	if typedError(nil) != nil {
		t.Error("nil error typed")
	}
}

// FuzzDecodeRecords: any GetRecords answer (or error answer) decodes or
// is refused, never a panic; a decoded one writes and reads back the same
// data and arrival times (to the millisecond written).
func FuzzDecodeRecords(f *testing.F) {
	f.Add(200, []byte(`{"Records":[{"SequenceNumber":"4959","PartitionKey":"k","Data":"aGk=","ApproximateArrivalTimestamp":1.7000000001234E9}],"NextShardIterator":"it","MillisBehindLatest":0,"ChildShards":[{"ShardId":"s","ParentShards":["p"],"HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"9"}}]}`))
	f.Add(200, []byte(`{"Records":[{"Data":null,"ApproximateArrivalTimestamp":"1"}]}`))
	f.Add(400, []byte(`{"__type":"ExpiredIteratorException","message":"Iterator expired."}`))
	f.Add(200, []byte(`{"Records":[{"ApproximateArrivalTimestamp":1e308}]}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if e := awsjson.DecodeError("GetRecords", status, "", body); e.Type == "" {
			t.Fatalf("no type for %q", body)
		}
		var out GetRecordsOutput
		if json.Unmarshal(body, &out) != nil {
			return
		}
		for _, r := range out.Records {
			var back []byte
			if r.ApproximateArrivalTimestamp != nil {
				var err error
				if back, err = json.Marshal(Time{*r.ApproximateArrivalTimestamp}); err != nil {
					t.Fatal(err)
				}
				var again Time
				if err := json.Unmarshal(back, &again); err != nil || again.UnixMilli() != r.ApproximateArrivalTimestamp.UnixMilli() {
					t.Fatalf("arrival %v written %s reads back %v, %v", r.ApproximateArrivalTimestamp, back, again.Time, err)
				}
			}
			d, err := json.Marshal(r.Data)
			if err != nil {
				t.Fatal(err)
			}
			var data []byte
			if err := json.Unmarshal(d, &data); err != nil || string(data) != string(r.Data) {
				t.Fatalf("data %q changes through JSON: %q, %v", r.Data, data, err)
			}
		}
	})
}
