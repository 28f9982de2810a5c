package store

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// tuneOptions maps rrdtool tune's options (long and short) to their names.
var tuneOptions = map[string]string{
	"--heartbeat": "heartbeat", "-h": "heartbeat",
	"--minimum": "minimum", "-i": "minimum",
	"--maximum": "maximum", "-a": "maximum",
	"--data-source-type": "type", "-d": "type",
	"--data-source-rename": "rename", "-r": "rename",
	"--deltapos": "deltapos", "-p": "deltapos", "--deltaneg": "deltaneg", "-n": "deltaneg",
	"--failure-threshold": "threshold", "-f": "threshold", "--window-length": "window", "-w": "window",
	"--alpha": "alpha", "-x": "alpha", "--beta": "beta", "-y": "beta", "--gamma": "gamma", "-z": "gamma",
	"--gamma-deviation": "gammadev", "-v": "gammadev", "--smoothing-window": "smooth", "-s": "smooth",
	"--smoothing-window-deviation": "smoothdev", "-S": "smoothdev",
	"--aberrant-reset": "reset", "-b": "reset",
	"--step": "step", "-t": "step",
}

type tuneOpt struct{ name, arg string }

// Tune changes series name as `rrdtool tune NAME ARG…` changes a file
// (rrdtool 1.7.2): the options in the order given, each kept even when a
// later one fails (as rrdtool writes each at once), then the DS:, DEL:,
// DELRRA: and RRA#i: operations of rrd_modify, which rewrite every archive.
// Errors are rrdtool's texts where it has one.
func (db *DB) Tune(name string, args []string) error {
	p, err := parseTune(args)
	if err != nil {
		return err
	}
	return db.Edit(name, p.apply)
}

// tunePlan is tune's arguments, parsed.
type tunePlan struct {
	opts   []tuneOpt
	delDS  []string
	addDS  []DS
	delRRA []int
	resize map[int]rowChange
	addRRA []string // RRA:… to append (modifyfill.go)
	rraOps map[int]bool
	modify bool // any rrd_modify operation: the archives are rewritten
}

func parseTune(args []string) (*tunePlan, error) {
	p := &tunePlan{resize: map[int]rowChange{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			key, val, hasVal := strings.Cut(a, "=")
			if !strings.HasPrefix(a, "--") {
				key, val, hasVal = a[:2], a[2:], len(a) > 2
			}
			o, ok := tuneOptions[key]
			if !ok {
				return nil, fmt.Errorf("invalid option -- '%s'", strings.TrimLeft(key, "-"))
			}
			if !hasVal {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("option %s requires an argument", key)
				}
				i++
				val = args[i]
			}
			p.opts = append(p.opts, tuneOpt{o, val})
			continue
		}
		p.modify = true
		switch {
		case strings.HasPrefix(a, "DEL:"):
			p.delDS = append(p.delDS, a[4:])
		case strings.HasPrefix(a, "DS:"):
			d, err := ParseDS(a)
			if err != nil {
				return nil, err
			}
			p.addDS = append(p.addDS, d)
		case strings.HasPrefix(a, "DELRRA:"):
			n, err := strconv.Atoi(a[7:])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("DELRRA: %q is not an archive index", a[7:])
			}
			if !p.rraOpSeen(n) {
				p.delRRA = append(p.delRRA, n)
			}
		case strings.HasPrefix(a, "RRA#"):
			idx, spec, ok := strings.Cut(a[4:], ":")
			n, err1 := strconv.Atoi(idx)
			if !ok || err1 != nil || n < 0 || len(spec) < 2 || !strings.ContainsRune("=+-", rune(spec[0])) {
				return nil, errors.New("Failed to parse RRA# command")
			}
			v, err := strconv.ParseInt(spec[1:], 10, 64)
			if err != nil || v < 0 {
				return nil, errors.New("Failed to parse RRA# command")
			}
			if !p.rraOpSeen(n) {
				p.resize[n] = rowChange{spec[0], v}
			}
		case strings.HasPrefix(a, "RRA:") && len(a) > 4:
			p.addRRA = append(p.addRRA, a) // parsed with the step it gets (after --step)
		default:
			return nil, fmt.Errorf("unparseable argument: %s", a)
		}
	}
	return p, nil
}

// rraOpSeen reports whether archive n already has a DELRRA: or RRA#n:
// operation, and records that it has one now: rrd_modify applies the
// first one given for an archive and passes over the others.
func (p *tunePlan) rraOpSeen(n int) bool {
	if p.rraOps == nil {
		p.rraOps = map[int]bool{}
	}
	seen := p.rraOps[n]
	p.rraOps[n] = true
	return seen
}

// apply changes e as the plan says.
func (p *tunePlan) apply(e *SeriesEdit) error {
	newStep := int64(0) // --step: applied with the rrd_modify operations
	applied := 0
	for _, o := range p.opts {
		if o.name == "step" {
			// rrdtool reads it with atoi
			n, _ := leadingInt(strings.TrimLeft(o.arg, " \t"))
			if newStep = n; n <= 0 {
				newStep = -1
			}
			continue
		}
		if err := e.tuneOption(o); err != nil {
			if applied == 0 {
				return err
			}
			return &PartialError{Err: err}
		}
		applied++
	}
	partial := func(err error) error {
		if applied == 0 {
			return err
		}
		return &PartialError{Err: err}
	}
	if !p.modify {
		if newStep != 0 {
			// rrdtool 1.7.2 changes nothing then (and says nothing)
			return partial(errors.New("tune --step changes the step only together with a DS:, DEL:, RRA:, RRA#… or DELRRA: operation (alone rrdtool 1.7.2 ignores it); add one, e.g. RRA#0:+0"))
		}
		return nil
	}
	if newStep != 0 {
		if err := e.Stretch(newStep); err != nil {
			return partial(err)
		}
	}
	var add []RRA
	for _, a := range p.addRRA {
		r, err := ParseRRA(a, e.spec.Step)
		if err != nil {
			return partial(err)
		}
		add = append(add, r)
	}
	rows := map[int]int64{}
	for a, c := range p.resize {
		if a >= len(e.spec.RRA) {
			continue // rrdtool passes over an archive it lacks
		}
		rows[a] = c.rows(e.spec.RRA[a].Rows)
	}
	if err := e.Modify(p.delDS, p.addDS, p.delRRA, rows, add...); err != nil {
		return partial(err)
	}
	return nil
}

// rowChange is RRA#i's "=N", "+N" or "-N".
type rowChange struct {
	op byte
	n  int64
}

// rows is the archive's new row count from its current one.
func (c rowChange) rows(cur int64) int64 {
	n := min(c.n, 1<<40) // Validate refuses it; no overflow on the way
	switch c.op {
	case '+':
		return cur + n
	case '-':
		return cur - n
	}
	return n
}

// tuneOption applies one option as rrd_tune does.
func (e *SeriesEdit) tuneOption(o tuneOpt) error {
	ds, val, ok := strings.Cut(o.arg, ":")
	if err := e.tuneComputeGuard(o.name, ds, val); err != nil {
		return err
	}
	switch o.name {
	case "heartbeat":
		hb, okNum := leadingInt(val)
		if !ok || !okNum {
			return errors.New("invalid arguments for heartbeat")
		}
		return e.SetHeartbeat(ds, hb)
	case "minimum", "maximum":
		v, okNum := tuneFloat(val)
		if !ok || !okNum {
			return fmt.Errorf("invalid arguments for %s ds value", o.name)
		}
		if o.name == "minimum" {
			return e.SetMin(ds, v)
		}
		return e.SetMax(ds, v)
	case "type":
		if !ok || val == "" {
			return errors.New("invalid arguments for data source type")
		}
		if _, err := e.ds(ds); err != nil {
			return err
		}
		t, err := ParseDSType(val)
		if err != nil {
			switch val {
			}
			return fmt.Errorf("unknown data acquisition function '%s'", val)
		}
		return e.SetType(ds, t)
	case "rename":
		if !ok || val == "" {
			// rrdtool 1.7.2 says so, with the wrong option's words
			return errors.New("invalid arguments for data source type")
		}
		return e.Rename(ds, val)
	case "deltapos", "deltaneg", "threshold", "window", "alpha", "beta", "gamma", "gammadev", "smooth", "smoothdev":
		return e.tuneHW(o.name, o.arg)
	case "reset":
		return e.AberrantReset(o.arg)
	}
	return fmt.Errorf("unknown tune option %s", o.name)
}

// leadingInt reads an integer the way sscanf's %ld does: leading digits
// (with a sign), anything after them ignored.
func leadingInt(s string) (int64, bool) {
	end := 0
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || end == 0 && (s[end] == '-' || s[end] == '+')) {
		end++
	}
	v, err := strconv.ParseInt(s[:end], 10, 64)
	return v, err == nil
}

// tuneFloat reads a minimum or maximum: "U" is none; otherwise the
// leading number as sscanf's %lf reads it (1e400 is +inf).
func tuneFloat(s string) (float64, bool) {
	if s == "U" {
		return math.NaN(), true
	}
	for end := len(s); end > 0; end-- {
		v, err := strconv.ParseFloat(s[:end], 64)
		if err == nil {
			return v, true
		}
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return v, true
		}
	}
	return 0, false
}

// ResizeArchive is `rrdtool resize NAME RRA-NUM GROW|SHRINK ROWS` applied
// to the series in place.
func (db *DB) ResizeArchive(name string, rra int, grow bool, rows int64) error {
	return db.Edit(name, func(e *SeriesEdit) error { return e.Resize(rra, grow, rows) })
}
