package graph

import (
	"fmt"

	"math"
	"rrdash/rpn"
	"strconv"
	"strings"
)

// Data is an evaluated spec: every DEF and CDEF as a column on one time
// grid, every VDEF as a value, and what was fetched (for the resolution label).
type Data struct {
	// Row i covers (Start+i·Step, Start+(i+1)·Step] and is drawn at its end.
	Start, End, Step int64
	// From and To are the range asked for (rrdtool's graph_start/end).
	From, To int64
	Columns  map[string][]float64
	VDEFs    map[string]VValue
	Sources  []SourceInfo
	// Raw holds every DEF and CDEF as evaluated, on its own start and
	// step: what rrdtool's graph samples pixel by pixel.
	Raw map[string]*rpn.Series
}

// VValue is a VDEF result: a value and, for functions that have one, a time.
type VValue struct {
	Value float64
	Time  int64 // 0 when the function has no time
}

// SourceInfo says how one DEF was served: the archive CF and step used.
type SourceInfo struct {
	Def    string `json:"def"`
	Series string `json:"series"`
	DS     string `json:"ds"`
	CF     string `json:"cf"`
	Step   int64  `json:"step"`
}

// Rows is the number of rows on the grid.
func (d *Data) Rows() int {
	if d.Step <= 0 {
		return 0
	}
	return int((d.End - d.Start) / d.Step)
}

// Time returns the end time of row i.
func (d *Data) Time(i int) int64 { return d.Start + int64(i+1)*d.Step }

// ResolutionLabel says which resolution and CF are shown, e.g.
// "step 5m · AVERAGE" or "step 1m · AVERAGE, MAX".
func (d *Data) ResolutionLabel() string {
	var cfs []string
	seen := map[string]bool{}
	for _, s := range d.Sources {
		if !seen[s.CF] {
			seen[s.CF] = true
			cfs = append(cfs, s.CF)
		}
	}
	l := "step " + FormatDuration(d.Step)
	if len(cfs) > 0 {
		l += " · " + strings.Join(cfs, ", ")
	}
	return l
}

// FormatDuration prints seconds compactly: 60 → "1m", 86400 → "1d", 90 → "90s".
func FormatDuration(sec int64) string {
	for _, u := range []struct {
		n    int64
		name string
	}{{86400 * 7, "w"}, {86400, "d"}, {3600, "h"}, {60, "m"}} {
		if sec >= u.n && sec%u.n == 0 {
			return strconv.FormatInt(sec/u.n, 10) + u.name
		}
	}
	return strconv.FormatInt(sec, 10) + "s"
}

// drawn is one drawable item after stacking: the values to draw (base is
// the stack floor, NaN-free where the item is known) and its looks.
type drawn struct {
	item   Item
	name   string    // legend or vname
	values []float64 // as computed
	base   []float64 // stack floor (nil when not stacked)
	top    []float64 // base+values (== values when not stacked)
	stack  string    // echarts stack group, "" if none
}

// layout resolves stacking in rrdtool's manner: a STACK item sits on the
// previous drawn item's top; unknown values count as 0 in the floor.
func layout(s *Spec, d *Data) ([]drawn, error) {
	var out []drawn
	var prevTop []float64
	group := 0
	for _, it := range s.Items {
		if it.Type != ItemLine && it.Type != ItemArea {
			continue
		}
		col, ok := d.Columns[it.Vname]
		if !ok {
			return nil, fmt.Errorf("item %s:%s: no data for %q", it.Type, it.Vname, it.Vname)
		}
		if it.Color == "" {
			it.Color = palette[len(out)%len(palette)]
		}
		dr := drawn{item: it, name: it.LegendLabel(), values: col, top: col}
		if dr.name == "" {
			dr.name = it.Vname
		}
		if it.Stack && prevTop != nil {
			dr.base = prevTop
			top := make([]float64, len(col))
			for i, v := range col {
				b := prevTop[i]
				if math.IsNaN(b) {
					b = 0
				}
				top[i] = b + v
			}
			dr.top = top
			if out[len(out)-1].stack == "" {
				group++
				out[len(out)-1].stack = "s" + strconv.Itoa(group)
			}
			dr.stack = out[len(out)-1].stack
		}
		prevTop = dr.top
		out = append(out, dr)
	}
	return out, nil
}

// LegendEntry is one piece of the rrdtool legend under a graph: a color
// swatch with text, a GPRINT value or a COMMENT, on legend line Line.
type LegendEntry struct {
	Color string `json:"color,omitempty"` // swatch color, "" for plain text
	Text  string `json:"text"`
	Line  int    `json:"line"`
	// Markup is Text parsed, when the graph has --pango-markup and Text
	// is markup pango accepts (else the page shows Text as it is).
	Markup []MarkupRun `json:"markup,omitempty"`
}

// HasPrints reports whether the spec has GPRINT or PRINT items, whose
// values depend on how the rows were consolidated.
func HasPrints(s *Spec) bool {
	for _, it := range s.Items {
		if it.Type == ItemGPrint || it.Type == ItemPrint {
			return true
		}
	}
	return false
}

// Legend lays the spec out as rrdtool would (at its plot width) and
// returns its legend pieces, grouped in lines as rrdtool places them.
func Legend(s *Spec, d *Data) ([]LegendEntry, error) {
	c := *s
	c.Width, c.Height = s.Size()
	im, err := Layout(&c, d, LayoutOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]LegendEntry, 0, len(im.Legend))
	for _, l := range im.Legend {
		e := LegendEntry{Color: l.Color, Text: l.Text, Line: l.Line}
		if e.Color != "" {
			e.Text = strings.TrimPrefix(e.Text, "  ") // the page draws its own swatch
		}
		if s.Look.PangoMarkup && strings.ContainsAny(e.Text, "<&") {
			if runs, err := ParseMarkup(e.Text); err == nil {
				e.Markup = runs
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// rulePos returns the position of an HRULE/VRULE: its VDEF value (or time
// for a VRULE) or its constant.
func rulePos(it Item, d *Data) (float64, bool) {
	if it.Vname == "" {
		return it.Value, true
	}
	v, ok := d.VDEFs[it.Vname]
	if !ok {
		return 0, false
	}
	if it.Type == ItemVRule {
		if v.Time == 0 {
			return 0, false
		}
		return float64(v.Time), true
	}
	if math.IsNaN(v.Value) || math.IsInf(v.Value, 0) {
		return 0, false
	}
	return v.Value, true
}

// palette colors items that name none, the same in echarts and PNG.
var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"}
