package push

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"rrdash/ingest/horizon"
)

func TestConvert(t *testing.T) {
	t.Parallel()
	now := time.Unix(1700000000, 123456789)
	tests := []struct {
		name, body string
		prec       Precision
		want       string // series@sec.usec=value, ';'-joined by " "
		strings    int
		bools      int
	}{
		{"sorted tags", "http,status_code=200,service=web,route=GET:/g request_id=\"abc\",execution_time=0.25 1700000000000000000", Nanosecond,
			"http.execution_time;route=GET:/g;service=web;status_code=200@1700000000.000000=0.25", 1, 0},
		{"types", "m a=1i,b=2u,c=-1.5e3,d=t,e=FALSE 1700000000", Second,
			"m.a@1700000000.000000=1 m.b@1700000000.000000=2 m.c@1700000000.000000=-1.5e3 m.d@1700000000.000000=1 m.e@1700000000.000000=0", 0, 2},
		{"no timestamp", "m v=1", Nanosecond, "m.v@1700000000.123456=1", 0, 0},
		{"ms", "m v=1 1700000000999", Millisecond, "m.v@1700000000.999000=1", 0, 0},
		{"escaped names", `my\ m,k\,1=a\ b f\=x=1 0`, Second, "my m.f=x;k,1=a b@0.000000=1", 0, 0},
		{"only strings", `m s="x" 0`, Second, "", 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &Converter{Precision: tc.prec, Now: func() time.Time { return now }}
			pts, err := c.ParseLineProtocol([]byte(tc.body), nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range pts {
				got = append(got, fmt.Sprintf("%s@%d.%06d=%s", p.Series, p.Sec, p.Usec, p.Text()))
			}
			if s := strings.Join(got, " "); s != tc.want {
				t.Errorf("got  %s\nwant %s", s, tc.want)
			}
			if c.Stats.StringFields != tc.strings || c.Stats.BoolFields != tc.bools {
				t.Errorf("stats %+v, want %d strings %d bools", c.Stats, tc.strings, tc.bools)
			}
		})
	}
}

func TestConvertErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body   string
		line   int
		bad    int
		reason string
	}{
		{"m;x v=1", 1, 1, "contains ';'"},
		{"m,k=a;b v=1", 1, 1, "contains ';'"},
		{"m,k!=a v=1", 1, 1, "tag key"},
		{"m,k=~a v=1", 1, 1, "starts with '~'"},
		{"m,k=a,k=b v=1", 1, 1, "given twice"},
		{"m,k=a\x01 v=1", 1, 1, "control character"},
		{"m f;x=1", 1, 1, "field key"},
		{"m\x00 f=1", 1, 1, "NUL"},
		{"m f=1\n" + strings.Repeat("x", 5000) + " f=1", 2, 1, "longer than 4096"},
		{"ok v=1\nm v=1 1000000000000000000", 2, 1, "out of range"},
		{"m v=1 2500000000", 1, 1, "out of range"}, // hours: past ±2^43 s
		{"ok v=1\nbad\nworse v=\nok v=2", 2, 2, "missing fields"},
	}
	for _, tc := range tests {
		t.Run(tc.body, func(t *testing.T) {
			t.Parallel()
			c := &Converter{Precision: Hour}
			pts, err := c.ParseLineProtocol([]byte(tc.body), nil)
			pe, ok := err.(*ParseError)
			if !ok {
				t.Fatalf("err = %v, want *ParseError", err)
			}
			if pts != nil || pe.First.Line != tc.line || pe.Bad != tc.bad || !strings.Contains(pe.First.Reason, tc.reason) {
				t.Errorf("got %d points, %v (bad %d), want line %d bad %d %q", len(pts), pe, pe.Bad, tc.line, tc.bad, tc.reason)
			}
		})
	}
}

func TestParseGraphiteLine(t *testing.T) {
	t.Parallel()
	now := time.Unix(1700000000, 5000)
	tests := []struct{ in, want, err string }{
		{"a.b.c 1.5 1700000000", "a.b.c@1700000000.000000=1.5", ""},
		{"a.b;z=1;a=2 -3 1700000000.25", "a.b;a=2;z=1@1700000000.250000=-3", ""},
		{"x\t2e3\t1.000001", "x@1.000001=2e3", ""},
		{"x 1 -1", "x@1700000000.000005=1", ""},
		{"x 1", "", "got 2 fields"},
		{"x nan 1", "", "not a decimal"},
		{"x 1 abc", "", "timestamp"},
		{"a;k 1 1", "", "not key=value"},
		{"a;k=1;k=2 1 1", "", "given twice"},
		{";k=1 1 1", "", "empty name"},
	}
	for _, tc := range tests {
		p, err := ParseGraphiteLine([]byte(tc.in), now)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := fmt.Sprintf("%s@%d.%06d=%s", p.Series, p.Sec, p.Usec, asText(p).Value); got != tc.want {
			t.Errorf("%q: got %s want %s", tc.in, got, tc.want)
		}
	}
}

func TestDecodeJSONPoints(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want, err string }{
		{`[{"timestamp":"2026-11-22T14:00:00.5Z","name":"a.b","value":1.5,"units":"s","tags":{"z":"1","a":"x"}}]`, "a.b;a=x;z=1@1795356000.500000=1.5[s]", ""},
		{`[{"timestamp":"2026-11-22T15:00:00+01:00","name":"a","value":"2"},{"timestamp":1795356000.25,"name":"b","value":-1e3}]`,
			"a@1795356000.000000=2[] b@1795356000.250000=-1e3[]", ""},
		{`[{"timestamp":"2026-11-22T14:00:00","name":"a","value":1}]`, "a@1795356000.000000=1[]", ""},
		{`[{"timestamp":-1.5,"name":"a","value":0}]`, "a@-2.500000=0[]", ""},
		{`[{"timestamp":"1795356000","name":"a","value":0}]`, "a@1795356000.000000=0[]", ""},
		{`[]`, "", ""},
		{`{"timestamp":1,"name":"a","value":1}`, "", "want a JSON array"},
		{`[{"timestamp":1,"name":"a","value":1,"extra":2}]`, "", `point 0: unknown field "extra"`},
		{`[{"timestamp":1,"name":"a","value":1},{"name":"a","value":1}]`, "", "point 1: no timestamp"},
		{`[{"timestamp":1,"value":1}]`, "", "point 0: no name"},
		{`[{"timestamp":1,"name":"a"}]`, "", "point 0: no value"},
		{`[{"timestamp":1,"name":"a","value":"x"}]`, "", "not a decimal"},
		{`[{"timestamp":"yesterday","name":"a","value":1}]`, "", "timestamp"},
		{`[{"timestamp":1e16,"name":"a","value":1}]`, "", "timestamp"},
		{`[{"timestamp":10000000000000,"name":"a","value":1}]`, "", "out of range"},
		{`[{"timestamp":1,"name":"a;k=v","value":1}]`, "", "contains ';'"},
		{`[{"timestamp":1,"name":"a","value":1,"tags":{"k":""}}]`, "", "empty value"},
		{`[{"timestamp":1,"name":"a","value":true}]`, "", "not a decimal"},
		{`[{"timestamp":1,"name":"a","value":1}`, "", "array not closed"},
		{`[] x`, "", "after the array"},
		{"[{\"timestamp\":1,\"name\":\"a\xff\",\"value\":1}]", "", "point 0: invalid UTF-8"},
		{`[{"timestamp":1,"name":"a","value":1},{"timestamp":1,"name":"a\ud800","value":1}]`, "", `point 1: lone surrogate \ud800`},
		{`[{"timestamp":1,"name":"a\\ud800","value":1}]`, `a\ud800@1.000000=1[]`, ""},
		{`[{"timestamp":253402300799,"name":"a","value":1}]`, "", "point 0: timestamp 9999-12-31T23:59:59Z (253402300799) is in the future: more than 10m0s ahead"},
	}
	for _, tc := range tests {
		pts, err := DecodeJSONPoints(strings.NewReader(tc.in), nil)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		var got []string
		for _, p := range pts {
			got = append(got, fmt.Sprintf("%s@%d.%06d=%s[%s]", p.Series, p.Sec, p.Usec, p.Value, p.Units))
		}
		if s := strings.Join(got, " "); s != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.in, s, tc.want)
		}
	}
}

// TestConverterReadsTheClockOnce: the horizon is checked against one
// reading of the clock, read again only for a line beyond it, so a clock
// that moved on never refuses a line its new reading allows.
func TestConverterReadsTheClockOnce(t *testing.T) {
	t.Parallel()
	now := time.Unix(1795356000, 0)
	reads := 0
	c := &Converter{Precision: Second, Horizon: horizon.Horizon{MaxFuture: time.Minute, Now: func() time.Time { reads++; return now }}}
	convert := func(ts int64) error {
		body := fmt.Appendf(nil, "m f=1 %d\n", ts)
		p := NewParser(body)
		l, err := p.Next()
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Convert(p, l, nil)
		return err
	}
	for i := range 100 {
		if err := convert(now.Unix() - int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if reads != 1 {
		t.Errorf("clock read %d times for 100 lines, want 1", reads)
	}
	now = now.Add(time.Hour) // the reading is an hour behind now
	if err := convert(now.Unix() + 30); err != nil {
		t.Errorf("a line within the horizon of the clock now: %v", err)
	}
	if err := convert(now.Unix() + 61); err == nil || !strings.Contains(err.Error(), "in the future") {
		t.Errorf("a line beyond the horizon: %v", err)
	}
	if c.Stats.Future != 1 {
		t.Errorf("Future = %d, want 1", c.Stats.Future)
	}
}

// TestGraphiteFields: the allocation-free split gives bytes.Fields' count
// and fields for lines of spaces and tabs, and leaves other white space
// (which bytes.Fields also splits on) to it.
func TestGraphiteFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		n    int
		fast bool
	}{
		{"a 1 2", 3, true},
		{"\t a\t\t1  2\t ", 3, true},
		{"", 0, true},
		{"   ", 0, true},
		{"a", 1, true},
		{"a 1 2 3 4 5", 6, true},
		{"a\u00a01 2", 0, false},
		{"a 1\r 2", 0, false},
		{"a\v1 2", 0, false},
		{"é 1 2", 0, false},
	}
	for _, tc := range tests {
		f, n, ok := graphiteFields([]byte(tc.in))
		if ok != tc.fast || ok && n != tc.n {
			t.Errorf("%q: %d fields, fast %v; want %d, %v", tc.in, n, ok, tc.n, tc.fast)
			continue
		}
		want := bytes.Fields([]byte(tc.in))
		if ok {
			if n != len(want) {
				t.Errorf("%q: %d fields, bytes.Fields %d", tc.in, n, len(want))
			}
			for i := 0; i < min(n, 3); i++ {
				if !bytes.Equal(f[i], want[i]) {
					t.Errorf("%q: field %d %q, want %q", tc.in, i, f[i], want[i])
				}
			}
		}
	}
}

// TestGraphiteBatchesInFlight: the batches a connection and a listener
// hold are bounded in points, whatever the batch size.
func TestGraphiteBatchesInFlight(t *testing.T) {
	t.Parallel()
	tests := []struct{ batch, conn, listener int }{
		{graphiteBatch, 4, 12},
		{10000, 16, 48},
		{10, 16, 48},
		{1_000_000, 2, 3},
	}
	for _, tc := range tests {
		conn := batchesFor(graphiteInFlightPoints, tc.batch, 2, graphiteInFlight)
		listener := batchesFor(graphiteBudgetPoints, tc.batch, 3, graphiteBudget)
		if conn != tc.conn || listener != tc.listener {
			t.Errorf("batch %d: %d per connection, %d per listener; want %d, %d", tc.batch, conn, listener, tc.conn, tc.listener)
		}
	}
}
