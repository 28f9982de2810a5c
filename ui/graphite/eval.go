package graphite

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"rrdash/store"

	"rrdash/store/cluster"
)

// evalContext is graphite-web's requestContext: the time range, now, the
// default xFilesFactor, and per-request caches so that a series is read
// once however many targets name it.
type evalContext struct {
	ctx         context.Context
	cat         *catalog
	from, until int64
	now         int64
	loc         *time.Location
	xff         float64
	fetched     map[fetchKey]*Series // leaf reads
	found       map[string][]node
	funcs       map[string]*function
	reads       int // leaf reads from the store (tests check the cache)
	budget      int // leaf reads allowed per request
	depth       int // targets built from text (applyByNode…) nested so far
	// stacks are stacked()'s running totals by stack name, shared by the
	// targets of one request as graphite-web's requestContext is.
	stacks map[string][]float64
}

type fetchKey struct {
	path        string
	from, until int64
}

// maxReads bounds the series one request may read.
const maxReads = 100000

func newEvalContext(ctx context.Context, funcs map[string]*function, cat *catalog, from, until, now int64, loc *time.Location, xff float64) *evalContext {
	return &evalContext{ctx: ctx, funcs: funcs, cat: cat, from: from, until: until, now: now, loc: loc, xff: xff,
		fetched: map[fetchKey]*Series{}, found: map[string][]node{}, budget: maxReads, stacks: map[string][]float64{}}
}

// withRange is a copy reading another time range (timeShift, moving*).
func (ec *evalContext) withRange(from, until int64) *evalContext {
	c := *ec
	c.from, c.until = from, until
	return &c
}

// EvalError is an error in evaluating a target, with the position of the
// call or path that failed.
type EvalError struct {
	Pos int
	Msg string
	// unavailable is the cluster's "no replica answers" behind it (503,
	// not 400); other causes stay text, as graphite-web's messages.
	unavailable error
}

func (e *EvalError) Error() string { return fmt.Sprintf("position %d: %s", e.Pos, e.Msg) }

func (e *EvalError) Unwrap() error { return e.unavailable }

func errAt(e *Expr, format string, a ...any) error {
	ee := &EvalError{Pos: e.Pos, Msg: fmt.Sprintf(format, a...)}
	for _, x := range a {
		if err, ok := x.(error); ok && errors.Is(err, cluster.ErrUnavailable) {
			ee.unavailable = err
		}
	}
	return ee
}

// evalSeries evaluates an expression that must give a series list.
func (ec *evalContext) evalSeries(e *Expr) ([]*Series, error) {
	v, err := ec.eval(e)
	if err != nil {
		return nil, err
	}
	l, ok := v.([]*Series)
	if !ok {
		return nil, errAt(e, "want a series list, got %s", e.String())
	}
	return l, nil
}

func (ec *evalContext) eval(e *Expr) (any, error) {
	if err := ec.ctx.Err(); err != nil {
		return nil, err
	}
	switch e.Kind {
	case KindPath:
		return ec.fetchPath(e, e.Path)
	case KindCall:
		if e.Func == "seriesByTag" {
			return ec.seriesByTag(e)
		}
		if out, ok, err := ec.onHolders(e); ok || err != nil {
			return out, err // a cluster node: aggregated where the series are held
		}
		f, ok := ec.funcs[e.Func]
		if !ok {
			return nil, errAt(e, "unknown function %s", e.Func)
		}
		return f.call(ec, e)
	case KindNumber:
		return e.Num, nil
	case KindString:
		return e.Str, nil
	case KindBool:
		return e.Bool, nil
	case KindNone:
		return nil, nil
	}
	return nil, errAt(e, "unknown expression")
}

// fetchPath reads every leaf a path expression matches, sorted by name,
// as graphite-web's fetchData.
func (ec *evalContext) fetchPath(e *Expr, expr string) ([]*Series, error) {
	nodes, ok := ec.found[expr]
	if !ok {
		var err error
		if nodes, err = ec.cat.find(expr); err != nil {
			return nil, errAt(e, "%v", err)
		}
		ec.found[expr] = nodes
	}
	var out []*Series
	for _, n := range nodes {
		if !n.IsLeaf {
			continue
		}
		s, err := ec.readLeaf(n.leaf)
		if err != nil {
			return nil, errAt(e, "%v", err)
		}
		if s != nil {
			s.PathExpr = expr
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// readLeaf returns a fresh copy of a leaf's series (functions change
// series in place, as graphite-web's do, so each use gets its own).
func (ec *evalContext) readLeaf(l leaf) (*Series, error) {
	k := fetchKey{l.Path, ec.from, ec.until}
	s, ok := ec.fetched[k]
	if !ok {
		if ec.reads >= ec.budget {
			return nil, fmt.Errorf("this request reads more than %d series", ec.budget)
		}
		ec.reads++
		var err error
		if s, err = ec.cat.fetchLeaf(l, ec.from, ec.until, ec.now); err != nil {
			return nil, err
		}
		ec.fetched[k] = s
	}
	if s == nil {
		return nil, nil
	}
	c := s.copyWith(s.Name, append([]float64(nil), s.Values...))
	c.XFF = ec.xff
	return c, nil
}

// seriesByTag('tag=value', …) reads the tagged series that match every
// expression (store.ParseTagQuery's syntax: =, !=, =~, !=~).
func (ec *evalContext) seriesByTag(e *Expr) ([]*Series, error) {
	var args []string
	for _, a := range e.Args {
		if a.Kind != KindString {
			return nil, errAt(a, "seriesByTag takes quoted tag expressions")
		}
		args = append(args, a.Str)
	}
	if len(args) == 0 || len(e.Kwargs) > 0 {
		return nil, errAt(e, "seriesByTag needs at least one tag expression and no keyword arguments")
	}
	exprs, err := store.ParseTagQuery(args)
	if err != nil {
		return nil, errAt(e, "%v", err)
	}
	if !needsValue(exprs) {
		return nil, errAt(e, "seriesByTag: at least one tag expression must not match the empty string (tag=value or tag=~regexp)")
	}
	names, err := ec.cat.all()
	if err != nil {
		return nil, errAt(e, "%v", err)
	}
	var out []*Series
	for _, name := range names {
		if !strings.Contains(name, ";") || !store.MatchTags(name, exprs) {
			continue
		}
		nodes, err := ec.cat.findTagged(name)
		if err != nil {
			return nil, errAt(e, "%v", err)
		}
		for _, n := range nodes {
			s, err := ec.readLeaf(n.leaf)
			if err != nil {
				return nil, errAt(e, "%v", err)
			}
			if s != nil {
				s.PathExpr = e.Raw
				out = append(out, s)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// evalTargets evaluates every target in order; empty targets are skipped.
func (ec *evalContext) evalTargets(targets []*Expr) ([]*Series, error) {
	var out []*Series
	for _, t := range targets {
		if t == nil {
			continue
		}
		l, err := ec.evalSeries(t)
		if err != nil {
			return nil, err
		}
		out = append(out, l...)
	}
	return out, nil
}

func isNone(v float64) bool { return math.IsNaN(v) }
