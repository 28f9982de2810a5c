package monitor

import (
	"regexp"
	"strings"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []Metric
		err  string // regexp; "" means no error
	}{
		{"none", "hello\nworld\n", nil, ""},
		{"metric lines", "METRIC a 1\nx\nMETRIC b_2 -3.5e2 ms\n", []Metric{{Name: "a", Value: 1, Line: 1}, {Name: "b_2", Value: -350, Unit: "ms", Line: 3}}, ""},
		{"crlf and no final newline", "METRIC a 1\r\nMETRIC b 2", []Metric{{Name: "a", Value: 1, Line: 1}, {Name: "b", Value: 2, Line: 2}}, ""},
		{"json", `{"metrics": {"b": 2, "a": {"value": 1.5, "unit": "s"}}}`, []Metric{{Name: "a", Value: 1.5, Unit: "s", Line: 1}, {Name: "b", Value: 2, Line: 1}}, ""},
		{"other json is output", `{"level": "info", "msg": "hi"}` + "\n{not json}\n", nil, ""},
		{"mixed", "METRIC a 1\n{\"metrics\": {\"b\": 2}}\n", []Metric{{Name: "a", Value: 1, Line: 1}, {Name: "b", Value: 2, Line: 2}}, ""},
		{"not a number", "ok\nMETRIC a abc\n", nil, `^stdout line 2: METRIC a: value "abc" is not a number$`},
		{"nan", "METRIC a NaN\n", nil, `line 1: METRIC a: value "NaN" must be finite`},
		{"too few fields", "METRIC a\n", nil, `line 1: METRIC line has 2 fields`},
		{"too many fields", "METRIC a 1 ms extra\n", nil, `line 1: METRIC line has 5 fields`},
		{"bad name", "METRIC 1a 1\n", nil, `line 1: metric name "1a"`},
		{"bad unit", "METRIC a 1 m\x01s\n", nil, `line 1: metric a: invalid unit`},
		{"duplicate", "METRIC a 1\nMETRIC a 2\n", nil, `line 2: metric a reported twice \(first on line 1\)`},
		{"two json", "{\"metrics\": {}}\n{\"metrics\": {}}\n", nil, `line 2: a second metrics JSON line \(the first was line 1\)`},
		{"bad json", `{"metrics": {"a": }`, nil, `line 1: metrics JSON: invalid character`},
		{"json not object", `{"metrics": [1]}`, nil, `line 1: metrics JSON: "metrics" must be an object`},
		{"json bad value", `{"metrics": {"a": "x"}}`, nil, `line 1: metrics JSON: "a": want a number`},
		{"long metric line", "METRIC a " + strings.Repeat("1", maxLine) + "\n", nil, `line 1: line longer than`},
		{"long json metrics line", `{"metrics": {"a": ` + strings.Repeat("1", maxLine) + "}}\n", nil, `line 1: line longer than`},
		{"long other line", strings.Repeat("y", 2*maxLine) + "\nMETRIC a 1\n", []Metric{{Name: "a", Value: 1, Line: 2}}, ""},
		{"METRIC prefix only", "METRICS a 1\nMETRIC\n", nil, `line 2: METRIC line has 1 fields`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseMetrics([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !regexp.MustCompile(tc.err).MatchString(err.Error()) {
					t.Fatalf("error %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("metric %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// TestScannerChunking feeds output in every split, as pipes deliver it.
func TestScannerChunking(t *testing.T) {
	t.Parallel()
	in := "x\nMETRIC a 1 ms\n{\"metrics\": {\"b\": 2}}\nMETRIC c 3"
	want, err := ParseMetrics([]byte(in))
	if err != nil || len(want) != 3 {
		t.Fatalf("%v %v", want, err)
	}
	for cut := range len(in) {
		var s metricScanner
		s.Write([]byte(in[:cut]))
		s.Write([]byte(in[cut:]))
		s.Close()
		if s.err != nil || len(s.metrics) != 3 {
			t.Fatalf("cut %d: %+v %v", cut, s.metrics, s.err)
		}
		for i := range want {
			if s.metrics[i] != want[i] {
				t.Errorf("cut %d: %+v, want %+v", cut, s.metrics[i], want[i])
			}
		}
	}
}

func TestParseThreshold(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Threshold
		err  string
	}{
		{"latency_ms < 500", Threshold{"latency_ms", "<", 500}, ""},
		{"  a<=1.5", Threshold{"a", "<=", 1.5}, ""},
		{"a >= -2", Threshold{"a", ">=", -2}, ""},
		{"a==0", Threshold{"a", "==", 0}, ""},
		{"a != 3 ", Threshold{"a", "!=", 3}, ""},
		{"a > 1e3", Threshold{"a", ">", 1000}, ""},
		{"", Threshold{}, `threshold "": position 1: want a metric name`},
		{"< 5", Threshold{}, `position 1: want a metric name`},
		{"latency_ms << 500", Threshold{}, `threshold "latency_ms << 500": position 13: value "< 500" is not a number`},
		{"latency_ms 500", Threshold{}, `position 12: want one of < <= > >= == !=`},
		{"a <", Threshold{}, `position 4: want a number`},
		{"a < x", Threshold{}, `position 5: value "x" is not a number`},
		{"a < inf", Threshold{}, `must be finite`},
		{"9a < 1", Threshold{}, `position 1: want a metric name`},
	}
	for _, tc := range tests {
		got, err := ParseThreshold(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v %v, want %+v", tc.in, got, err, tc.want)
			continue
		}
		// String round-trips.
		if again, err := ParseThreshold(got.String()); err != nil || again != got {
			t.Errorf("%q: String %q reparses to %+v %v", tc.in, got.String(), again, err)
		}
	}
}

func TestThresholdHolds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		op   Op
		v    float64
		want bool
	}{
		{"<", 4, true}, {"<", 5, false}, {"<=", 5, true}, {">", 5, false}, {">", 6, true},
		{">=", 5, true}, {"==", 5, true}, {"==", 4, false}, {"!=", 4, true}, {"!=", 5, false},
	} {
		if got := (Threshold{"m", tc.op, 5}).Holds(tc.v); got != tc.want {
			t.Errorf("%v %s 5 = %v", tc.v, tc.op, got)
		}
	}
}

func FuzzParseMetrics(f *testing.F) {
	f.Add([]byte("METRIC a 1 ms\n{\"metrics\": {\"b\": 2}}\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		ms, err := ParseMetrics(in)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "stdout line ") {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, m := range ms {
			if !validMetricName(m.Name) || seen[m.Name] || m.Line < 1 {
				t.Fatalf("bad metric %+v", m)
			}
			seen[m.Name] = true
		}
		if len(ms) > maxMetrics {
			t.Fatalf("%d metrics", len(ms))
		}
		// Chunked input parses identically.
		var s metricScanner
		for i := 0; i < len(in); i += 7 {
			s.Write(in[i:min(i+7, len(in))])
		}
		s.Close()
		if s.err != nil || len(s.metrics) != len(ms) {
			t.Fatalf("chunked: %+v %v, whole: %+v", s.metrics, s.err, ms)
		}
		for i := range ms {
			if s.metrics[i] != ms[i] {
				t.Fatalf("chunked metric %d: %+v vs %+v", i, s.metrics[i], ms[i])
			}
		}
	})
}

func FuzzParseThreshold(f *testing.F) {
	f.Add("latency_ms < 500")
	f.Fuzz(func(t *testing.T, in string) {
		th, err := ParseThreshold(in)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "threshold ") || !strings.Contains(err.Error(), "position ") {
				t.Fatalf("error without a position: %v", err)
			}
			return
		}
		again, err := ParseThreshold(th.String())
		if err != nil || again != th {
			t.Fatalf("%q → %q → %+v %v", in, th.String(), again, err)
		}
	})
}

// FuzzValidators checks the hand-written name and unit checks against the
// regular expressions that define them.
func FuzzValidators(f *testing.F) {
	for _, s := range []string{"latency_ms", "_x", "9x", "", "ms", "µs", "MB/s", "%", "x.y*z^-1", "a-b", strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("u", 17)} {
		f.Add(s)
	}
	metric := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)
	unit := regexp.MustCompile(`^[A-Za-z%/µ_][A-Za-z0-9%/µ_.*^-]{0,15}$`)
	name := regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validMetricName(s), metric.MatchString(s); got != want {
			t.Errorf("validMetricName(%q) = %v, want %v", s, got, want)
		}
		if got, want := validUnit(s), unit.MatchString(s); got != want {
			t.Errorf("validUnit(%q) = %v, want %v", s, got, want)
		}
		if got, want := validName(s), name.MatchString(s); got != want {
			t.Errorf("validName(%q) = %v, want %v", s, got, want)
		}
	})
}
