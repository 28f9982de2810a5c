package store

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"

	"rrdash/store/rrdfile"
)

// CreateFromSources is `rrdtool create --source OLD… NAME …`: series name
// is created with definition spec and its rows, PDP and open-row state
// filled from the series sources (in order; a source that is no series
// may be the path of an rrdtool file) as rrdtool 1.7.2's
// rrd_prefill_data fills them (prefill.go). startGiven says whether
// --start was given; without it the new series starts at the latest last
// update of the sources. maps are the DS:new=old[index] mappings.
func (db *DB) CreateFromSources(name string, spec Spec, startGiven bool, sources []string, maps []DSMapping, overwrite bool) error {
	var dumps []*DumpData
	for _, s := range sources {
		d, err := db.Dump(s)
		if errors.Is(err, ErrNotFound) {
			d, err = dumpOfRRDFile(s) // its errors name the source
		} else if err != nil {
			err = fmt.Errorf("source %s: %w", s, err)
		}
		if err != nil {
			return err
		}
		dumps = append(dumps, d)
	}
	lastUp := spec.Start
	if !startGiven && len(dumps) > 0 {
		lastUp = 0
		for _, d := range dumps {
			lastUp = max(lastUp, d.LastUpdate)
		}
	}
	spec.Start = lastUp
	if err := spec.Validate(); err != nil {
		return err
	}
	spec = cloneSpec(spec)
	spec.AssignSmoothIdx(name + ".rrd") // as every create: rrdtool hashes the file name
	out, err := Prefill(spec, lastUp, dumps, maps)
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.createFromDumpLocked(name, out, map[string]string{}, overwrite)
}

// dumpOfRRDFile is source s read from an rrdtool file of that path, for
// a source that is no series: rrdtool's `create --source old.rrd` works
// on such a file without importing it first.
func dumpOfRRDFile(s string) (*DumpData, error) {
	b, err := os.ReadFile(s)
	if err != nil || !rrdfile.IsRRD(b) {
		return nil, fmt.Errorf("Cannot open source RRD %s", s)
	}
	f, err := rrdfile.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", s, err)
	}
	spec, st, rings, err := fromRRDFile(f)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", s, err)
	}
	return dumpState(&spec, st, func(a int) []float64 { return rings[a] }), nil
}

// createFromDumpLocked creates series name with the definition, state and
// rows of d (rows in ring order, d.RRA[i].CurRow the newest).
func (db *DB) createFromDumpLocked(name string, d *DumpData, meta map[string]string, overwrite bool) error {
	nds := len(d.Spec.DS)
	st := &state{lastUp: d.LastUpdate}
	for _, s := range d.DS {
		st.ds = append(st.ds, dsState{lastDS: s.LastDS, val: s.Value, unknSec: s.UnknownSec})
	}
	var rings [][]float64
	for _, a := range d.RRA {
		st.curRow = append(st.curRow, a.CurRow)
		for _, c := range a.CDP {
			st.cdp = append(st.cdp, cdpState{val: c.Value, primary: c.Primary, secondary: c.Secondary, unknPDP: c.UnknownPDP})
		}
		ring := make([]float64, 0, len(a.Rows)*nds)
		for _, r := range a.Rows {
			ring = append(ring, r...)
		}
		rings = append(rings, ring)
	}
	// Holt-Winters archives: their cdp_prep words as the dump has them
	// (rrd_prefill_data copies or initialises whole cdp_prep entries),
	// and the state's copy of every SEASONAL/DEVSEASONAL ring
	if st.hw = newHWState(&d.Spec); st.hw != nil {
		for a, r := range d.Spec.RRA {
			if !r.CF.IsHW() {
				continue
			}
			for k, c := range d.RRA[a].CDP {
				st.hw.words[a*nds+k] = c.HW
			}
			if st.hw.seas[a] != nil {
				copy(st.hw.seas[a], rings[a])
			}
		}
	}
	return db.createLocked(name, d.Spec, meta, overwrite, st, rings)
}

// dsMapRE is rrdtool's DS_RE head: name, then "=old" and "[index]".
var dsMapRE = regexp.MustCompile(`^DS:([a-zA-Z0-9_]{1,19})=([a-zA-Z0-9_]{1,19})(?:\[([0-9]+)\])?:`)

// SplitDSMapping takes the mapping out of a create argument
// "DS:new=old[index]:…": it returns "DS:new:…" and the mapping, or the
// argument unchanged and ok false when it has none.
func SplitDSMapping(arg string) (plain string, m DSMapping, ok bool, err error) {
	g := dsMapRE.FindStringSubmatch(arg)
	if g == nil {
		return arg, DSMapping{}, false, nil
	}
	m = DSMapping{Name: g[1], Old: g[2], Index: -1}
	if g[3] != "" {
		if m.Index, err = strconv.Atoi(g[3]); err != nil {
			return "", DSMapping{}, false, fmt.Errorf("%s: source index %q", arg, g[3])
		}
	}
	return "DS:" + g[1] + ":" + arg[len(g[0]):], m, true, nil
}
