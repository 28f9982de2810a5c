package graph

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"rrdash/rpn"
)

// Fetcher reads consolidated rows; *store.DB satisfies it.
type Fetcher = rpn.Fetcher

// DefArgs formats the DEF/CDEF/VDEF lines as rrdtool arguments (what rpn parses).
func (s *Spec) DefArgs() []string {
	a := s.Args()
	var out []string
	for _, x := range a {
		if len(x) > 4 && (x[:4] == "DEF:" || x[:5] == "CDEF:" || x[:5] == "VDEF:" || strings.HasPrefix(x, "SHIFT:")) {
			out = append(out, x)
		}
	}
	return out
}

// DefError is a problem with one DEF/CDEF/VDEF line: its index in
// Spec.Defs and, when rpn can tell, the token and its 1-based position.
type DefError struct {
	Line  int // index into Spec.Defs
	Pos   int
	Token string
	Msg   string
	Err   error
}

func (e *DefError) Error() string { return e.Err.Error() }
func (e *DefError) Unwrap() error { return e.Err }

// Compile checks the spec and compiles its DEF/CDEF/VDEF lines with rpn;
// errors in a line are *DefError.
func Compile(s *Spec) (*rpn.Script, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	args := s.DefArgs()
	sc, err := rpn.ParseScript(args)
	if err != nil {
		de := &DefError{Line: -1, Err: err, Msg: err.Error()}
		var re *rpn.Error
		if errors.As(err, &re) {
			de.Pos, de.Token, de.Msg = re.Pos, re.Token, re.Msg
		}
		var n int
		if _, scanErr := fmt.Sscanf(err.Error(), "argument %d:", &n); scanErr == nil && n >= 1 && n <= len(s.Defs) {
			de.Line = n - 1
		}
		return nil, de
	}
	return sc, nil
}

// Options control evaluation.
type Options struct {
	Now time.Time
	// Start and End override the spec's range when not empty.
	Start, End string
	// Width is the chart width in pixels; at most 2×Width rows are fetched
	// (interactive charts zoom in), unless MaxRows says otherwise.
	Width int
	// MaxRows bounds the rows; rrdtool graph uses one row per pixel, which
	// is what a PNG needs.
	MaxRows int
	Loc     *time.Location
	// Budget bounds the work of the evaluation in row-operations (see
	// rpn.Request.Budget) and the size of the chart grid; 0: no limit.
	// Over it, Evaluate fails with a *rpn.BudgetError.
	Budget int64
}

// Evaluate resolves the time range, fetches and computes every DEF, CDEF
// and VDEF through rpn, and lays the columns out on one grid.
func Evaluate(ctx context.Context, f Fetcher, s *Spec, o Options) (*Data, error) {
	sc, err := Compile(s)
	if err != nil {
		return nil, err
	}
	startSpec, endSpec := s.Start, s.End
	if o.Start != "" {
		startSpec = o.Start
	}
	if o.End != "" {
		endSpec = o.End
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	start, end, err := ResolveRange(startSpec, endSpec, o.Now)
	if err != nil {
		return nil, err
	}
	width := o.Width
	if width <= 0 {
		width, _ = s.Size()
	}
	loc := o.Loc
	if loc == nil {
		loc = time.UTC
	}
	maxRows := 2 * width
	if o.MaxRows > 0 {
		maxRows = o.MaxRows
	}
	vals, err := sc.Evaluate(ctx, f, rpn.Request{Start: start, End: end, Step: s.Step, MaxRows: maxRows, MissingAsNaN: s.NaNForMissing,
		Env: rpn.Env{Loc: loc, Now: o.Now.Unix()}, Budget: o.Budget})
	if err != nil {
		return nil, err
	}
	d := &Data{Columns: map[string][]float64{}, VDEFs: map[string]VValue{}, Raw: map[string]*rpn.Series{}}
	series := map[string]*rpn.Series{}
	for _, def := range s.Defs {
		if def.Kind == KindSHIFT {
			continue // its DEF or CDEF is looked up shifted
		}
		ser, vv, ok := sc.Lookup(vals, def.Name)
		if !ok {
			return nil, fmt.Errorf("%s %s: not evaluated", def.Kind, def.Name)
		}
		switch def.Kind {
		case KindVDEF:
			v := VValue{Value: vv.Value}
			if vv.HasTime {
				v.Time = vv.Time
			}
			d.VDEFs[def.Name] = v
		default:
			if ser == nil {
				return nil, fmt.Errorf("%s %s: no rows", def.Kind, def.Name)
			}
			series[def.Name] = ser
			d.Raw[def.Name] = ser
			if def.Kind == KindDEF {
				cf := def.CF
				if def.Reduce != "" {
					cf += "→" + def.Reduce // rows were reduced with another CF
				}
				d.Sources = append(d.Sources, SourceInfo{Def: def.Name, Series: def.Series, DS: def.DS, CF: cf, Step: ser.Step})
			}
		}
	}
	// The common grid is xport's: the gcd of the steps of what is drawn.
	var step int64
	for _, it := range s.Items {
		if it.Type != ItemLine && it.Type != ItemArea {
			continue
		}
		if ser := series[it.Vname]; ser != nil && ser.Step > 0 {
			step = gcd(step, ser.Step)
		}
	}
	if step == 0 {
		for _, ser := range series {
			if ser.Step > 0 {
				step = gcd(step, ser.Step)
			}
		}
	}
	if step == 0 {
		step = max(1, (end-start)/int64(maxRows))
	}
	d.Step = step
	d.From, d.To = start, end
	d.Start = start - start%step
	d.End = end
	if r := d.End % step; r != 0 {
		d.End += step - r
	}
	rows := d.Rows()
	// The grid's step is a gcd of steps, which can be far finer than any
	// series': bound it before allocating.
	if cells := float64(rows) * float64(len(series)); o.Budget > 0 && cells > float64(o.Budget) {
		return nil, &rpn.BudgetError{Cost: cells, Limit: o.Budget,
			Worst: rpn.OpCost{Stmt: fmt.Sprintf("the chart grid (%d rows of %d s × %d series)", rows, step, len(series)), Cost: cells}}
	}
	for name, ser := range series {
		col := make([]float64, rows)
		for i := range col {
			col[i] = valueAt(ser, d.Start+int64(i+1)*step)
		}
		d.Columns[name] = col
	}
	return d, nil
}

// valueAt returns the value of the row covering time t, NaN outside.
func valueAt(s *rpn.Series, t int64) float64 {
	if s.Step <= 0 || t <= s.Start {
		return math.NaN()
	}
	k := (t-s.Start+s.Step-1)/s.Step - 1
	if k >= int64(len(s.Values)) {
		return math.NaN()
	}
	return s.Values[k]
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
