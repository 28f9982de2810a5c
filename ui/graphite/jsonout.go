package graphite

import (
	"encoding/json"
	"math"
	"strconv"
	"sync"
)

// The JSON answer of /render is most of a render's time for long series
// (one year of hourly points is 8,760 values and timestamps): it is
// written by hand into a pooled buffer, values with a fast path for
// Python's repr and timestamps by their changing low digits.

// renderBufs recycles answer buffers (a year of points is ~250 KB).
var renderBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// maxPooledBuf: larger buffers are left to the collector, so that one big
// answer does not pin its memory in the pool.
const maxPooledBuf = 4 << 20

func getRenderBuf() *[]byte { return renderBufs.Get().(*[]byte) }

func putRenderBuf(b *[]byte) {
	if cap(*b) <= maxPooledBuf {
		*b = (*b)[:0]
		renderBufs.Put(b)
	}
}

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8}

// appendRepr appends a finite float as Python's repr (see pyFloat).
//
// Fast path: when v is m/10^k for an integer m below 10^15 and k ≤ 8
// (checked by the exact division: IEEE division is correctly rounded,
// so m·10^-k reads back as v), those digits are repr's. They round-trip,
// and no other decimal of at most 15 significant digits reads as the
// same float (15 digits always survive a round trip through a double),
// so none is shorter or as short. Below 10^7 one multiplication by 10^8
// finds m exactly (its error is under a quarter), and the smallest k is
// m's trailing zeros off. Values not of that form (1/3) go to strconv's
// shortest formatting.
func appendRepr(b []byte, v float64) []byte {
	a := math.Abs(v)
	if v == 0 || a >= 1e15 || a < 1e-4 {
		return appendPyFloat(b, v)
	}
	var mi uint64
	k := 0
	if a < 1e7 {
		m := math.Round(a * 1e8)
		if m/1e8 != a {
			return appendPyFloat(b, v)
		}
		mi, k = uint64(m), 8
		for k > 0 && mi%10 == 0 {
			mi, k = mi/10, k-1
		}
	} else {
		for k = 0; ; k++ {
			if k == len(pow10) {
				return appendPyFloat(b, v)
			}
			m := math.Round(a * pow10[k])
			if m >= 1e15 {
				return appendPyFloat(b, v)
			}
			if m/pow10[k] == a {
				mi = uint64(m)
				break
			}
		}
	}
	if v < 0 {
		b = append(b, '-')
	}
	// mi's digits, two at a time (division by a constant), then the point
	// k digits from the right
	var d [24]byte
	i := len(d)
	for mi >= 100 {
		q := mi / 100
		r := (mi - q*100) * 2
		i -= 2
		d[i], d[i+1] = digitPairs[r], digitPairs[r+1]
		mi = q
	}
	if mi >= 10 {
		i -= 2
		d[i], d[i+1] = digitPairs[mi*2], digitPairs[mi*2+1]
	} else {
		i--
		d[i] = byte('0' + mi)
	}
	digits := d[i:]
	switch n := len(digits); {
	case k == 0:
		b = append(b, digits...)
		return append(b, '.', '0')
	case n > k:
		b = append(b, digits[:n-k]...)
		b = append(b, '.')
		return append(b, digits[n-k:]...)
	default:
		b = append(b, '0', '.')
		for ; n < k; n++ {
			b = append(b, '0')
		}
		return append(b, digits...)
	}
}

// tsFormatter appends decimal timestamps that mostly share their leading
// digits with the previous one: only the last six digits are formatted
// per point (two at a time).
type tsFormatter struct {
	high   int64 // t / 10^6 of the cached prefix; -1: none
	prefix []byte
}

func (f *tsFormatter) append(b []byte, t int64) []byte {
	if t < 1e6 {
		return strconv.AppendInt(b, t, 10)
	}
	h := t / 1e6
	if h != f.high {
		f.high = h
		f.prefix = strconv.AppendInt(f.prefix[:0], h, 10)
	}
	b = append(b, f.prefix...)
	lo := t % 1e6
	i, j, k := lo/10000*2, lo/100%100*2, lo%100*2
	return append(b, digitPairs[i], digitPairs[i+1], digitPairs[j], digitPairs[j+1], digitPairs[k], digitPairs[k+1])
}

const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// appendSeriesPoints writes a series' [[value, ts], …] (graphite-web's
// datapoints(): End inclusive, truncated to the shorter), null for None
// and ±1e9999 for infinities; noNull leaves out the None points. It
// reports whether any point was written.
func appendSeriesPoints(b []byte, s *Series, noNull bool, ts *tsFormatter) ([]byte, bool) {
	vals := s.points()
	step := s.Step * int64(max(s.VPP, 1))
	b = append(b, '[')
	any := false
	if step > 0 {
		for i, t := 0, s.Start; i < len(vals) && t <= s.End; i, t = i+1, t+step {
			v := vals[i]
			if math.IsNaN(v) && noNull {
				continue
			}
			if any {
				b = append(b, ',')
			}
			any = true
			b = append(b, '[')
			switch {
			case math.IsNaN(v):
				b = append(b, "null"...)
			case math.IsInf(v, 1):
				b = append(b, "1e9999"...)
			case math.IsInf(v, -1):
				b = append(b, "-1e9999"...)
			default:
				b = appendRepr(b, v)
			}
			b = append(b, ',')
			b = ts.append(b, t)
			b = append(b, ']')
		}
	}
	return append(b, ']'), any
}

// appendRenderJSON appends graphite-web's JSON answer (consolidated to
// maxDataPoints when asked).
func appendRenderJSON(b []byte, data []*Series, maxDP int, hasMaxDP, noNull bool) []byte {
	if hasMaxDP && maxDP > 0 {
		consolidateForMaxDataPoints(data, maxDP)
	}
	ts := tsFormatter{high: -1}
	b = append(b, '[')
	first := true
	for _, s := range data {
		mark := len(b)
		if !first {
			b = append(b, ',')
		}
		name, _ := json.Marshal(s.Name) // a string: cannot fail
		tags, _ := json.Marshal(s.Tags) // string to string, keys sorted
		b = append(b, `{"target":`...)
		b = append(b, name...)
		b = append(b, `,"tags":`...)
		b = append(b, tags...)
		b = append(b, `,"datapoints":`...)
		var any bool
		b, any = appendSeriesPoints(b, s, noNull, &ts)
		if noNull && !any {
			b = b[:mark] // graphite-web leaves out a series with no point left
			continue
		}
		first = false
		b = append(b, '}')
	}
	return append(b, ']', '\n')
}
