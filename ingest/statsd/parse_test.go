package statsd

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		line string
		want []Sample
		bad  int
		err  string
	}{
		{line: "a.b:1|c", want: []Sample{{Key: "a.b", Kind: Counter, Value: 1, Rate: 1}}},
		{line: "a:2.5|c|@0.1", want: []Sample{{Key: "a", Kind: Counter, Value: 2.5, Rate: 0.1}}},
		{line: "a:-3|g", want: []Sample{{Key: "a", Kind: Gauge, Value: -3, Delta: true, Rate: 1}}},
		{line: "a:+3|g", want: []Sample{{Key: "a", Kind: Gauge, Value: 3, Delta: true, Rate: 1}}},
		{line: "a:3|g", want: []Sample{{Key: "a", Kind: Gauge, Value: 3, Rate: 1}}},
		{line: "a:12|ms", want: []Sample{{Key: "a", Kind: Timer, Value: 12, Rate: 1}}},
		{line: "a:12|h", want: []Sample{{Key: "a", Kind: Timer, Value: 12, Rate: 1}}},
		{line: "a:12|d|@.5", want: []Sample{{Key: "a", Kind: Timer, Value: 12, Rate: 0.5}}},
		{line: "a:bob|s", want: []Sample{{Key: "a", Kind: Set, Member: "bob", Rate: 1}}},
		{line: "a:|s", want: []Sample{{Key: "a", Kind: Set, Member: "0", Rate: 1}}},
		{line: "a:1|c:2|ms", want: []Sample{{Key: "a", Kind: Counter, Value: 1, Rate: 1}, {Key: "a", Kind: Timer, Value: 2, Rate: 1}}},
		// DogStatsD tags become Graphite tags, sorted by key.
		{line: "req:1|c|#zone:b,env:prod", want: []Sample{{Key: "req;env=prod;zone=b", Kind: Counter, Value: 1, Rate: 1}}},
		{line: "req:1|c|#", want: []Sample{{Key: "req", Kind: Counter, Value: 1, Rate: 1}}},
		// statsd's sanitising: whitespace runs to _, / to -, others dropped.
		{line: "my  key/x$y:1|c", want: []Sample{{Key: "my_key-xy", Kind: Counter, Value: 1, Rate: 1}}},
		{line: "k:1|c|#route:/api v1", want: []Sample{{Key: "k;route=-api_v1", Kind: Counter, Value: 1, Rate: 1}}},
		{line: "nocolon", bad: 1, err: "no ':'"},
		{line: "a:1", bad: 1, err: "no '|type'"},
		{line: "a:x|c", bad: 1, err: "not a decimal"},
		{line: "a:0x10|c", bad: 1, err: "not a decimal"},
		{line: "a:Infinity|c", bad: 1, err: "not a decimal"},
		{line: "a:1e999|c", bad: 1, err: "out of range"},
		{line: "a:-1|ms", bad: 1, err: "negative timer"},
		{line: "a:1|c|@-1", bad: 1, err: "sample rate"},
		{line: "a:1|c|@0", bad: 1, err: "sample rate"},
		{line: "a:1|c|@1e-1", bad: 1, err: "sample rate"},
		{line: "a:1|q", bad: 1, err: "unknown type"},
		{line: "a:1|c|@0.5|T123", bad: 1, err: "unexpected field"},
		{line: "a:1|c|#k:v|c:abc", bad: 1, err: "after the tags"},
		{line: "a:1|c:x|c", want: []Sample{{Key: "a", Kind: Counter, Value: 1, Rate: 1}}, bad: 1, err: "not a decimal"},
		{line: "$$$:1|c:2|c", bad: 2, err: "empty after sanitising"},
		{line: "a:1|c|#novalue", bad: 1, err: "not key=value"},
		{line: "a:1|c|#k:v,k:w", bad: 1, err: "twice"},
	} {
		var p Parser
		got, err := p.ParseLine([]byte(tc.line), nil)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: samples %+v, want %+v", tc.line, got, tc.want)
		}
		var le *LineError
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.line, err)
		case tc.err != "" && (!errors.As(err, &le) || !strings.Contains(err.Error(), tc.err) || le.Bad != tc.bad):
			t.Errorf("%q: error %v (bad %v), want %q with %d bad", tc.line, err, le, tc.err, tc.bad)
		}
	}
}

func TestParserCacheSameKey(t *testing.T) {
	t.Parallel()
	var p Parser
	a, _ := p.ParseLine([]byte("x:1|c|#b:2,a:1"), nil)
	b, _ := p.ParseLine([]byte("x:1|c|#b:2,a:1"), nil)
	if len(a) != 1 || len(b) != 1 || a[0].Key != b[0].Key || a[0].Key != "x;a=1;b=2" {
		t.Fatalf("keys %v %v", a, b)
	}
}

func TestAggregatorSemantics(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		deleteIdle bool
		lines      [][]string // one list per flush
		want       []map[string]string
	}{
		{
			name:  "statsd defaults: idle metrics are sent as 0, gauges keep their value",
			lines: [][]string{{"c:4|c", "c:1|c|@0.5", "g:10|g", "g:-3|g", "t:5|ms", "t:1|ms", "s:a|s", "s:a|s", "s:b|s"}, {}},
			want: []map[string]string{
				{"stats.counters.c.count": "6", "stats.counters.c.rate": "0.6", "stats.gauges.g": "7", "stats.sets.s.count": "2",
					"stats.timers.t.count": "2", "stats.timers.t.upper": "5", "stats.timers.t.lower": "1", "stats.timers.t.mean": "3",
					"stats.timers.t.median": "3", "stats.timers.t.sum": "6", "stats.timers.t.count_90": "2", "stats.timers.t.upper_50": "1"},
				{"stats.counters.c.count": "0", "stats.gauges.g": "7", "stats.sets.s.count": "0", "stats.timers.t.count": "0", "stats.timers.t.count_ps": "0"},
			},
		},
		{
			name:       "deleteIdleStats: only metrics that got values",
			deleteIdle: true,
			lines:      [][]string{{"c:4|c", "g:+2|g"}, {}},
			want:       []map[string]string{{"stats.counters.c.count": "4", "stats.gauges.g": "2"}, {}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, err := NewAggregator(AggConfig{DeleteIdle: tc.deleteIdle})
			if err != nil {
				t.Fatal(err)
			}
			var p Parser
			for i, lines := range tc.lines {
				for _, l := range lines {
					s, err := p.ParseLine([]byte(l), nil)
					if err != nil {
						t.Fatal(l, err)
					}
					a.Add(s)
				}
				pts := a.Flush(time.Unix(1000, 0), 10*time.Second)
				got := map[string]string{}
				for _, pt := range pts {
					got[pt.Series] = pt.Value
					if pt.Sec != 1000 {
						t.Errorf("%s stamped %d", pt.Series, pt.Sec)
					}
				}
				for k, v := range tc.want[i] {
					if got[k] != v {
						t.Errorf("flush %d: %s = %q, want %q", i, k, got[k], v)
					}
				}
				if len(tc.want[i]) == 0 && len(got) != 0 {
					t.Errorf("flush %d: want nothing, got %v", i, got)
				}
			}
		})
	}
}

func TestPercentileConfig(t *testing.T) {
	t.Parallel()
	for _, p := range [][]float64{{0}, {101}, {-101}, {90, 90}} {
		if _, err := NewAggregator(AggConfig{Percentiles: p}); err == nil {
			t.Errorf("percentiles %v accepted", p)
		}
	}
	a, err := NewAggregator(AggConfig{Percentiles: []float64{99.9, -10}})
	if err != nil {
		t.Fatal(err)
	}
	var p Parser
	for i := range 20 {
		s, _ := p.ParseLine([]byte("t:"+strings.Repeat("1", i%3+1)+"|ms"), nil)
		a.Add(s)
	}
	got := map[string]bool{}
	for _, pt := range a.Flush(time.Unix(1000, 0), time.Second) {
		got[pt.Series] = true
	}
	for _, n := range []string{"stats.timers.t.upper_99_9", "stats.timers.t.lower_top10", "stats.timers.t.mean_top10"} {
		if !got[n] {
			t.Errorf("no %s in %v", n, got)
		}
	}
}
