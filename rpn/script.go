package rpn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"rrdash/store"
	"rrdash/store/attime"
)

// Fetcher reads consolidated rows of a series like `rrdtool fetch`. The
// store's *store.DB satisfies it.
type Fetcher interface {
	Fetch(name string, req store.FetchRequest) (*store.FetchResult, error)
}

// ConsolidatingFetcher is a Fetcher that also reduces rows to a coarser
// step while it reads them (*store.DB): a DEF over a year of fine rows
// then never holds them all.
type ConsolidatingFetcher interface {
	FetchConsolidated(name string, req store.ConsolidateRequest) (*store.ConsolidatedResult, error)
}

// Def is a DEF statement: DEF:vname=series:ds:CF[:step=s][:start=t][:end=t][:reduce=CF].
type Def struct {
	Series string
	// Query is set when Series is a seriesByTag('expr', …) call: the DEF
	// is the row-wise sum of every matching series (tagdef.go).
	Query     []store.TagExpr
	DS        string
	CF        store.CF
	Step      int64    // 0: not given
	StartSpec string   // "": the script's start
	EndSpec   string   // "": the script's end
	Reduce    store.CF // 0: CF
}

// Kind of a statement.
type Kind uint8

// Statement kinds.
const (
	KindDef Kind = iota + 1
	KindCDef
	KindVDef
	KindXport
	KindShift
)

// Statement is one parsed DEF, CDEF, VDEF or XPORT argument.
type Statement struct {
	Kind   Kind
	Text   string // the argument as given, for error messages
	VName  string
	Def    Def      // KindDef
	Prog   *Program // KindCDef
	VDef   VDef     // KindVDef
	Legend string   // KindXport
	// KindShift (SHIFT:vname:offset): VName is the DEF or CDEF shifted,
	// by Shift seconds or by the value of the VDEF ShiftBy.
	Shift   int64
	ShiftBy string
}

// Script is a parsed list of DEF/CDEF/VDEF/XPORT statements, compiled once
// and evaluable any number of times.
type Script struct {
	Stmts []Statement
	names map[string]int // vname → statement index
}

// splitColons splits at colons not escaped with a backslash, unescaping
// "\:" as rrdtool does for file names and legends.
func splitColons(s string) []string {
	var parts []string
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == ':':
			b.WriteByte(':')
			i++
		case s[i] == ':':
			parts = append(parts, b.String())
			b.Reset()
		default:
			b.WriteByte(s[i])
		}
	}
	return append(parts, b.String())
}

// ParseScript parses and compiles statements in order; a statement may only
// use names defined before it.
func ParseScript(args []string) (*Script, error) {
	sc := &Script{names: map[string]int{}}
	later := map[string]bool{} // names defined anywhere, for a clearer error
	for _, arg := range args {
		if kind, rest, ok := strings.Cut(arg, ":"); ok && (kind == "DEF" || kind == "CDEF" || kind == "VDEF") {
			if name, _, ok := strings.Cut(rest, "="); ok {
				later[name] = true
			}
		}
	}
	for i, arg := range args {
		st, err := sc.parse(arg)
		var e *Error
		if errors.As(err, &e) && strings.HasPrefix(e.Msg, "unknown variable") && later[strings.TrimSuffix(strings.TrimPrefix(e.Token, "PREV("), ")")] {
			e.Msg = "variable defined by this or a later statement (statements are evaluated in order: no forward references or cycles)"
		}
		if err != nil {
			return nil, fmt.Errorf("argument %d: %w", i+1, err)
		}
		if st.Kind != KindXport && st.Kind != KindShift {
			sc.names[st.VName] = len(sc.Stmts)
		}
		sc.Stmts = append(sc.Stmts, st)
	}
	return sc, nil
}

func (sc *Script) defineName(stmt, name string) error {
	if !isVName(name) {
		return &Error{Stmt: stmt, Msg: fmt.Sprintf("invalid variable name %q (letters, digits, '_' and '-', at most 255)", name)}
	}
	if IsOperator(name) {
		return &Error{Stmt: stmt, Msg: fmt.Sprintf("variable name %q is an RPN operator", name)}
	}
	if _, dup := sc.names[name]; dup {
		return &Error{Stmt: stmt, Msg: fmt.Sprintf("variable %q is defined twice", name)}
	}
	return nil
}

func (sc *Script) parse(arg string) (Statement, error) {
	kind, rest, ok := strings.Cut(arg, ":")
	if !ok {
		return Statement{}, fmt.Errorf("%q: want DEF:, CDEF:, VDEF: or XPORT:", arg)
	}
	st := Statement{Text: arg}
	switch kind {
	case "DEF", "CDEF", "VDEF":
		name, body, ok := strings.Cut(rest, "=")
		if !ok {
			return st, &Error{Stmt: arg, Msg: "missing '=' after the variable name"}
		}
		if err := sc.defineName(arg, name); err != nil {
			return st, err
		}
		st.VName = name
		switch kind {
		case "DEF":
			st.Kind = KindDef
			d, err := parseDef(arg, body)
			if err != nil {
				return st, err
			}
			st.Def = d
		case "CDEF":
			st.Kind = KindCDef
			p, err := Compile(arg, body, sc.resolve)
			if err != nil {
				return st, err
			}
			st.Prog = p
		case "VDEF":
			st.Kind = KindVDef
			v, err := ParseVDef(arg, body)
			if err != nil {
				return st, err
			}
			kind, _, ok := sc.resolve(v.Src)
			if !ok {
				return st, &Error{Stmt: arg, Pos: 1, Token: v.Src, Msg: "unknown variable"}
			}
			if kind != KindSeries {
				return st, &Error{Stmt: arg, Pos: 1, Token: v.Src, Msg: "a VDEF needs a DEF or CDEF, not another VDEF"}
			}
			st.VDef = v
		}
	case "XPORT":
		f := splitColons(rest)
		if len(f) > 2 {
			return st, &Error{Stmt: arg, Msg: "want XPORT:vname[:legend]"}
		}
		k, _, ok := sc.resolve(f[0])
		if !ok {
			return st, &Error{Stmt: arg, Msg: fmt.Sprintf("unknown variable %q", f[0])}
		}
		if k != KindSeries {
			return st, &Error{Stmt: arg, Msg: fmt.Sprintf("%q is a VDEF; XPORT needs a DEF or CDEF", f[0])}
		}
		st.Kind, st.VName = KindXport, f[0]
		if len(f) == 2 {
			st.Legend = f[1]
		}
	case "SHIFT":
		// SHIFT:vname:offset, as rrdtool's parse_shift: a DEF or CDEF
		// moved in time by a number of seconds or by a VDEF's value.
		f := splitColons(rest)
		if len(f) != 2 || f[1] == "" {
			return st, &Error{Stmt: arg, Msg: "want SHIFT:vname:offset (seconds or a VDEF)"}
		}
		k, _, ok := sc.resolve(f[0])
		if !ok {
			return st, &Error{Stmt: arg, Pos: 1, Token: f[0], Msg: "unknown variable"}
		}
		if k != KindSeries {
			return st, &Error{Stmt: arg, Pos: 1, Token: f[0], Msg: "cannot shift a VDEF"}
		}
		st.Kind, st.VName = KindShift, f[0]
		if k, _, ok := sc.resolve(f[1]); ok {
			if k == KindSeries {
				return st, &Error{Stmt: arg, Pos: 2, Token: f[1], Msg: "the offset cannot be a DEF or CDEF"}
			}
			st.ShiftBy = f[1]
			break
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return st, &Error{Stmt: arg, Pos: 2, Token: f[1], Msg: "the offset is neither a number of seconds nor a VDEF"}
		}
		st.Shift = n
	default:
		return st, fmt.Errorf("%q: unknown statement %q (want DEF, CDEF, VDEF, SHIFT or XPORT)", arg, kind)
	}
	return st, nil
}

// shifted is s moved by off seconds, truncated to whole steps, from where
// an earlier SHIFT of the same variable (by prev) had put it: as rrdtool's
// data_calc, the last SHIFT of a variable is the one in effect.
func shifted(s *Series, prev, off int64) (*Series, int64) {
	if s.Step > 0 {
		off = off / s.Step * s.Step
	}
	c := *s
	c.Start += off - prev
	return &c, off
}

func (sc *Script) resolve(name string) (VarKind, int, bool) {
	i, ok := sc.names[name]
	if !ok {
		return 0, 0, false
	}
	if sc.Stmts[i].Kind == KindVDef {
		return KindValue, i, true
	}
	return KindSeries, i, true
}

func parseDef(stmt, body string) (Def, error) {
	f := splitColons(body)
	if len(f) < 3 {
		return Def{}, &Error{Stmt: stmt, Msg: "want DEF:vname=series:ds:CF[:options]"}
	}
	cf, err := store.ParseCF(f[2])
	if err != nil {
		return Def{}, &Error{Stmt: stmt, Msg: err.Error()}
	}
	d := Def{Series: f[0], DS: f[1], CF: cf}
	if d.Series == "" || d.DS == "" {
		return Def{}, &Error{Stmt: stmt, Msg: "empty series or data source name"}
	}
	if strings.HasPrefix(d.Series, "seriesByTag(") {
		if d.Query, err = store.ParseTagQuery([]string{d.Series}); err != nil {
			return Def{}, &Error{Stmt: stmt, Msg: err.Error()}
		}
	}
	for _, opt := range f[3:] {
		k, v, ok := strings.Cut(opt, "=")
		if !ok {
			return Def{}, &Error{Stmt: stmt, Msg: fmt.Sprintf("option %q: want key=value", opt)}
		}
		switch k {
		case "step":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return Def{}, &Error{Stmt: stmt, Msg: fmt.Sprintf("step=%q: want a positive number of seconds", v)}
			}
			d.Step = n
		case "start":
			d.StartSpec = v
		case "end":
			d.EndSpec = v
		case "reduce":
			r, err := store.ParseCF(v)
			if err != nil {
				return Def{}, &Error{Stmt: stmt, Msg: "reduce=: " + err.Error()}
			}
			d.Reduce = r
		case "daemon":
			return Def{}, &Error{Stmt: stmt, Msg: "daemon= is not supported: rrdash reads its own store"}
		default:
			return Def{}, &Error{Stmt: stmt, Msg: fmt.Sprintf("unknown DEF option %q", k)}
		}
	}
	return d, nil
}

// Request is the time range and resolution of an evaluation, as given to
// `rrdtool xport` (--start, --end, --step, --maxrows).
type Request struct {
	Start, End int64
	Step       int64 // 0: not given
	MaxRows    int   // 0: 400
	Env        Env
	// Budget is the most work the evaluation may do, in row-operations
	// (see budget.go); 0: no limit. Over it, evaluation fails with a
	// *BudgetError: right after the DEFs are fetched when the estimate of
	// the CDEFs, VDEFs and XPORTs is over, else when the work reaches it.
	Budget int64
	// MissingAsNaN makes a DEF whose fetch fails (no such series, an
	// unreadable file) all unknown instead of an error, as rrdtool graph's
	// --use-nan-for-all-missing-data (rrd_fetch_empty: rows of the DEF's
	// step over its range). A data source missing from a series that
	// exists is still an error, as in rrdtool.
	MissingAsNaN bool
}

// Values holds the evaluated statements: a Series per DEF/CDEF and a
// VValue per VDEF, indexed like Script.Stmts.
type Values struct {
	Series []*Series
	V      []VValue
}

// Lookup returns the series or value of a variable name.
func (sc *Script) Lookup(v *Values, name string) (*Series, VValue, bool) {
	i, ok := sc.names[name]
	if !ok {
		return nil, VValue{}, false
	}
	return v.Series[i], v.V[i], true
}

// baseStep is xport's resolution: max(--step, (end-start)/maxrows).
func (r Request) baseStep() int64 {
	maxRows := int64(r.MaxRows)
	if maxRows <= 0 {
		maxRows = 400
	}
	maxRows = max(maxRows, 10)
	return max(r.Step, (r.End-r.Start)/maxRows)
}

// defRange is the time range a DEF fetches: the request's, or its own
// start=/end= which, as in rrdtool, refer to each other and default to the
// request's.
func defRange(d Def, req Request) (start, end int64, err error) {
	if d.StartSpec == "" && d.EndSpec == "" {
		return req.Start, req.End, nil
	}
	ss, es := d.StartSpec, d.EndSpec
	if ss == "" {
		ss = strconv.FormatInt(req.Start, 10)
	}
	if es == "" {
		es = strconv.FormatInt(req.End, 10)
	}
	return attime.ParseRange(ss, es, time.Unix(req.Env.Now, 0), req.Env.Loc)
}

// Evaluate fetches every DEF and computes CDEFs and VDEFs in order. It
// stops with ctx's error (wrapped) soon after ctx ends, and refuses work
// over req.Budget with a *BudgetError.
func (sc *Script) Evaluate(ctx context.Context, f Fetcher, req Request) (*Values, error) {
	vals, _, err := sc.evaluate(ctx, f, req)
	return vals, err
}

func (sc *Script) evaluate(ctx context.Context, f Fetcher, req Request) (*Values, *meter, error) {
	if req.End <= req.Start {
		return nil, nil, fmt.Errorf("start (%d) should be less than end (%d)", req.Start, req.End)
	}
	mt := newMeter(ctx, req.Budget)
	vals := &Values{Series: make([]*Series, len(sc.Stmts)), V: make([]VValue, len(sc.Stmts))}
	// DEFs depend on nothing else, so they are all fetched first: the
	// estimate then knows every row count and step, and refuses a script
	// over budget before any CDEF or VDEF runs.
	if err := sc.fetchDefs(ctx, mt, f, req, vals); err != nil {
		return nil, nil, err
	}
	if req.Budget > 0 {
		est := sc.estimate(req, vals.Series)
		if err := mt.room(est.Total, est.Worst); err != nil {
			return nil, nil, err
		}
	}
	in := func(ref int) Input {
		if sc.Stmts[ref].Kind == KindVDef {
			return Input{Value: vals.V[ref].Value}
		}
		return Input{Series: vals.Series[ref]}
	}
	var shifts map[int]int64 // statement → its SHIFT in effect
	for i, st := range sc.Stmts {
		if err := stopped(ctx); err != nil {
			return nil, nil, err
		}
		switch st.Kind {
		case KindCDef:
			s, err := st.Prog.eval(mt, in, req.Env, chunkRows)
			if err != nil {
				return nil, nil, err
			}
			vals.Series[i] = s
		case KindShift:
			t := sc.names[st.VName]
			off := st.Shift
			if st.ShiftBy != "" {
				v := vals.V[sc.names[st.ShiftBy]].Value
				if math.IsNaN(v) || math.IsInf(v, 0) {
					v = 0 // an unknown VDEF shifts nothing
				}
				off = int64(v)
			}
			if shifts == nil {
				shifts = map[int]int64{}
			}
			vals.Series[t], shifts[t] = shifted(vals.Series[t], shifts[t], off)
		case KindVDef:
			src := sc.names[st.VDef.Src]
			if err := mt.add(vdefCost(st.VDef, len(vals.Series[src].Values)), nil, -1, st.Text); err != nil {
				return nil, nil, err
			}
			vals.V[i] = st.VDef.Compute(vals.Series[src])
		}
	}
	return vals, mt, nil
}

// fetchDefs reads every DEF into vals, charging the fetched rows to mt.
func (sc *Script) fetchDefs(ctx context.Context, mt *meter, f Fetcher, req Request, vals *Values) error {
	step0 := req.baseStep()
	type fetchKey struct {
		series, ds string
		cf         store.CF
		start, end int64
		res        int64
	}
	cache := map[fetchKey]*store.FetchResult{}
	type emptyKey struct {
		series     string
		cf, reduce store.CF
		start, end int64
		res        int64
	}
	var emptyDS map[emptyKey]string
	var charged map[fetchKey]bool // consolidated fetches charged to mt
	for i, st := range sc.Stmts {
		if st.Kind != KindDef {
			continue
		}
		if err := stopped(ctx); err != nil {
			return err
		}
		d := st.Def
		start, end, err := defRange(d, req)
		if err != nil {
			return fmt.Errorf("%s: %w", st.Text, err)
		}
		// As rrdtool's data_fetch: the archive is chosen by the DEF's own
		// step= when it has one (else the base step), and the rows are
		// then reduced to at least the base step.
		want, res0 := max(step0, d.Step), step0
		if d.Step > 0 {
			res0 = d.Step
		}
		key := fetchKey{d.Series, d.DS, d.CF, start, end, res0}
		if cf, ok := f.(ConsolidatingFetcher); ok && d.Query == nil {
			s, err := fetchConsolidated(cf, d, store.FetchRequest{CF: d.CF, Start: start, End: end, Resolution: res0, DS: d.DS}, want)
			if err == nil {
				// rows read once count once, as the plain path's cache does
				if !charged[key] {
					if charged == nil {
						charged = map[fetchKey]bool{}
					}
					charged[key] = true
					if err := mt.add(s.read, nil, -1, st.Text); err != nil {
						return err
					}
				}
				vals.Series[i] = s.Series
				continue
			}
			if !req.MissingAsNaN {
				return fmt.Errorf("%s: %w", st.Text, err)
			}
			// the plain path below makes the empty rows rrdtool makes
		}
		res, ok := cache[key]
		if !ok {
			// one data source read (a store skips the others' rows)
			fr := store.FetchRequest{CF: d.CF, Start: start, End: end, Resolution: res0, DS: d.DS}
			if d.Query != nil {
				res, err = fetchTagged(f, d, fr)
			} else {
				res, err = f.Fetch(d.Series, fr)
			}
			empty := false
			if err != nil && req.MissingAsNaN {
				// rrdtool keeps the first empty fetch of a file (one data
				// source) for every DEF of its CF, range and step: a DEF
				// of another data source then finds none
				ek := emptyKey{d.Series, d.CF, d.Reduce, start, end, res0}
				ds, seen := emptyDS[ek]
				if !seen {
					if emptyDS == nil {
						emptyDS = map[emptyKey]string{}
					}
					emptyDS[ek], ds = d.DS, d.DS
				}
				res, err, empty = emptyFetch(ds, start, end, res0), nil, true
			}
			if err != nil {
				return fmt.Errorf("%s: %w", st.Text, err)
			}
			if !empty { // an empty result has this DEF's data source only
				cache[key] = res
			}
			if err := mt.add(int64(res.Rows()), nil, -1, st.Text); err != nil {
				return err
			}
		}
		if res.Step <= 0 {
			return fmt.Errorf("%s: fetch of %q returned step %d", st.Text, d.Series, res.Step)
		}
		col := res.Column(d.DS)
		if col == nil {
			return fmt.Errorf("%s: no data source %q in series %q", st.Text, d.DS, d.Series)
		}
		s := &Series{Start: res.Start, Step: res.Step, Values: col[:min(len(col), res.Rows())]}
		if s.Step < want {
			cf := d.Reduce
			if cf == 0 {
				cf = d.CF
			}
			s = reduceSeries(cf, s, want)
		}
		vals.Series[i] = s
	}
	return nil
}

// consolidated is a DEF's rows reduced while read, and the rows read.
type consolidated struct {
	*Series
	read int64
}

// fetchConsolidated reads a DEF's rows reduced to at least want seconds
// as reduceSeries would reduce them.
func fetchConsolidated(f ConsolidatingFetcher, d Def, fr store.FetchRequest, want int64) (consolidated, error) {
	by := d.Reduce
	if by == 0 {
		by = d.CF
	}
	res, err := f.FetchConsolidated(d.Series, store.ConsolidateRequest{FetchRequest: fr, Step: want, By: by})
	if err != nil {
		return consolidated{}, err
	}
	if res.Step <= 0 {
		return consolidated{}, fmt.Errorf("fetch of %q returned step %d", d.Series, res.Step)
	}
	return consolidated{&Series{Start: res.Start, Step: res.Step, Values: res.Values}, res.ArchiveRows}, nil
}

// emptyFetch is rrd_fetch_empty: unknown rows of step over start…end
// aligned outwards, one data source.
func emptyFetch(ds string, start, end, step int64) *store.FetchResult {
	start -= start % step
	end += step - end%step
	col := make([]float64, (end-start)/step)
	for i := range col {
		col[i] = math.NaN()
	}
	return &store.FetchResult{Start: start, End: end, Step: step, DS: []string{ds}, Values: [][]float64{col}}
}

// reduceSeries consolidates finer rows into steps of ceil(want/step)·step
// as rrdtool's reduce_data does: the start is aligned down to the new step;
// when it was not aligned the first new row is unknown and the source rows
// before the first boundary are dropped; a partial last group becomes an
// unknown row. AVERAGE is the mean of the known values, LAST the last known.
// Holt-Winters rows reduce as AVERAGE, FAILURES as MAX (store.CF.ReduceAs).
func reduceSeries(cf store.CF, s *Series, want int64) *Series {
	cf = cf.ReduceAs()
	f := (want + s.Step - 1) / s.Step
	ns := s.Step * f
	out := &Series{Start: s.Start - s.Start%ns, Step: ns}
	src := s.Values
	if off := s.Start % ns; off != 0 {
		out.Values = append(out.Values, math.NaN())
		skip := int((ns - off) / s.Step)
		src = src[min(skip, len(src)):]
	}
	for len(src) >= int(f) {
		g := src[:f]
		src = src[f:]
		v, cnt := math.NaN(), 0
		for _, x := range g {
			if isNaN(x) {
				continue
			}
			cnt++
			switch {
			case cnt == 1:
				v = x
			case cf == store.Average:
				v += x
			// rrdtool's min()/max() macros: plain comparisons (NaN is
			// skipped above; on ±0 the later value wins), and cheaper
			// than math.Min/Max over a year of rows.
			case cf == store.Min:
				if !(v < x) {
					v = x
				}
			case cf == store.Max:
				if !(v > x) {
					v = x
				}
			case cf == store.Last:
				v = x
			}
		}
		if cf == store.Average && cnt > 0 {
			v /= float64(cnt)
		}
		out.Values = append(out.Values, v)
	}
	if len(src) > 0 {
		out.Values = append(out.Values, math.NaN())
	}
	return out
}

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
