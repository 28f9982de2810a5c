package store

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// dumpXMLDS is one <ds> of a dump; a COMPUTE DS has <cdef> instead of
// heartbeat, min and max.
type dumpXMLDS struct {
	Name       string `xml:"name"`
	Type       string `xml:"type"`
	Heartbeat  int64  `xml:"minimal_heartbeat"`
	Min        string `xml:"min"`
	Max        string `xml:"max"`
	CDEF       string `xml:"cdef"`
	LastDS     string `xml:"last_ds"`
	Value      string `xml:"value"`
	UnknownSec int64  `xml:"unknown_sec"`
}

// appendXMLDS adds a non-COMPUTE <ds> to spec.
func appendXMLDS(spec *Spec, x dumpXMLDS, t DSType) error {
	mn, err := dumpFloat(x.Min, "min")
	if err != nil {
		return err
	}
	mx, err := dumpFloat(x.Max, "max")
	if err != nil {
		return err
	}
	spec.DS = append(spec.DS, DS{Name: strings.TrimSpace(x.Name), Type: t, Heartbeat: x.Heartbeat, Min: mn, Max: mx})
	return nil
}

// dumpXML is the shape of `rrdtool dump` output.
type dumpXML struct {
	Version    string      `xml:"version"`
	Step       int64       `xml:"step"`
	LastUpdate int64       `xml:"lastupdate"`
	DS         []dumpXMLDS `xml:"ds"`
	RRA        []struct {
		CF      string     `xml:"cf"`
		Steps   int64      `xml:"pdp_per_row"`
		Params  dumpParams `xml:"params"`
		CDPPrep []struct {
			Primary   string `xml:"primary_value"`
			Secondary string `xml:"secondary_value"`
			Value     string `xml:"value"`
			Unknown   int64  `xml:"unknown_datapoints"`
			dumpHWCDP
		} `xml:"cdp_prep>ds"`
		Rows []struct {
			V []string `xml:"v"`
		} `xml:"database>row"`
	} `xml:"rra"`
}

func dumpFloat(s, what string) (float64, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "nan", "-nan", "u", "":
		return math.NaN(), nil
	case "inf", "+inf":
		return math.Inf(1), nil
	case "-inf":
		return math.Inf(-1), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a number", what, s)
	}
	return v, nil
}

// Import creates (or overwrites) series name from an `rrdtool dump` XML
// document: definition, live state and every row. progress, if not nil, is
// called with archives done and total.
func (db *DB) Import(r io.Reader, name string, overwrite bool, progress func(done, total int)) error {
	return db.ImportXML(r, name, ImportOptions{Overwrite: overwrite, Progress: progress})
}

// ImportOptions are Import's choices; RangeCheck is rrdtool restore's
// --range-check: a row value below its data source's minimum or above its
// maximum is stored unknown (every archive, as rrd_restore's
// value_check_range; a COMPUTE data source has no limits).
type ImportOptions struct {
	Overwrite  bool
	RangeCheck bool
	Progress   func(done, total int)
}

// ImportXML is Import with its options.
func (db *DB) ImportXML(r io.Reader, name string, o ImportOptions) error {
	overwrite, progress := o.Overwrite, o.Progress
	var d dumpXML
	dec := xml.NewDecoder(r)
	if err := dec.Decode(&d); err != nil {
		line, _ := dec.InputPos()
		return fmt.Errorf("import %s: XML line %d: %w", name, line, err)
	}
	spec := Spec{Step: d.Step, Start: d.LastUpdate}
	st := &state{lastUp: d.LastUpdate}
	for i, x := range d.DS {
		t, err := ParseDSType(strings.TrimSpace(x.Type))
		if err != nil {
			return fmt.Errorf("import %s: ds %d: %w", name, i, err)
		}
		if t == Compute {
			// dump prints <cdef> instead of heartbeat, min and max
			spec.DS = append(spec.DS, DS{Name: strings.TrimSpace(x.Name), Type: t, Min: math.NaN(), Max: math.NaN(), Expr: strings.TrimSpace(x.CDEF)})
		} else if err := appendXMLDS(&spec, x, t); err != nil {
			return fmt.Errorf("import %s: ds %s: %w", name, x.Name, err)
		}
		v, err := dumpFloat(x.Value, "value")
		if err != nil {
			return fmt.Errorf("import %s: ds %s: %w", name, x.Name, err)
		}
		last := strings.TrimSpace(x.LastDS)
		if len(last) > lastDSLen {
			last = last[:lastDSLen]
		}
		st.ds = append(st.ds, dsState{lastDS: last, val: v, unknSec: x.UnknownSec})
	}
	nds := len(spec.DS)
	var rows [][]float64
	var hwWords []HWWords
	version, _ := strconv.Atoi(strings.TrimSpace(d.Version))
	for i, x := range d.RRA {
		cf, err := ParseCF(strings.TrimSpace(x.CF))
		if err != nil {
			return fmt.Errorf("import %s: rra %d: %w", name, i, err)
		}
		var xff float64
		var hw HWParams
		if cf.IsHW() {
			hw, err = hwParamsFromDump(cf, x.Params, version)
		} else {
			xff, err = dumpFloat(x.Params.XFF, "xff")
		}
		if err != nil {
			return fmt.Errorf("import %s: rra %d: %w", name, i, err)
		}
		spec.RRA = append(spec.RRA, RRA{CF: cf, XFF: xff, Steps: x.Steps, Rows: int64(len(x.Rows)), HW: hw})
		if len(x.CDPPrep) != nds {
			return fmt.Errorf("import %s: rra %d: %d cdp_prep entries for %d data sources", name, i, len(x.CDPPrep), nds)
		}
		for k, c := range x.CDPPrep {
			var cs cdpState
			var err error
			if cs.primary, err = dumpFloat(c.Primary, "primary_value"); err == nil {
				if cs.secondary, err = dumpFloat(c.Secondary, "secondary_value"); err == nil {
					cs.val, err = dumpFloat(c.Value, "value")
				}
			}
			if err != nil {
				return fmt.Errorf("import %s: rra %d ds %d: %w", name, i, k, err)
			}
			cs.unknPDP = c.Unknown
			st.cdp = append(st.cdp, cs)
			if cf.IsHW() {
				w, err := hwWordsFromDump(cf, c.dumpHWCDP)
				if err != nil {
					return fmt.Errorf("import %s: rra %d ds %d: %w", name, i, k, err)
				}
				hwWords = append(hwWords, w)
			} else {
				hwWords = append(hwWords, HWWords{})
			}
		}
		// the dump lists rows oldest first: put the newest in the last slot
		ring := make([]float64, 0, len(x.Rows)*nds)
		for k, row := range x.Rows {
			if len(row.V) != nds {
				return fmt.Errorf("import %s: rra %d row %d: %d values for %d data sources", name, i, k, len(row.V), nds)
			}
			for j, s := range row.V {
				v, err := dumpFloat(s, "row value")
				if err != nil {
					return fmt.Errorf("import %s: rra %d row %d: %w", name, i, k, err)
				}
				if o.RangeCheck && outOfRange(v, spec.DS[j]) {
					v = math.NaN()
				}
				ring = append(ring, v)
			}
		}
		rows = append(rows, ring)
		st.curRow = append(st.curRow, int64(len(x.Rows))-1)
		if progress != nil {
			progress(i+1, len(d.RRA))
		}
	}
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	if st.hw = newHWState(&spec); st.hw != nil {
		copy(st.hw.words, hwWords)
		for a := range spec.RRA {
			if st.hw.seas[a] != nil {
				copy(st.hw.seas[a], rows[a])
			}
		}
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.createLocked(name, spec, map[string]string{"imported": "rrdtool dump"}, overwrite, st, rows)
}

// outOfRange: v is below the data source's minimum or above its maximum
// (limits that are NaN do not apply).
func outOfRange(v float64, ds DS) bool {
	if ds.Type == Compute {
		return false
	}
	return !math.IsNaN(ds.Min) && v < ds.Min || !math.IsNaN(ds.Max) && v > ds.Max
}
