package rpn

// Series is a column of consolidated values as rrdtool's graph and xport
// code see a DEF or CDEF: row i covers (Start+i·Step, Start+(i+1)·Step] and
// carries the timestamp Start+(i+1)·Step. Unknown is NaN.
type Series struct {
	Start  int64
	Step   int64
	Values []float64
}

// End is the timestamp of the last row (Start when there are none).
func (s *Series) End() int64 { return s.Start + int64(len(s.Values))*s.Step }

// rowAt returns the row covering time t, or -1 outside the series.
func (s *Series) rowAt(t int64) int {
	if s.Step <= 0 || t <= s.Start {
		return -1
	}
	k := (t-s.Start+s.Step-1)/s.Step - 1
	if k >= int64(len(s.Values)) {
		return -1
	}
	return int(k)
}

// VValue is the result of a VDEF: a value and, for the functions that have
// one, the time it belongs to.
type VValue struct {
	Value   float64
	Time    int64
	HasTime bool
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
