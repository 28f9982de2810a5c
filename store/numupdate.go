package store

import (
	"errors"
	"math"
	"strconv"
)

// Numeric readings (Update.Nums): protocols that carry binary values
// (Prometheus remote_write, OTLP) hand them over as float64, so no text is
// formatted for the store, journaled, and parsed back per reading.
//
// The meaning is the text path's on the text AppendReading gives, except
// that GAUGE, ABSOLUTE, DCOUNTER and DDERIVE take the number itself (a
// correctly rounded strtod of its shortest text) where rrdtool's
// rrd_strtod may round that text's last bit differently. COUNTER and
// DERIVE difference decimal digits in rrdtool (rrd_diff): an integral
// double is exactly its digits, and when both readings are integers below
// 2^63 of one sign and their difference is below 2^53, the IEEE
// subtraction is that exact difference, which is what rrd_diff reads back;
// otherwise (a non-integer, which COUNTER and DERIVE refuse, a sign change,
// a larger difference, a previous reading kept as text) the reading takes
// the text path with AppendReading's text, so the result is the text
// path's by construction. store/numupdate_test.go checks both against
// each other.

// lastNumeric is dsState.lastDS when the last reading is the number
// lastNum: longer than any text kept (lastDSLen), so no text equals it,
// and any text assignment (an edit, an import) replaces it.
const lastNumeric = "\x00numeric reading: dsState.lastNum"

// twoTo53, twoTo63 bound what a double holds exactly as an integer
// difference, and what an int64 holds.
const (
	twoTo53 = 1 << 53
	twoTo63 = 1 << 63
)

// AppendReading appends the text of reading x for a data source of type
// t as a protocol would format it for the text path: "U" for NaN;
// COUNTER and DERIVE integers as their exact decimal digits; other
// integers below 2^53 as digits; anything else as the shortest text that
// reads back as x ("+Inf", "1.5", "1e+300").
func AppendReading(dst []byte, x float64, t DSType) []byte {
	switch {
	case math.IsNaN(x):
		return append(dst, 'U')
	case x == 0:
		return append(dst, '0') // −0 too
	case math.IsInf(x, 0) || x != math.Trunc(x):
	case x > -twoTo63 && x < twoTo63 && (t == Counter || t == Derive || x > -twoTo53 && x < twoTo53):
		return strconv.AppendInt(dst, int64(x), 10)
	case t == Counter || t == Derive:
		return strconv.AppendFloat(dst, x, 'f', 0, 64) // exact: every digit
	}
	return strconv.AppendFloat(dst, x, 'g', -1, 64)
}

// lastText is the last reading as rrdtool keeps it (last_ds).
func (s *dsState) lastText(t DSType) string {
	if s.lastDS != lastNumeric {
		return s.lastDS
	}
	var buf [40]byte
	b := AppendReading(buf[:0], s.lastNum, t)
	if len(b) > lastDSLen {
		b = b[:lastDSLen]
	}
	return string(b)
}

// lastFloat is the last reading of a DCOUNTER or DDERIVE as a number.
func (s *dsState) lastFloat() (float64, error) {
	if s.lastDS == lastNumeric {
		return s.lastNum, nil
	}
	return parseReading(s.lastDS)
}

// updateNum applies one reading given as numbers.
func (e *engine) updateNum(t, usec int64, nums []float64) error {
	if nums == nil {
		nums = []float64{} // a reading of no data sources, not a text one
	}
	return e.updateR(t, usec, nil, nums)
}

// integerReading tells whether x is a COUNTER (unsigned) or DERIVE
// (signed) reading the numeric path differences itself.
func integerReading(x float64, signed bool) bool {
	return x == math.Trunc(x) && x < twoTo63 && (x >= 0 || signed && x > -twoTo63)
}

// prepareNum is prepareText for the number x.
func (e *engine) prepareNum(i int, x float64, interval float64) error {
	ds := &e.spec.DS[i]
	s := &e.st.ds[i]
	x += 0 // −0 reads as "0": −0 + 0 is 0
	if ds.Type == Gauge && x == x && float64(ds.Heartbeat) >= interval {
		// the commonest reading: the steps below for it, without the
		// type switch and the last reading's checks
		e.pdpNew[i] = x * interval
		e.checkRate(i, x)
		s.lastDS, s.lastNum = lastNumeric, x
		return nil
	}
	if typ := ds.Type; typ == Counter || typ == Derive {
		if !integerReading(x, typ == Derive) {
			// NaN ("U"), refused as its text is, or beyond what the
			// subtraction below keeps exact: the text path decides
			var buf [40]byte
			return e.prepareText(i, string(AppendReading(buf[:0], x, typ)), interval)
		}
	} else if x != x {
		return e.prepareText(i, "U", interval)
	}
	hb := float64(ds.Heartbeat)
	if hb < interval {
		s.lastDS = "U"
	}
	e.pdpNew[i] = math.NaN()
	if hb >= interval && ds.Type != Compute {
		rate := math.NaN()
		known := s.lastDS == "" || s.lastDS[0] != 'U'
		switch ds.Type {
		case Counter, Derive:
			if !known {
				break
			}
			diff := math.NaN() // readings of different signs: rrd_diff can't
			if s.lastDS != lastNumeric {
				var buf [40]byte
				diff = decimalDiff(string(AppendReading(buf[:0], x, ds.Type)), s.lastDS)
			} else if (x < 0) == (s.lastNum < 0) {
				diff = x - s.lastNum
				if math.Abs(diff) >= twoTo53 {
					// rrd_diff's digits read back by rrd_strtod
					var b1, b2 [40]byte
					diff = decimalDiff(string(AppendReading(b1[:0], x, ds.Type)), string(AppendReading(b2[:0], s.lastNum, ds.Type)))
				}
			}
			if ds.Type == Counter {
				diff = counterWrap(diff)
			}
			e.pdpNew[i] = diff
			rate = diff / interval
		case Absolute:
			e.pdpNew[i] = x
			rate = x / interval
		case Gauge:
			e.pdpNew[i] = x * interval
			rate = x
		case DCounter, DDerive:
			if known {
				ov, err := s.lastFloat()
				if err != nil {
					return err
				}
				e.floatDiff(i, x, ov, interval)
			}
		}
		e.checkRate(i, rate)
	}
	s.lastDS, s.lastNum = lastNumeric, x
	return nil
}

// errBothReadings refuses an update with text and numeric readings.
var errBothReadings = errors.New("readings given both as text and as numbers")

// apply applies u by the series' model, from its text or numeric readings.
func (a *archive) apply(u *Update) error {
	if u.Nums == nil {
		return a.update(u.Time, u.Usec, u.Values)
	}
	if u.Values != nil {
		return errBothReadings
	}
	if !a.model.graphite {
		return a.eng.updateNum(u.Time, u.Usec, u.Nums)
	}
	return a.updateGraphite(u.Time, u.Usec, nil, u.Nums)
}

// width is the number of readings u carries.
func (u *Update) width() int { return len(u.Values) + len(u.Nums) }

// textReadings gives numeric readings as the text path's (late points of
// the Graphite model are overwritten from text).
func textReadings(spec *Spec, nums []float64) []string {
	out := make([]string, len(nums))
	for i, x := range nums {
		t := Gauge
		if i < len(spec.DS) {
			t = spec.DS[i].Type
		}
		out[i] = string(AppendReading(nil, x, t))
	}
	return out
}
