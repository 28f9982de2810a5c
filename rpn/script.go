package rpn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"rrdash/store"
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
