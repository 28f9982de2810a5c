package kinesis

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// kplUser is one user record for the test encoder; the zero value of the
// optional parts writes what the KPL writes.
type kplUser struct {
	key    uint64  // partition key index
	hash   *uint64 // explicit hash key index, if any
	data   []byte
	noKey  bool // leave the required partition key index out
	noData bool // leave the required data out
	tag    bool // add a Tag {key, value}
}

// kplMessage encodes an AggregatedRecord as the KPL does.
func kplMessage(keys, hashKeys []string, users []kplUser) []byte {
	var b []byte
	for _, k := range keys {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, k)
	}
	for _, k := range hashKeys {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, k)
	}
	for _, u := range users {
		var r []byte
		if !u.noKey {
			r = protowire.AppendTag(r, 1, protowire.VarintType)
			r = protowire.AppendVarint(r, u.key)
		}
		if u.hash != nil {
			r = protowire.AppendTag(r, 2, protowire.VarintType)
			r = protowire.AppendVarint(r, *u.hash)
		}
		if !u.noData {
			r = protowire.AppendTag(r, 3, protowire.BytesType)
			r = protowire.AppendBytes(r, u.data)
		}
		if u.tag {
			var tg []byte
			tg = protowire.AppendTag(tg, 1, protowire.BytesType)
			tg = protowire.AppendString(tg, "k")
			tg = protowire.AppendTag(tg, 2, protowire.BytesType)
			tg = protowire.AppendString(tg, "v")
			r = protowire.AppendTag(r, 4, protowire.BytesType)
			r = protowire.AppendBytes(r, tg)
		}
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendBytes(b, r)
	}
	return b
}

// kplWrap frames a protobuf message: magic, message, MD5 of the message.
func kplWrap(msg []byte) []byte {
	sum := md5.Sum(msg)
	return slices.Concat(kplMagic, msg, sum[:])
}

// kplAggregate is what the KPL puts for user records under one partition key.
func kplAggregate(key string, data ...[]byte) []byte {
	users := make([]kplUser, len(data))
	for i, d := range data {
		users[i] = kplUser{data: d}
	}
	return kplWrap(kplMessage([]string{key}, nil, users))
}

func TestDeaggregate(t *testing.T) {
	t.Parallel()
	one := uint64(1)
	valid := kplAggregate("pk", []byte(`{"a":1}`), []byte("two"), []byte{})
	badMD5 := slices.Clone(valid)
	badMD5[len(badMD5)-1] ^= 0xff
	unknownField := protowire.AppendTag(kplMessage([]string{"pk"}, nil, []kplUser{{data: []byte("x")}}), 9, protowire.VarintType)
	unknownField = protowire.AppendVarint(unknownField, 7)
	truncMsg := kplMessage([]string{"pk"}, nil, []kplUser{{data: []byte("hello")}})
	tests := []struct {
		name    string
		data    []byte
		wantAgg bool
		want    []string // user record data, or "error: substring"
		wantErr string   // whole-aggregate error substring
	}{
		{name: "valid", data: valid, wantAgg: true, want: []string{`{"a":1}`, "two", ""}},
		{name: "valid with hash keys and tags", data: kplWrap(kplMessage([]string{"a", "b"}, []string{"123"},
			[]kplUser{{key: 1, hash: new(uint64), data: []byte("x"), tag: true}, {key: 0, data: []byte("y")}})), wantAgg: true, want: []string{"x", "y"}},
		{name: "unknown field skipped", data: kplWrap(unknownField), wantAgg: true, want: []string{"x"}},
		{name: "bad MD5: plain record", data: badMD5},
		{name: "truncated: MD5 no longer matches", data: valid[:len(valid)-3]},
		{name: "truncated protobuf with a matching MD5", data: kplWrap(truncMsg[:len(truncMsg)-2]), wantAgg: true, wantErr: "aggregate offset"},
		{name: "empty record", data: nil},
		{name: "magic only", data: kplMagic},
		{name: "empty protobuf: too short, plain as the KCL has it", data: kplWrap(nil)},
		{name: "keys but no user records", data: kplWrap(kplMessage([]string{"pk"}, nil, nil)), wantAgg: true, wantErr: "no user records"},
		{name: "non-aggregated JSON", data: []byte(`{"timestamp":1,"name":"a","value":1}`)},
		{name: "magic without protobuf and MD5", data: slices.Concat(kplMagic, []byte("plain text after the magic"))},
		{name: "wrong wire type for records", data: kplWrap(protowire.AppendVarint(protowire.AppendTag(nil, 3, protowire.VarintType), 1)), wantAgg: true, wantErr: "wire type"},
		{name: "bad user records fail alone", data: kplWrap(kplMessage([]string{"pk"}, nil, []kplUser{
			{data: []byte("ok")}, {noData: true}, {noKey: true, data: []byte("x")}, {key: 5, data: []byte("x")}, {hash: &one, data: []byte("x")}, {data: []byte("last")}})),
			wantAgg: true, want: []string{"ok", "error: no data", "error: no partition key index", "error: partition key index 5", "error: explicit hash key index 1", "last"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			users, ok, err := deaggregate(tc.data)
			if ok != tc.wantAgg {
				t.Fatalf("aggregated %v, want %v", ok, tc.wantAgg)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, u := range users {
				if u.err != nil {
					got = append(got, "error: "+u.err.Error())
				} else {
					got = append(got, string(u.data))
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("user records %q, want %q", got, tc.want)
			}
			for i := range got {
				if !strings.HasPrefix(tc.want[i], "error: ") && got[i] != tc.want[i] ||
					strings.HasPrefix(tc.want[i], "error: ") && !strings.Contains(got[i], strings.TrimPrefix(tc.want[i], "error: ")) {
					t.Errorf("user record %d: %q, want %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestDecodeRecordAggregated(t *testing.T) {
	t.Parallel()
	dec, err := NewDecoder(DecoderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	agg := kplWrap(kplMessage([]string{"pk"}, nil, []kplUser{
		{data: []byte(`{"timestamp":1700000000,"name":"a","value":1}`)},
		{data: []byte("not json")},
		{data: []byte(`{"timestamp":1700000060,"name":"a","value":2}` + "\n" + `{"timestamp":1700000060,"name":"b"}` + "\n" + `{"timestamp":1700000060,"name":"c","value":3}`)},
		{noData: true},
	}))
	items, bad, users := dec.DecodeRecord(agg, time.Time{}, nil, nil, nil)
	var gotItems, gotBad []string
	for _, it := range items {
		gotItems = append(gotItems, fmt.Sprintf("%d/%d %s=%s", it.Sub, it.Item, it.Point.Series, it.Point.Value))
	}
	for _, b := range bad {
		gotBad = append(gotBad, fmt.Sprintf("%d/%d %s", b.Sub, b.Item, b.Reason))
	}
	if want := []string{"1/0 a=1", "3/0 a=2", "3/2 c=3"}; !slices.Equal(gotItems, want) {
		t.Errorf("items %q, want %q", gotItems, want)
	}
	if want := []string{"2/0 not_json", "3/1 missing_field", "4/0 bad_aggregate"}; !slices.Equal(gotBad, want) {
		t.Errorf("bad items %q, want %q", gotBad, want)
	}
	if len(users) != 4 || string(users[1]) != "not json" {
		t.Errorf("users %q", users)
	}

	// A plain record decodes as before, with Sub 0.
	items, bad, users = dec.DecodeRecord([]byte(`{"timestamp":1700000000,"name":"a","value":1}`), time.Time{}, items[:0], bad[:0], users)
	if len(items) != 1 || items[0].Sub != 0 || len(bad) != 0 || len(users) != 0 {
		t.Errorf("plain record: items %+v bad %+v users %q", items, bad, users)
	}
	// A protobuf that does not parse behind a right MD5: one dead letter.
	_, bad, _ = dec.DecodeRecord(kplWrap([]byte{0x1a, 0x05, 'x'}), time.Time{}, nil, nil, nil)
	if len(bad) != 1 || bad[0].Reason != ReasonBadAggregate || bad[0].Sub != 0 {
		t.Errorf("malformed aggregate: bad %+v", bad)
	}
}

// TestTrackerAggregateDeadLetters: a bad user record is a dead letter naming
// the sequence number and sub-sequence index, holding the user record.
func TestTrackerAggregateDeadLetters(t *testing.T) {
	t.Parallel()
	dec, err := NewDecoder(DecoderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	tr := newTracker(dec, time.Minute, time.Hour, noSeries)
	tr.addShard("s1", Checkpoint{})
	data := kplAggregate("pk", []byte(`{"timestamp":1700000040,"name":"a","value":1}`), []byte("bad one"), []byte(`{"timestamp":1700000040,"name":"b","value":2}`))
	if err := tr.observe(Record{Shard: "s1", Seq: "00007", Data: data}, time.Unix(1700000040, 0), 0); err != nil {
		t.Fatal(err)
	}
	w, changed := flushOnce(t, tr, time.Unix(1700000040, 0), true)
	if len(w.dead) != 1 {
		t.Fatalf("dead letters %+v, want 1", w.dead)
	}
	d := w.dead[0]
	if d.Seq != "00007" || d.Sub == nil || *d.Sub != 1 || d.Item != 0 || d.Reason != ReasonNotJSON || d.Data != "bad one" {
		t.Errorf("dead letter %+v (sub %v), want seq 00007 sub 1 item 0 not_json with the user record", d, d.Sub)
	}
	var ups []string
	for _, u := range w.updates {
		ups = append(ups, fmt.Sprintf("%s sub %d", u.Series, u.Sub))
	}
	if want := []string{"a sub 1", "b sub 3"}; !slices.Equal(ups, want) {
		t.Errorf("updates %q, want %q", ups, want)
	}
	if changed["s1"].CP != "00007" {
		t.Errorf("checkpoint %+v, want CP 00007", changed["s1"])
	}
	// A restart that re-reads the record (the crash fell before the batch)
	// with the letter already in the file does not write it again.
	tr2 := newTracker(dec, time.Minute, time.Hour, noSeries)
	tr2.addShard("s1", Checkpoint{})
	tr2.rememberDeadLetter(&d, 0)
	if err := tr2.observe(Record{Shard: "s1", Seq: "00007", Data: data}, time.Unix(1700000040, 0), 0); err != nil {
		t.Fatal(err)
	}
	if w2, _ := flushOnce(t, tr2, time.Unix(1700000040, 0), true); len(w2.dead) != 0 || len(w2.updates) != 2 {
		t.Errorf("after restart: dead %+v updates %+v, want none and 2", w2.dead, w2.updates)
	}
	// The same item of another user record is another letter: keys differ.
	other := d
	zero := 0
	other.Sub = &zero
	if other.key() == d.key() || (&DeadLetter{Shard: d.Shard, Seq: d.Seq}).key() == other.key() {
		t.Errorf("dead-letter keys do not tell sub-sequences apart: %+v", d.key())
	}
}

func FuzzDeaggregate(f *testing.F) {
	f.Add(kplAggregate("pk", []byte(`{"timestamp":1700000000,"name":"a","value":1}`), []byte("x")))
	f.Add(kplWrap(kplMessage([]string{"a", "b"}, []string{"1"}, []kplUser{{key: 1, data: []byte("y"), tag: true}, {noData: true}, {key: 9}})))
	f.Add(kplWrap([]byte{0x1a, 0x05, 'x'}))
	f.Add(kplWrap(nil))
	f.Add([]byte(`{"timestamp":1,"name":"a","value":1}`))
	f.Add(slices.Concat(kplMagic, []byte("0123456789abcdefXYZ")))
	dec, err := NewDecoder(DecoderConfig{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		users, ok, err := deaggregate(data)
		isAgg := len(data) > len(kplMagic)+md5.Size && bytes.HasPrefix(data, kplMagic)
		if isAgg {
			msg := data[len(kplMagic) : len(data)-md5.Size]
			sum := md5.Sum(msg)
			isAgg = bytes.Equal(sum[:], data[len(data)-md5.Size:])
		}
		if ok != isAgg {
			t.Fatalf("aggregated %v, magic and MD5 say %v", ok, isAgg)
		}
		if !ok && (users != nil || err != nil) {
			t.Fatalf("plain record with users %v or error %v", users, err)
		}
		if err == nil && ok && len(users) == 0 {
			t.Fatal("aggregate with no user records and no error")
		}
		for k, u := range users {
			if u.err == nil && len(u.data) > 0 && !bytes.Contains(data, u.data) {
				t.Fatalf("user record %d: data %q not in the record", k, u.data)
			}
		}
		items, bad, _ := dec.DecodeRecord(data, time.Time{}, nil, nil, nil)
		for _, it := range items {
			if it.Sub < 0 || it.Sub > len(users) || !ok && it.Sub != 0 {
				t.Fatalf("item sub %d with %d user records", it.Sub, len(users))
			}
		}
		if len(items)+len(bad) == 0 {
			t.Fatal("record decoded to nothing: a silent drop")
		}
	})
}

// TestTrackerAggregateRestart cuts a run after every flush and restarts it
// from what was durable: aggregates whose user records feed several series
// (some applied, some still buffered when the cut falls) must end with the
// same points applied and the same dead letters as an uncut run.
func TestTrackerAggregateRestart(t *testing.T) {
	t.Parallel()
	const t0 = 1_700_000_040
	var recs []Record
	for i := range 30 {
		var users [][]byte
		for s := range 3 {
			sec := int64(t0 + 30*i + s)
			if i%7 == 3 && s == 0 {
				sec -= 45 // out of order, inside the window
			}
			users = append(users, fmt.Appendf(nil, `{"timestamp":%d,"name":"s%d","value":%d}`, sec, (i+s)%4, i))
		}
		if i%5 == 2 {
			users = append(users, []byte("not json"), fmt.Appendf(nil, `{"timestamp":%d,"name":"s0","value":1}`, t0+30*i-600)) // late
		}
		data := kplAggregate("pk", users...)
		if i%4 == 1 {
			data = users[0] // a plain record among the aggregates
		}
		recs = append(recs, Record{Shard: "s1", Seq: fmt.Sprintf("%05d", i+1), Data: data})
	}
	dec, err := NewDecoder(DecoderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	run := func(d *durable, every, stopAt int) bool {
		tr := d.tracker(dec)
		for i := range d.dead {
			tr.rememberDeadLetter(&d.dead[i], int64(i))
		}
		return d.feed(t, tr, d.resume(tr, "s1", recs), time.Unix(t0, 0), every, stopAt)
	}
	want := newDurable()
	run(want, 4, -1)
	if len(want.dead) == 0 || len(want.applied) != 4 {
		t.Fatalf("test data exercises nothing: %+v", want)
	}
	for _, d := range want.dead {
		if d.Sub == nil && d.Reason == ReasonNotJSON {
			t.Fatalf("dead letter of a user record without its sub-sequence: %+v", d)
		}
	}
	checkCuts(t, want, 4, run)
}

// BenchmarkDecodeRecordAggregated decodes KPL aggregates of 100 CIMAA user
// records each (de-aggregation, MD5 and JSON decoding).
func BenchmarkDecodeRecordAggregated(b *testing.B) {
	recs := benchRecords(1000, 100)
	var aggs [][]byte
	for i := 0; i < len(recs); i += 100 {
		var users [][]byte
		for _, r := range recs[i : i+100] {
			users = append(users, r.Data)
		}
		aggs = append(aggs, kplAggregate("pk", users...))
	}
	d, err := NewDecoder(DecoderConfig{})
	if err != nil {
		b.Fatal(err)
	}
	var items []DecodedItem
	var bad []ItemError
	var users [][]byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		items, bad, users = d.DecodeRecord(aggs[i%len(aggs)], time.Time{}, items[:0], bad[:0], users)
		if len(items) != 100 {
			b.Fatal(bad)
		}
	}
	b.ReportMetric(float64(b.N)*100/b.Elapsed().Seconds(), "user-records/s")
}

// TestTrackerAggregateSnapshot: a buffered point of a user record keeps its
// sub-sequence through a grace buffer snapshot and restore, so a store
// refusal after a restart still names the right user record.
func TestTrackerAggregateSnapshot(t *testing.T) {
	t.Parallel()
	dec, err := NewDecoder(DecoderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	tr := newTracker(dec, time.Minute, time.Hour, noSeries)
	tr.addShard("s1", Checkpoint{})
	data := kplAggregate("pk", []byte(`{"timestamp":1700000040,"name":"a","value":1}`), []byte(`{"timestamp":1700000040,"name":"b","value":2}`+"\n"+`{"timestamp":1700000041,"name":"c","value":3}`))
	if err := tr.observe(Record{Shard: "s1", Seq: "00009", Data: data}, time.Unix(1700000040, 0), 0); err != nil {
		t.Fatal(err)
	}
	changed, _, _ := tr.positions(0)
	snap, _ := tr.snapshot(changed)
	again, err := decodeBuffer(encodeBuffer(snap))
	if err != nil {
		t.Fatal(err)
	}
	tr2 := newTracker(dec, time.Minute, time.Hour, noSeries)
	tr2.addShard("s1", changed["s1"])
	if err := tr2.restore(again, time.Unix(1700000040, 0)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range tr2.take(time.Unix(1700000040, 0), true, 60).updates {
		got = append(got, fmt.Sprintf("%s %s/%d/%d", u.Series, u.Seq, u.Sub, u.Item))
	}
	slices.Sort(got)
	if want := []string{"a 00009/1/0", "b 00009/2/0", "c 00009/2/1"}; !slices.Equal(got, want) {
		t.Errorf("restored updates %q, want %q", got, want)
	}
}
