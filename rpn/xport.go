package rpn

import (
	"context"
	"fmt"
	"math"

	"rrdash/store"
)

// Export is the result of an xport: Rows() rows, row i at
// Start+(i+1)·Step, one column per XPORT statement.
type Export struct {
	Start, End, Step int64
	Legends          []string
	Columns          [][]float64
}

// Rows is the number of exported rows.
func (x *Export) Rows() int {
	if x.Step == 0 {
		return 0
	}
	return int((x.End - x.Start) / x.Step)
}

// Xport evaluates the script and lays the XPORTed series out on a common
// step (the greatest common divisor of their steps) from the request's
// start aligned down to its end rounded up.
func (sc *Script) Xport(ctx context.Context, f Fetcher, req Request) (*Export, error) {
	var xs []Statement
	for _, st := range sc.Stmts {
		if st.Kind == KindXport {
			xs = append(xs, st)
		}
	}
	if len(xs) == 0 {
		return nil, fmt.Errorf("no XPORT statement")
	}
	vals, mt, err := sc.evaluate(ctx, f, req)
	if err != nil {
		return nil, err
	}
	x := &Export{}
	series := make([]*Series, len(xs))
	for i, st := range xs {
		series[i] = vals.Series[sc.names[st.VName]]
		if i == 0 {
			x.Step = series[i].Step
		} else {
			x.Step = gcd(x.Step, series[i].Step)
		}
		x.Legends = append(x.Legends, st.Legend)
	}
	x.Start = req.Start - req.Start%x.Step
	x.End = req.End
	if r := x.End % x.Step; r != 0 {
		x.End += x.Step - r
	}
	rows := x.Rows()
	if err := mt.add(int64(rows)*int64(len(series)), nil, -1, "XPORT"); err != nil {
		return nil, err
	}
	for _, s := range series {
		x.Columns = append(x.Columns, layout(s, x.Start, x.Step, rows))
	}
	return x, nil
}

// layout returns s's values at the rows start+(i+1)·step, unknown outside
// s. A series on the same aligned step is shared when it covers all those
// rows, else copied as a block.
func layout(s *Series, start, step int64, rows int) []float64 {
	if s.Step == step && (start-s.Start)%step == 0 {
		if off := (start - s.Start) / step; off >= 0 && off+int64(rows) <= int64(len(s.Values)) {
			return s.Values[off : off+int64(rows)] // all inside: share, the export only reads
		}
	}
	col := store.MakeColumn(rows)
	if s.Step == step && (start-s.Start)%step == 0 {
		off := int((start - s.Start) / step) // s row of output row 0
		for i := range col {
			if k := off + i; k >= 0 && k < len(s.Values) {
				// the block in range, then the rest below
				n := copy(col[i:], s.Values[k:])
				for j := i + n; j < rows; j++ {
					col[j] = math.NaN()
				}
				return col
			}
			col[i] = math.NaN()
		}
		return col
	}
	for i := range col {
		if k := s.rowAt(start + int64(i+1)*step); k >= 0 {
			col[i] = s.Values[k]
		} else {
			col[i] = math.NaN()
		}
	}
	return col
}
