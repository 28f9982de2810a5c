// Package graph holds graph specs (what rrdtool graph takes: DEF/CDEF/VDEF
// lines and drawing items), evaluates them through rpn and renders the
// result as echarts options or a PNG.
package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Def kinds.
const (
	KindDEF  = "DEF"
	KindCDEF = "CDEF"
	KindVDEF = "VDEF"
	// KindSHIFT is SHIFT:vname:offset, kept in order among the DEFs (it
	// moves what follows): Name is the DEF or CDEF shifted, Expr the
	// offset, seconds or a VDEF's name.
	KindSHIFT = "SHIFT"
)

// Item types.
const (
	ItemLine    = "LINE"
	ItemArea    = "AREA"
	ItemHRule   = "HRULE"
	ItemVRule   = "VRULE"
	ItemGPrint  = "GPRINT"
	ItemComment = "COMMENT"
	ItemPrint   = "PRINT"
	ItemTick    = "TICK"
	ItemAlign   = "TEXTALIGN"
)

// Spec is one graph: what to compute (Defs) and what to draw (Items).
// It is stored as JSON, so field names are part of the saved format.
type Spec struct {
	Title  string `json:"title,omitempty"`
	VLabel string `json:"vlabel,omitempty"`
	// Start and End are rrdtool-style time specs: "-1d", "now", "end-6h",
	// Unix seconds or RFC 3339. Empty means rrdtool's defaults (end-1d, now).
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
	// Width and Height are the plot size in pixels (rrdtool's -w/-h); the
	// width bounds how many rows are fetched.
	Width  int      `json:"width,omitempty"`
	Height int      `json:"height,omitempty"`
	Lower  *float64 `json:"lower,omitempty"`
	Upper  *float64 `json:"upper,omitempty"`
	// Step is rrdtool's --step: the minimal resolution asked for.
	Step  int64  `json:"step,omitempty"`
	Defs  []Def  `json:"defs"`
	Items []Item `json:"items"`
	// Look holds rrdtool graph's presentation options (options.go).
	Look
}

// Def is a DEF, CDEF or VDEF line.
type Def struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// DEF only.
	Series string `json:"series,omitempty"`
	DS     string `json:"ds,omitempty"`
	CF     string `json:"cf,omitempty"`
	Step   int64  `json:"step,omitempty"`
	Reduce string `json:"reduce,omitempty"`
	// Start and End are DEF's own start= and end= (time specs).
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
	// CDEF and VDEF: the RPN expression.
	Expr string `json:"expr,omitempty"`
}

// Item is one drawing or legend element.
type Item struct {
	Type string `json:"type"`
	// LINE width in pixels (LINE1, LINE2, LINE0.5).
	Width float64 `json:"width,omitempty"`
	// Vname is the DEF/CDEF (or, for rules and GPRINT, VDEF) the item shows.
	Vname string `json:"vname,omitempty"`
	// Value is a constant position for HRULE (value) or VRULE (Unix time)
	// when Vname is empty.
	Value  float64 `json:"value,omitempty"`
	Color  string  `json:"color,omitempty"`
	Legend string  `json:"legend,omitempty"`
	Stack  bool    `json:"stack,omitempty"`
	Dashes bool    `json:"dashes,omitempty"`
	// Format is GPRINT's and PRINT's printf-like format ("%6.2lf %s"), as
	// given: a trailing legend control code (\l, \g…) stays in it.
	Format string `json:"format,omitempty"`
	// DashPattern is LINE's dashes=on,off,… ("" with Dashes: 5,5);
	// DashOffset its dash-offset=.
	DashPattern []float64 `json:"dash_pattern,omitempty"`
	DashOffset  float64   `json:"dash_offset,omitempty"`
	// Skipscale leaves the item out of the autoscaled range.
	Skipscale bool `json:"skipscale,omitempty"`
	// Fraction is TICK's height as a fraction of the plot (default 0.1).
	Fraction float64 `json:"fraction,omitempty"`
	// Strftime formats a (G)PRINT's VDEF time with Format; VFormatter
	// "timestamp" or "duration" formats the value itself (rrdtool's
	// valstrftime and valstrfduration).
	Strftime   bool   `json:"strftime,omitempty"`
	VFormatter string `json:"vformatter,omitempty"`
	// Align is TEXTALIGN's left, right, justified or center.
	Align string `json:"align,omitempty"`
	// Color2 is an AREA gradient's second color (AREA:v#c1#c2), with
	// GradHeight its gradheight= (nil: rrdtool's 50 pixels).
	Color2     string   `json:"color2,omitempty"`
	GradHeight *float64 `json:"gradheight,omitempty"`
}

var cfNames = map[string]bool{"AVERAGE": true, "MIN": true, "MAX": true, "LAST": true}

// validColor accepts #rrggbb and #rrggbbaa. A hand-written check: a regexp
// compiled at package init costs every rrdash process, the CLI included.
func validColor(c string) bool {
	if len(c) != 7 && len(c) != 9 || c[0] != '#' {
		return false
	}
	for i := 1; i < len(c); i++ {
		switch ch := c[i]; {
		case '0' <= ch && ch <= '9', 'a' <= ch && ch <= 'f', 'A' <= ch && ch <= 'F':
		default:
			return false
		}
	}
	return true
}

// Limits that keep a spec (which may come from a URL) cheap to evaluate.
const (
	maxDefs     = 100
	maxItems    = 200
	maxText     = 1000
	maxWidth    = 4000
	maxHeight   = 2000
	DefaultW    = 800
	DefaultH    = 300
	maxSpecJSON = 64 << 10
)

// Validate checks names, references, colors and sizes. It does not check
// RPN expressions (rpn does, when the spec is evaluated) nor that series exist.
// maxStep bounds --step and a DEF's step= (about 136 years): the
// arithmetic of time grids overflows long before int64's limit.
const maxStep = 1 << 32

func (s *Spec) Validate() error {
	if err := s.checkUTF8(); err != nil {
		return err
	}
	if len(s.Defs) > maxDefs {
		return fmt.Errorf("too many DEF/CDEF/VDEF lines: %d (max %d)", len(s.Defs), maxDefs)
	}
	if len(s.Items) > maxItems {
		return fmt.Errorf("too many items: %d (max %d)", len(s.Items), maxItems)
	}
	if len(s.Title) > maxText || len(s.VLabel) > maxText {
		return fmt.Errorf("title or vertical label longer than %d bytes", maxText)
	}
	if s.Width < 0 || s.Width > maxWidth || s.Height < 0 || s.Height > maxHeight {
		return fmt.Errorf("size %dx%d out of range (max %dx%d)", s.Width, s.Height, maxWidth, maxHeight)
	}
	if s.Step < 0 || s.Step > maxStep {
		return fmt.Errorf("step %d out of range (0 to %d seconds)", s.Step, int64(maxStep))
	}
	if err := CheckTime(s.Start); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	if err := CheckTime(s.End); err != nil {
		return fmt.Errorf("end: %w", err)
	}
	if err := s.Look.validate(); err != nil {
		return err
	}
	if s.Logarithmic && s.Lower != nil && *s.Lower <= 0 {
		return errors.New("for a logarithmic y axis the lower limit must be > 0")
	}
	kinds := make(map[string]string, len(s.Defs))
	for i, d := range s.Defs {
		where := fmt.Sprintf("line %d (%s:%s)", i+1, d.Kind, d.Name)
		if !validVname(d.Name) {
			return fmt.Errorf("%s: invalid name %q: 1 to 255 characters of [A-Za-z0-9_-]", where, d.Name)
		}
		if d.Kind == KindSHIFT {
			if k := kinds[d.Name]; k != KindDEF && k != KindCDEF {
				return fmt.Errorf("%s: SHIFT needs an earlier DEF or CDEF, not %q", where, d.Name)
			}
			if k, ok := kinds[d.Expr]; ok && k != KindVDEF {
				return fmt.Errorf("%s: the offset %q is a %s, want seconds or a VDEF", where, d.Expr, k)
			} else if !ok {
				if _, err := strconv.ParseInt(d.Expr, 10, 64); err != nil {
					return fmt.Errorf("%s: the offset %q is neither seconds nor an earlier VDEF", where, d.Expr)
				}
			}
			continue
		}
		if _, dup := kinds[d.Name]; dup {
			return fmt.Errorf("%s: name %q defined twice", where, d.Name)
		}
		switch d.Kind {
		case KindDEF:
			if d.Series == "" || d.DS == "" {
				return fmt.Errorf("%s: DEF needs a series and a data source", where)
			}
			if !cfNames[d.CF] {
				return fmt.Errorf("%s: unknown consolidation function %q", where, d.CF)
			}
			if d.Reduce != "" && !cfNames[d.Reduce] {
				return fmt.Errorf("%s: unknown reduce function %q", where, d.Reduce)
			}
			if d.Step < 0 || d.Step > maxStep {
				return fmt.Errorf("%s: step %d out of range (0 to %d seconds)", where, d.Step, int64(maxStep))
			}
			if d.Expr != "" {
				return fmt.Errorf("%s: a DEF has no expression", where)
			}
			if err := CheckTime(d.Start); err != nil {
				return fmt.Errorf("%s: start: %w", where, err)
			}
			if err := CheckTime(d.End); err != nil {
				return fmt.Errorf("%s: end: %w", where, err)
			}
		case KindCDEF, KindVDEF:
			if strings.TrimSpace(d.Expr) == "" {
				return fmt.Errorf("%s: empty expression", where)
			}
			if len(d.Expr) > maxText*4 {
				return fmt.Errorf("%s: expression too long", where)
			}
		default:
			return fmt.Errorf("line %d: unknown kind %q (want DEF, CDEF, VDEF or SHIFT)", i+1, d.Kind)
		}
		kinds[d.Name] = d.Kind
	}
	for i, it := range s.Items {
		where := fmt.Sprintf("item %d (%s)", i+1, it.Type)
		if it.Color != "" && !validColor(it.Color) {
			return fmt.Errorf("%s: invalid color %q (want #rrggbb or #rrggbbaa)", where, it.Color)
		}
		if len(it.Legend) > maxText || len(it.Format) > maxText {
			return fmt.Errorf("%s: text longer than %d bytes", where, maxText)
		}
		if it.Color2 != "" || it.GradHeight != nil {
			if it.Type != ItemArea {
				return fmt.Errorf("%s: gradients (a second color, gradheight=) are for areas only", where)
			}
			if it.Color2 != "" && !validColor(it.Color2) {
				return fmt.Errorf("%s: invalid second color %q (want #rrggbb or #rrggbbaa)", where, it.Color2)
			}
			if it.GradHeight != nil && (math.IsNaN(*it.GradHeight) || math.IsInf(*it.GradHeight, 0)) {
				return fmt.Errorf("%s: gradheight must be finite", where)
			}
		}
		ref := func(allowed ...string) error {
			k, ok := kinds[it.Vname]
			if !ok {
				return fmt.Errorf("%s: unknown name %q", where, it.Vname)
			}
			for _, a := range allowed {
				if k == a {
					return nil
				}
			}
			return fmt.Errorf("%s: %q is a %s, want %s", where, it.Vname, k, strings.Join(allowed, " or "))
		}
		switch it.Type {
		case ItemLine, ItemArea:
			if err := ref(KindDEF, KindCDEF); err != nil {
				return err
			}
			if it.Width < 0 || it.Width > 100 || math.IsNaN(it.Width) {
				return fmt.Errorf("%s: width %v out of range", where, it.Width)
			}
		case ItemHRule, ItemVRule:
			if it.Vname != "" {
				if err := ref(KindVDEF); err != nil {
					return err
				}
			} else if math.IsNaN(it.Value) || math.IsInf(it.Value, 0) {
				return fmt.Errorf("%s: value must be finite", where)
			}
		case ItemGPrint:
			if err := ref(KindVDEF); err != nil {
				return err
			}
			if err := checkPrintFormat(it); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
		case ItemPrint:
			if err := ref(KindVDEF); err != nil {
				return err
			}
			if err := checkPrintFormat(it); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
		case ItemTick:
			if err := ref(KindDEF, KindCDEF, KindVDEF); err != nil {
				return err
			}
		case ItemAlign:
			switch it.Align {
			case "left", "right", "justified", "center":
			default:
				return fmt.Errorf("%s: alignment %q: want left, right, justified or center", where, it.Align)
			}
		case ItemComment:
		default:
			return fmt.Errorf("%s: unknown item type %q", where, it.Type)
		}
	}
	return nil
}

// ParseJSON decodes and validates a spec. Unknown fields are errors so a
// typo in a saved spec is noticed.
func ParseJSON(b []byte) (*Spec, error) {
	if len(b) > maxSpecJSON {
		return nil, fmt.Errorf("graph spec: %d bytes, max %d", len(b), maxSpecJSON)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("graph spec: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("graph spec: trailing data after the JSON object")
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("graph spec: %w", err)
	}
	return &s, nil
}

// Clone returns a deep copy.
func (s *Spec) Clone() *Spec {
	c := *s
	c.Defs = append([]Def(nil), s.Defs...)
	c.Items = append([]Item(nil), s.Items...)
	if s.Lower != nil {
		v := *s.Lower
		c.Lower = &v
	}
	if s.Upper != nil {
		v := *s.Upper
		c.Upper = &v
	}
	c.Look = s.Look.clone()
	for i := range c.Items {
		c.Items[i].DashPattern = append([]float64(nil), s.Items[i].DashPattern...)
	}
	return &c
}

// Size returns the plot size with defaults applied.
func (s *Spec) Size() (w, h int) {
	w, h = s.Width, s.Height
	if w <= 0 {
		w = DefaultW
	}
	if h <= 0 {
		h = DefaultH
	}
	return w, h
}

// checkUTF8 refuses invalid UTF-8, which JSON would silently replace.
func (s *Spec) checkUTF8() error {
	// what and n ("line", 3) are formatted only for an invalid string:
	// a Sprintf each field of a valid spec was ~100k instructions a graph.
	check := func(what string, n int, v string) error {
		if utf8.ValidString(v) {
			return nil
		}
		if n > 0 {
			what = fmt.Sprintf("%s %d", what, n)
		}
		return fmt.Errorf("%s %.40q is not valid UTF-8", what, v)
	}
	errs := []error{check("title", 0, s.Title), check("vertical label", 0, s.VLabel), check("start", 0, s.Start), check("end", 0, s.End)}
	for i, d := range s.Defs {
		for _, v := range []string{d.Name, d.Series, d.DS, d.CF, d.Reduce, d.Expr} {
			errs = append(errs, check("line", i+1, v))
		}
	}
	for i, it := range s.Items {
		for _, v := range []string{it.Type, it.Vname, it.Color, it.Legend, it.Format} {
			errs = append(errs, check("item", i+1, v))
		}
	}
	return errors.Join(errs...)
}

// validVname reports whether s is 1-255 of [A-Za-z0-9_-], rrdtool's rule for
// variable names. (A {1,255} regexp costs 3 ms at every process start.)
func validVname(s string) bool {
	if len(s) == 0 || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
