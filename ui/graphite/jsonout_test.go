package graphite

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// FuzzAppendRepr: the fast path writes what the straight shortest-digits
// formatting (appendPyFloat, Python's repr rules) writes.
func FuzzAppendRepr(f *testing.F) {
	for _, v := range []float64{0, -0.0, 1, -2.5, 0.1, 0.0001, 0.00012345, 1e-5, 123456789012345, 999999999999999.9, 1e15, 1e16,
		62.4375, 1.0 / 3, 2.675, math.Nextafter(0.3, 1), 1e-4 - 1e-20, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return // written as null and ±1e9999 before formatting
		}
		if got, want := string(appendRepr(nil, v)), string(appendPyFloat(nil, v)); got != want {
			t.Fatalf("appendRepr(%v) = %s, want %s", v, got, want)
		}
	})
}

// TestAppendReprRandom: decimals of few digits (the fast path) and
// arbitrary floats agree with appendPyFloat.
func TestAppendReprRandom(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 200_000; i++ {
		var v float64
		switch i % 3 {
		case 0:
			v = float64(r.Int64N(1e12)-5e11) / pow10[r.IntN(len(pow10))]
		case 1:
			v = math.Float64frombits(r.Uint64())
		default:
			v = r.NormFloat64() * math.Pow(10, float64(r.IntN(30)-12))
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if got, want := string(appendRepr(nil, v)), string(appendPyFloat(nil, v)); got != want {
			t.Fatalf("appendRepr(%v) = %s, want %s", v, got, want)
		}
	}
}

func TestTsFormatter(t *testing.T) {
	t.Parallel()
	f := tsFormatter{high: -1}
	var got, want []byte
	for _, ts := range []int64{0, 9, 9999, 10000, 999999, 1000000, 1000001, 1764000000, 1764003600, 1764009999, 1764999999, 1765000000, 1765000007, 99999999999, -5} {
		got = append(f.append(got, ts), ' ')
		want = append(strconv.AppendInt(want, ts, 10), ' ')
	}
	if string(got) != string(want) {
		t.Errorf("timestamps %s, want %s", got, want)
	}
}

func TestAppendRenderJSON(t *testing.T) {
	t.Parallel()
	series := func() []*Series {
		return []*Series{
			newSeries("a", 60, 240, 60, []float64{1, nan, math.Inf(1), -0.5}, 0, nil),
			newSeries("b", 60, 240, 60, []float64{nan, nan, nan, nan}, 0, nil),
		}
	}
	for _, tt := range []struct {
		noNull bool
		want   string
	}{
		{false, `[{"target":"a","tags":{"name":"a"},"datapoints":[[1.0,60],[null,120],[1e9999,180],[-0.5,240]]},{"target":"b","tags":{"name":"b"},"datapoints":[[null,60],[null,120],[null,180],[null,240]]}]` + "\n"},
		{true, `[{"target":"a","tags":{"name":"a"},"datapoints":[[1.0,60],[1e9999,180],[-0.5,240]]}]` + "\n"},
	} {
		if got := string(appendRenderJSON(nil, series(), 0, false, tt.noNull)); got != tt.want {
			t.Errorf("noNull %v:\n got %s\nwant %s", tt.noNull, got, tt.want)
		}
	}
}
