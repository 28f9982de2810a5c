package store

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"time"

	"rrdash/store/computeds"
	"rrdash/store/rrdfile"
)

// COMPUTE data sources (rrdcreate(1)): the PDP of a COMPUTE DS is an RPN
// expression over the PDPs of the data sources before it, evaluated when
// a step closes (rrd_update.c process_pdp_st), so it consolidates into
// the archives like any other DS. It takes no readings: an update gives
// values for the other data sources only.

// parseComputeDS parses "DS:name:COMPUTE:expr"; ok is false for another
// type. The expression's names are checked by Spec.Validate, which knows
// the data sources before it.
func parseComputeDS(arg string) (DS, bool, error) {
	f := strings.SplitN(arg, ":", 4)
	if len(f) != 4 || f[0] != "DS" || f[2] != "COMPUTE" {
		return DS{}, false, nil
	}
	ds := DS{Name: f[1], Type: Compute, Min: math.NaN(), Max: math.NaN(), Expr: f[3]}
	if !ValidDSName(ds.Name) {
		return DS{}, true, fmt.Errorf("%s: invalid DS name %q: 1 to %d characters of [a-zA-Z0-9_]", arg, ds.Name, MaxDSName)
	}
	if ds.Expr == "" {
		return DS{}, true, fmt.Errorf("%s: can not parse an empty rpn expression", arg)
	}
	return ds, true, nil
}

// compileCompute parses the expression of COMPUTE data source i, whose
// names may be those of the data sources before it only (rrdtool's
// lookup_DS sees just the DS defined so far).
func (s *Spec) compileCompute(i int) (*computeds.Program, error) {
	return computeds.Parse(s.DS[i].Expr, func(name string) (int, bool) {
		for j := 0; j < i; j++ {
			if s.DS[j].Name == name {
				return j, true
			}
		}
		return 0, false
	})
}

// validateComputes checks every COMPUTE expression and rewrites it in the
// form rrdtool prints (rpn_compact2str: "a,2.0,+" is "a,2,+"). A trial
// run on unknown PDPs refuses an expression whose stack does not end with
// one value: rrdtool 1.7.2 creates such a DS and then fails every update
// that closes a step.
func (s *Spec) validateComputes() error {
	for i := range s.DS {
		if s.DS[i].Type != Compute {
			continue
		}
		p, err := s.compileCompute(i)
		if err != nil {
			return fmt.Errorf("DS %s: %w", s.DS[i].Name, err)
		}
		row := make([]float64, len(s.DS))
		for k := range row {
			row[k] = 1
		}
		if _, err := p.Eval(row, time.Now); err != nil {
			return fmt.Errorf("DS %s: COMPUTE %s: %w", s.DS[i].Name, s.DS[i].Expr, err)
		}
		s.DS[i].Expr = p.Text(func(j int) string { return s.DS[j].Name })
		s.DS[i].Heartbeat, s.DS[i].Min, s.DS[i].Max = 0, math.NaN(), math.NaN()
	}
	return nil
}

// computePrograms compiles the COMPUTE expressions of a valid spec; the
// slice is nil when the spec has none.
func computePrograms(spec *Spec) ([]*computeds.Program, error) {
	var progs []*computeds.Program
	for i, d := range spec.DS {
		if d.Type != Compute {
			continue
		}
		if progs == nil {
			progs = make([]*computeds.Program, len(spec.DS))
		}
		p, err := spec.compileCompute(i)
		if err != nil {
			return nil, fmt.Errorf("DS %s: %w", d.Name, err)
		}
		progs[i] = p
	}
	return progs, nil
}

// CDEF is a COMPUTE data source's expression as rrdtool prints it (info's
// ds[x].cdef, dump's <cdef>): Expr without the comma that keeps a
// constant at its end readable.
func (ds DS) CDEF() string { return strings.TrimSuffix(ds.Expr, ",") }

// InputIndexes returns the data sources an update gives values for, in
// order: every one but the COMPUTE ones; nil when there is no COMPUTE
// data source (all of them, in DS order).
func (s *Spec) InputIndexes() []int {
	var idx []int
	hasCompute := false
	for i, d := range s.DS {
		if d.Type == Compute {
			hasCompute = true
			continue
		}
		idx = append(idx, i)
	}
	if !hasCompute {
		return nil
	}
	return idx
}

// renameInComputes rewrites the COMPUTE expressions after data source
// `at` was renamed from old: rrdtool keeps indexes, so its expressions
// follow the new name.
func (s *Spec) renameInComputes(at int, old string) error {
	for i := range s.DS {
		if s.DS[i].Type != Compute || i <= at {
			continue
		}
		names := func(j int) string { return s.DS[j].Name }
		p, err := computeds.Parse(s.DS[i].Expr, func(name string) (int, bool) {
			for j := 0; j < i; j++ {
				n := s.DS[j].Name
				if j == at {
					n = old
				}
				if n == name {
					return j, true
				}
			}
			return 0, false
		})
		if err != nil {
			return fmt.Errorf("DS %s: %w", s.DS[i].Name, err)
		}
		s.DS[i].Expr = p.Text(names)
	}
	return nil
}

// computeRefs returns, per data source, the COMPUTE data sources that
// read it (for refusing to delete one).
func (s *Spec) computeUsers(ds int) []string {
	var users []string
	for i := range s.DS {
		if s.DS[i].Type != Compute {
			continue
		}
		p, err := s.compileCompute(i)
		if err != nil {
			continue
		}
		for _, r := range p.Refs() {
			if r == ds {
				users = append(users, s.DS[i].Name)
			}
		}
	}
	return users
}

// tuneComputeGuard refuses the tune options that rrdtool 1.7.2 applies to
// a COMPUTE data source by writing over its stored expression (heartbeat,
// minimum and maximum share the bytes of the expression; a change of
// type to or from COMPUTE reads one as the other): rrdash keeps the
// expression intact and says so.
func (e *SeriesEdit) tuneComputeGuard(opt, ds, val string) error {
	switch opt {
	case "heartbeat", "minimum", "maximum", "type":
	default:
		return nil
	}
	i, err := e.ds(ds)
	if err != nil {
		return nil // the option reports the unknown name itself
	}
	if e.spec.DS[i].Type == Compute {
		return fmt.Errorf("DS %s is COMPUTE: rrdtool would overwrite its expression with the %s; delete it (DEL:%s) and add a new DS instead", ds, opt, ds)
	}
	if opt == "type" && val == "COMPUTE" {
		return fmt.Errorf("DS %s: a data source cannot become COMPUTE by tune (it needs an expression); add one with DS:name:COMPUTE:expr", ds)
	}
	return nil
}

// computeFromFile is the definition of COMPUTE data source name of an
// rrdtool file: its expression decoded from the DS's parameter words.
func computeFromFile(name string, par rrdfile.Words, all []rrdfile.DS) (DS, error) {
	raw := make([]byte, 0, 8*len(par))
	for _, w := range par {
		raw = binary.LittleEndian.AppendUint64(raw, w)
	}
	names := make([]string, len(all))
	for i, d := range all {
		names[i] = d.Name
	}
	expr, err := computeds.FromCompact(raw, names)
	if err != nil {
		return DS{}, err
	}
	return DS{Name: name, Type: Compute, Min: math.NaN(), Max: math.NaN(), Expr: expr}, nil
}
