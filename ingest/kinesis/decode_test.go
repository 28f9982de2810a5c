package kinesis

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	arrival := time.Date(2014, 12, 13, 16, 20, 0, 0, time.UTC)
	base := time.Date(2014, 12, 13, 16, 14, 47, 0, time.UTC).Unix()
	type pt struct {
		item   int
		series string
		sec    int64
		usec   int64
		value  string
		units  string
	}
	type bad struct {
		item   int
		reason Reason
	}
	tests := []struct {
		name string
		tags []string
		data string
		want []pt
		bad  []bad
	}{
		{name: "CIMAA object, no zone", data: `{"timestamp": "2014-12-13T16:14:47.820000", "name": "//host/check/section#metric", "value": 1.5, "units": "ms"}`,
			want: []pt{{0, "//host/check/section#metric", base, 820000, "1.5", "ms"}}},
		{name: "Z and short fraction", data: `{"timestamp":"2014-12-13T16:14:47.8Z","name":"a","value":2}`,
			want: []pt{{0, "a", base, 800000, "2", ""}}},
		{name: "offset with colon", data: `{"timestamp":"2014-12-13T17:14:47+01:00","name":"a","value":2}`,
			want: []pt{{0, "a", base, 0, "2", ""}}},
		{name: "offset without colon, space separator", data: `{"timestamp":"2014-12-13 11:14:47-0500","name":"a","value":"3.25"}`,
			want: []pt{{0, "a", base, 0, "3.25", ""}}},
		{name: "nanosecond fraction truncated", data: `{"timestamp":"2014-12-13T16:14:47.123456789Z","name":"a","value":-1e3}`,
			want: []pt{{0, "a", base, 123456, "-1000", ""}}},
		{name: "epoch number", data: `{"timestamp":1418487287.5,"name":"a","value":0}`,
			want: []pt{{0, "a", base, 500000, "0", ""}}},
		{name: "epoch string", data: `{"timestamp":"1418487287","name":"a","value":" 7 "}`,
			want: []pt{{0, "a", base, 0, "7", ""}}},
		{name: "array", data: `[{"timestamp":1418487287,"name":"a","value":1},{"timestamp":1418487287,"name":"b","value":"x"},{"timestamp":1418487288,"name":"c","value":3}]`,
			want: []pt{{0, "a", base, 0, "1", ""}, {2, "c", base + 1, 0, "3", ""}}, bad: []bad{{1, ReasonBadValue}}},
		{name: "ndjson with a bad line", data: "{\"timestamp\":1418487287,\"name\":\"a\",\"value\":1}\n\nnot json\n{\"timestamp\":1418487288,\"name\":\"a\",\"value\":2}\n",
			want: []pt{{0, "a", base, 0, "1", ""}, {2, "a", base + 1, 0, "2", ""}}, bad: []bad{{1, ReasonNotJSON}}},
		{name: "tags kept sorted", tags: []string{"*"}, data: `{"timestamp":1418487287,"name":"m","value":1,"host":"web1","dc":"ams","n":3}`,
			want: []pt{{0, "m;dc=ams;host=web1;n=3", base, 0, "1", ""}}},
		{name: "only listed tags", tags: []string{"host"}, data: `{"timestamp":1418487287,"name":"m","value":1,"host":"web1","dc":"ams"}`,
			want: []pt{{0, "m;host=web1", base, 0, "1", ""}}},
		{name: "extra fields ignored without tags", data: `{"timestamp":1418487287,"name":"m","value":1,"host":"web1"}`,
			want: []pt{{0, "m", base, 0, "1", ""}}},
		{name: "bad tag value", tags: []string{"*"}, data: `{"timestamp":1418487287,"name":"m","value":1,"host":"a;b"}`, bad: []bad{{0, ReasonBadTag}}},
		{name: "not json", data: `{"timestamp":`, bad: []bad{{0, ReasonNotJSON}}},
		{name: "empty", data: "  \n", bad: []bad{{0, ReasonNotJSON}}},
		{name: "not an object", data: `42`, bad: []bad{{0, ReasonNotObject}}},
		{name: "missing name", data: `{"timestamp":1418487287,"value":1}`, bad: []bad{{0, ReasonMissingField}}},
		{name: "null value", data: `{"timestamp":1418487287,"name":"a","value":null}`, bad: []bad{{0, ReasonMissingField}}},
		{name: "missing timestamp", data: `{"name":"a","value":1}`, bad: []bad{{0, ReasonMissingField}}},
		{name: "name not a string", data: `{"timestamp":1418487287,"name":5,"value":1}`, bad: []bad{{0, ReasonBadName}}},
		{name: "name with newline", data: `{"timestamp":1418487287,"name":"a\nb","value":1}`, bad: []bad{{0, ReasonBadName}}},
		{name: "NaN string", data: `{"timestamp":1418487287,"name":"a","value":"NaN"}`, bad: []bad{{0, ReasonBadValue}}},
		{name: "hex value", data: `{"timestamp":1418487287,"name":"a","value":"0x10"}`, bad: []bad{{0, ReasonBadValue}}},
		{name: "huge value", data: `{"timestamp":1418487287,"name":"a","value":1e999}`, bad: []bad{{0, ReasonBadValue}}},
		{name: "bool value", data: `{"timestamp":1418487287,"name":"a","value":true}`, bad: []bad{{0, ReasonBadValue}}},
		{name: "unparsable time", data: `{"timestamp":"yesterday","name":"a","value":1}`, bad: []bad{{0, ReasonBadTime}}},
		{name: "no such day", data: `{"timestamp":"2014-02-30T00:00:00","name":"a","value":1}`, bad: []bad{{0, ReasonBadTime}}},
		{name: "trailing junk", data: `{"timestamp":"2014-12-13T16:14:47Zjunk","name":"a","value":1}`, bad: []bad{{0, ReasonBadTime}}},
		{name: "absurd past", data: `{"timestamp":"1900-01-01T00:00:00","name":"a","value":1}`, bad: []bad{{0, ReasonAbsurdTime}}},
		{name: "absurd future", data: `{"timestamp":"2014-12-13T18:00:00Z","name":"a","value":1}`, bad: []bad{{0, ReasonAbsurdTime}}},
		{name: "epoch milliseconds are absurd", data: `{"timestamp":1418487287000,"name":"a","value":1}`, bad: []bad{{0, ReasonAbsurdTime}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, err := NewDecoder(DecoderConfig{Tags: tc.tags})
			if err != nil {
				t.Fatal(err)
			}
			items, bads := d.Decode([]byte(tc.data), arrival, nil, nil)
			if len(items) != len(tc.want) {
				t.Fatalf("got %d points %+v (bad %v), want %d", len(items), items, bads, len(tc.want))
			}
			for i, w := range tc.want {
				g := items[i]
				got := pt{g.Item, g.Point.Series, g.Point.Sec, g.Point.Usec, g.Point.Value, g.Point.Units}
				if got != w {
					t.Errorf("point %d = %+v, want %+v", i, got, w)
				}
			}
			if len(bads) != len(tc.bad) {
				t.Fatalf("got bad items %v, want %v", bads, tc.bad)
			}
			for i, w := range tc.bad {
				if bads[i].Item != w.item || bads[i].Reason != w.reason {
					t.Errorf("bad %d = %v, want item %d %s", i, bads[i], w.item, w.reason)
				}
				if bads[i].Detail == "" {
					t.Errorf("bad %d has no detail", i)
				}
			}
		})
	}
}

func TestNewDecoderRejects(t *testing.T) {
	t.Parallel()
	for _, cfg := range []DecoderConfig{{Tags: []string{"a;b"}}, {Tags: []string{""}}, {Tags: []string{"value"}}, {MaxFuture: -time.Second}} {
		if _, err := NewDecoder(cfg); err == nil {
			t.Errorf("NewDecoder(%+v) accepted", cfg)
		}
	}
}

// FuzzDecode checks that any record decodes without panicking, and that
// every item is accounted for exactly once as a point or a bad item.
func FuzzDecode(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "fuzz", "seed", "*"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seed corpus in testdata/fuzz/seed: %v", err)
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	d, err := NewDecoder(DecoderConfig{Tags: []string{"*"}})
	if err != nil {
		f.Fatal(err)
	}
	arrival := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		items, bad := d.Decode(data, arrival, nil, nil)
		seen := map[int]bool{}
		for _, it := range items {
			if seen[it.Item] {
				t.Fatalf("item %d twice", it.Item)
			}
			seen[it.Item] = true
			p := it.Point
			if p.Series == "" || p.Usec < 0 || p.Usec >= 1e6 || p.Value == "" {
				t.Fatalf("bad point %+v", p)
			}
			if strings.ContainsAny(p.Value, "NnIi") {
				t.Fatalf("non-finite value %q", p.Value)
			}
		}
		for _, b := range bad {
			if seen[b.Item] {
				t.Fatalf("item %d both good and bad", b.Item)
			}
			seen[b.Item] = true
			if b.Reason == "" || b.Detail == "" {
				t.Fatalf("bad item without reason or detail: %+v", b)
			}
		}
		if len(seen) == 0 {
			t.Fatalf("record %q produced nothing", data)
		}
	})
}

// FuzzObjectMembers checks the hand-written object splitter against
// encoding/json on every valid object.
func FuzzObjectMembers(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "seed", "*"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"a\"b":"x\\","a":[1,{"c":"}"}],"a":2, "d" : null }`))
	f.Fuzz(func(t *testing.T, data []byte) {
		data = bytes.TrimSpace(data)
		// encoding/json rewrites invalid UTF-8 in keys; only the field
		// names we look for matter, and they are ASCII.
		if !json.Valid(data) || len(data) == 0 || data[0] != '{' || !utf8.Valid(data) {
			return
		}
		var want map[string]json.RawMessage
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		got := objectMembers(data, nil)
		if len(got) != len(want) {
			t.Fatalf("%d members %v, encoding/json has %d", len(got), got, len(want))
		}
		for _, m := range got {
			w, ok := want[m.key]
			if !ok || !bytes.Equal(bytes.TrimSpace(w), m.val) {
				t.Fatalf("member %q = %q, encoding/json has %q", m.key, m.val, w)
			}
		}
	})
}
