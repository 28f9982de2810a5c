package promrw

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"rrdash/ingest/push"
	"rrdash/store"
)

// converted decodes raw and converts it with h, as ServeHTTP does.
func converted(t testing.TB, h *Handler, raw []byte) ([]push.Point, int, error) {
	t.Helper()
	var st state
	if err := st.wr.unmarshal(raw, h.known); err != nil {
		t.Fatal(err)
	}
	h.learn(st.wr.Metadata)
	bad, first := h.convert(&st)
	return push.Points(nil, st.runs), bad, first
}

func newConvertHandler(t testing.TB) *Handler {
	t.Helper()
	h, err := New(discard{}, Config{Horizon: fixedHorizon})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestNamesCache: a series met again is named from the cache exactly as
// it was the first time, metadata that arrives later still changes its
// type, and what cannot be cached (labels split by samples, bad labels)
// is converted each time.
func TestNamesCache(t *testing.T) {
	t.Parallel()
	ms := int64(base * 1000)
	cpu := tsIn{labels: [][2]string{{"__name__", "cpu_seconds"}, {"mode", "user"}}, samples: []Sample{{1.4, ms}, {3.6, ms + 1000}}}
	tests := []struct {
		name   string
		first  []byte // converted first, then second (then first again)
		second []byte
		// wantSecond: the series and type of each point of the second
		// request and the number of bad samples
		wantSecond []string
		wantType   store.DSType
		wantBad    int
		cached     int
	}{
		{name: "metadata after the samples turns a gauge into a counter",
			first:      encodeRequest([]tsIn{cpu}, nil),
			second:     encodeRequest([]tsIn{cpu}, []mdIn{{TypeCounter, "cpu_seconds"}}),
			wantSecond: []string{"cpu_seconds;mode=user", "cpu_seconds;mode=user"}, wantType: store.Derive, cached: 1},
		{name: "labels in another order name the same series",
			first:      encodeRequest([]tsIn{cpu}, nil),
			second:     encodeRequest([]tsIn{{labels: [][2]string{{"mode", "user"}, {"__name__", "cpu_seconds"}}, samples: cpu.samples}}, nil),
			wantSecond: []string{"cpu_seconds;mode=user", "cpu_seconds;mode=user"}, wantType: store.Gauge, cached: 2},
		{name: "labels split by a sample are not cached",
			first:      splitLabels(),
			second:     splitLabels(),
			wantSecond: []string{"split;a=1"}, wantType: store.Gauge, cached: 0},
		{name: "bad labels are refused each time",
			first:      encodeRequest([]tsIn{{labels: [][2]string{{"__name__", "a;b"}}, samples: cpu.samples}}, nil),
			second:     encodeRequest([]tsIn{{labels: [][2]string{{"__name__", "a;b"}}, samples: cpu.samples}}, nil),
			wantSecond: nil, wantBad: 2, cached: 0},
		{name: "a series with native histograms is not cached",
			first:      encodeRequest([]tsIn{{labels: cpu.labels, samples: cpu.samples, hists: 1}}, nil),
			second:     encodeRequest([]tsIn{{labels: cpu.labels, samples: cpu.samples, hists: 1}}, nil),
			wantSecond: []string{"cpu_seconds;mode=user", "cpu_seconds;mode=user"}, wantType: store.Gauge, wantBad: 1, cached: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newConvertHandler(t)
			converted(t, h, tt.first)
			pts, bad, first := converted(t, h, tt.second)
			var got []string
			for _, p := range pts {
				got = append(got, p.Series)
				if p.Type != tt.wantType {
					t.Errorf("%s: type %v, want %v", p.Series, p.Type, tt.wantType)
				}
			}
			if !slices.Equal(got, tt.wantSecond) || bad != tt.wantBad || (bad > 0) != (first != nil) {
				t.Errorf("series %q, %d bad (%v); want %q, %d bad", got, bad, first, tt.wantSecond, tt.wantBad)
			}
			if n := h.names.Len(); n != tt.cached {
				t.Errorf("%d cached series, want %d", n, tt.cached)
			}
			// The same request from a fresh handler gives the same points.
			fresh := newConvertHandler(t)
			converted(t, fresh, tt.first)
			want, wbad, _ := converted(t, fresh, tt.second)
			again, abad, _ := converted(t, h, tt.second)
			for i := range again {
				again[i].SetRef(nil) // handles are each cache's own
			}
			for i := range want {
				want[i].SetRef(nil)
			}
			if fmt.Sprint(again) != fmt.Sprint(want) || abad != wbad {
				t.Errorf("from the cache %v (%d bad), fresh %v (%d bad)", again, abad, want, wbad)
			}
		})
	}
}

// splitLabels is a TimeSeries whose labels come before and after its
// sample, which protobuf allows and Prometheus does not write.
func splitLabels() []byte {
	label := func(k, v string) []byte {
		var lb []byte
		lb = protowire.AppendString(protowire.AppendTag(lb, 1, protowire.BytesType), k)
		lb = protowire.AppendString(protowire.AppendTag(lb, 2, protowire.BytesType), v)
		return protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), lb)
	}
	var sm []byte
	sm = protowire.AppendFixed64(protowire.AppendTag(sm, 1, protowire.Fixed64Type), 0x3ff0000000000000) // 1.0
	sm = protowire.AppendVarint(protowire.AppendTag(sm, 2, protowire.VarintType), base*1000)
	ts := label("__name__", "split")
	ts = protowire.AppendBytes(protowire.AppendTag(ts, 2, protowire.BytesType), sm)
	ts = append(ts, label("a", "1")...)
	return protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), ts)
}

// TestLabelBytes: the decoder keeps the span of the label fields only
// when nothing else comes between them.
func TestLabelBytes(t *testing.T) {
	t.Parallel()
	var wr WriteRequest
	raw := encodeRequest([]tsIn{{labels: [][2]string{{"__name__", "x"}, {"a", "1"}}, samples: []Sample{{1, 1}}}, {samples: []Sample{{1, 1}}}}, nil)
	if err := wr.Unmarshal(raw); err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, l := range [][2]string{{"__name__", "x"}, {"a", "1"}} {
		var lb []byte
		lb = protowire.AppendString(protowire.AppendTag(lb, 1, protowire.BytesType), l[0])
		lb = protowire.AppendString(protowire.AppendTag(lb, 2, protowire.BytesType), l[1])
		want = protowire.AppendBytes(protowire.AppendTag(want, 1, protowire.BytesType), lb)
	}
	if got := wr.Series[0].LabelBytes; string(got) != string(want) {
		t.Errorf("label bytes %q, want %q", got, want)
	}
	if got := wr.Series[1].LabelBytes; got != nil {
		t.Errorf("no labels: label bytes %q, want nil", got)
	}
	if err := wr.Unmarshal(splitLabels()); err != nil {
		t.Fatal(err)
	}
	if got := wr.Series[0].LabelBytes; got != nil || len(wr.Series[0].Labels) != 2 {
		t.Errorf("split labels: label bytes %q and %d labels, want nil and 2", got, len(wr.Series[0].Labels))
	}
}

// TestSampleValue: values as the store reads them, the same readings as
// the text formatted before numeric updates (integral ones as integers).
func TestSampleValue(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		v    float64
		typ  store.DSType
		want string
	}{
		{0.5, store.Gauge, "0.5"},
		{42, store.Gauge, "42"},
		{1234567, store.Gauge, "1234567"}, // 'g' would write 1.234567e+06
		{-3, store.Gauge, "-3"},
		{1 << 53, store.Gauge, "9.007199254740992e+15"},
		{1e300, store.Gauge, "1e+300"},
		{math.Copysign(0, -1), store.Gauge, "0"},
		{math.NaN(), store.Gauge, "U"},
		{math.Inf(1), store.Gauge, "+Inf"},
		{2.6, store.Derive, "3"},
		{-2.5, store.Derive, "-3"},
		{1e20, store.Derive, "100000000000000000000"},
		{math.Inf(-1), store.Derive, "U"},
		{math.Inf(1), store.Counter, "U"},
		{42, store.Derive, "42"},
		{-7, store.Counter, "-7"},
		{math.Copysign(0, -1), store.Derive, "0"},
		{math.NaN(), store.Derive, "U"},
		{0.49999999999999994, store.Derive, "0"},
		{4503599627370495.5, store.Derive, "4503599627370496"},
	} {
		// the store reads the number as it read the text formatted before
		// numeric readings (store.AppendReading gives that text)
		if got := string(store.AppendReading(nil, sampleValue(tt.v, tt.typ), tt.typ)); got != tt.want {
			t.Errorf("%v (%v): %q, want %q", tt.v, tt.typ, got, tt.want)
		}
	}
}

// FuzzSampleValue: a counter's value is math.Round's (NaN for
// infinities), bit for bit, whichever way sampleValue gets there.
func FuzzSampleValue(f *testing.F) {
	for _, v := range []float64{0, 1, -1, 0.5, -0.5, 2.5, 1e300, math.Inf(1), math.NaN(), math.Copysign(0, -1), 4503599627370495.5} {
		f.Add(math.Float64bits(v))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		v := math.Float64frombits(bits)
		want := math.Round(v)
		if math.IsInf(v, 0) {
			want = math.NaN()
		}
		if got := sampleValue(v, store.Derive); math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("sampleValue(%v) = %v, want %v", v, got, want)
		}
	})
}
