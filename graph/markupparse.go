package graph

import (
	"fmt"
	"strconv"
	"strings"
)

// MarkupRun is a piece of --pango-markup text with the look pango gives
// it, reduced to what a web page can show safely: every field is from a
// fixed set of values or a validated form (a color is "#rrggbb" or a
// name of letters, a family letters, digits, spaces and dashes), so the
// page sets them as style properties, and the text as text.
type MarkupRun struct {
	Text      string `json:"text"`
	Weight    int    `json:"weight,omitempty"`    // CSS font-weight, 100–1000
	Italic    bool   `json:"italic,omitempty"`    // <i>, style="italic|oblique"
	Underline string `json:"underline,omitempty"` // "single", "double", "low", "error"
	Strike    bool   `json:"strike,omitempty"`
	Mono      bool   `json:"mono,omitempty"` // <tt>
	Family    string `json:"family,omitempty"`
	// Size is a CSS font size: "<n>em" relative to the legend's, or
	// "<n>pt" when a span sets an absolute size.
	Size       string `json:"size,omitempty"`
	VAlign     string `json:"valign,omitempty"` // "sub", "super"
	Color      string `json:"color,omitempty"`
	Background string `json:"background,omitempty"`
	SmallCaps  bool   `json:"small_caps,omitempty"`
}

// markupStyle is the look in effect inside nested elements.
type markupStyle struct {
	weight    int
	italic    bool
	underline string
	strike    bool
	mono      bool
	family    string
	scale     float64 // <big>, <small>, <sub>, <sup>: times the size below
	absPt     float64 // a span's absolute size in points, 0: none
	valign    string
	color, bg string
	smallCaps bool
}

// pangoScale is how much <big> and <small> change the size (pango's
// PANGO_SCALE_LARGE/SMALL steps).
const pangoScale = 1.2

// ParseMarkup parses pango markup (pango's <b> <i> <u> <s> <tt> <big>
// <small> <sub> <sup> <span …> and <markup>, the XML entities and
// numeric character references) into runs of text with their look.
// Markup pango refuses — an unknown tag or attribute, a bad value, an
// unclosed or mismatched tag, a bare '&' — is an error.
func ParseMarkup(s string) ([]MarkupRun, error) {
	p := markupParser{s: s}
	p.stack = []markupStyle{{scale: 1}}
	var names []string
	for p.i < len(s) {
		switch s[p.i] {
		case '<':
			if strings.HasPrefix(s[p.i:], "</") {
				end := strings.IndexByte(s[p.i:], '>')
				if end < 0 {
					return nil, p.errf("unclosed end tag")
				}
				name := strings.TrimSpace(s[p.i+2 : p.i+end])
				if len(names) == 0 || names[len(names)-1] != name {
					return nil, p.errf("end tag </%s> does not close an open tag", name)
				}
				names = names[:len(names)-1]
				p.stack = p.stack[:len(p.stack)-1]
				p.i += end + 1
				continue
			}
			name, st, empty, err := p.startTag()
			if err != nil {
				return nil, err
			}
			if !empty {
				names = append(names, name)
				p.stack = append(p.stack, st)
			}
		case '&':
			r, err := p.entity()
			if err != nil {
				return nil, err
			}
			p.text(r)
		default:
			j := p.i + 1
			for j < len(s) && s[j] != '<' && s[j] != '&' {
				j++
			}
			p.text(s[p.i:j])
			p.i = j
		}
	}
	if len(names) > 0 {
		return nil, fmt.Errorf("markup: <%s> is not closed", names[len(names)-1])
	}
	return p.runs, nil
}

type markupParser struct {
	s     string
	i     int
	stack []markupStyle
	runs  []MarkupRun
}

func (p *markupParser) errf(format string, a ...any) error {
	return fmt.Errorf("markup at byte %d: %s", p.i, fmt.Sprintf(format, a...))
}

// text adds text in the current look, joined to the last run when the
// look is the same.
func (p *markupParser) text(t string) {
	if t == "" {
		return
	}
	r := p.stack[len(p.stack)-1].run()
	if n := len(p.runs); n > 0 {
		last := p.runs[n-1]
		last.Text = ""
		if last == r {
			p.runs[n-1].Text += t
			return
		}
	}
	r.Text = t
	p.runs = append(p.runs, r)
}

func (st markupStyle) run() MarkupRun {
	r := MarkupRun{Weight: st.weight, Italic: st.italic, Underline: st.underline, Strike: st.strike, Mono: st.mono,
		Family: st.family, VAlign: st.valign, Color: st.color, Background: st.bg, SmallCaps: st.smallCaps}
	switch {
	case st.absPt > 0:
		r.Size = strconv.FormatFloat(st.absPt*st.scale, 'f', -1, 64) + "pt"
	case st.scale != 1:
		r.Size = strconv.FormatFloat(st.scale, 'f', 4, 64) + "em"
	}
	return r
}

// entity decodes the entity or character reference at p.i.
func (p *markupParser) entity() (string, error) {
	end := strings.IndexByte(p.s[p.i:], ';')
	if end < 0 || end > 12 {
		return "", p.errf("'&' starts no entity (write &amp;)")
	}
	r, ok := entity(p.s[p.i+1 : p.i+end])
	if !ok {
		return "", p.errf("unknown entity %q", p.s[p.i:p.i+end+1])
	}
	p.i += end + 1
	return r, nil
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-'
}

func (p *markupParser) name() string {
	j := p.i
	for j < len(p.s) && isNameByte(p.s[j]) {
		j++
	}
	n := p.s[p.i:j]
	p.i = j
	return n
}

func (p *markupParser) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

// startTag parses <name attr="value"…> or <name …/> at p.i and returns
// the look inside it.
func (p *markupParser) startTag() (string, markupStyle, bool, error) {
	p.i++ // '<'
	name := p.name()
	st := p.stack[len(p.stack)-1]
	switch name {
	case "markup":
	case "b":
		st.weight = 700
	case "i":
		st.italic = true
	case "u":
		st.underline = "single"
	case "s":
		st.strike = true
	case "tt":
		st.mono = true
	case "big":
		st.scale *= pangoScale
	case "small":
		st.scale /= pangoScale
	case "sub", "sup":
		st.valign = map[string]string{"sub": "sub", "sup": "super"}[name]
		st.scale /= pangoScale
	case "span":
	default:
		return "", st, false, p.errf("unknown tag <%s>", name)
	}
	for {
		p.space()
		if p.i >= len(p.s) {
			return "", st, false, p.errf("unclosed tag <%s>", name)
		}
		switch {
		case p.s[p.i] == '>':
			p.i++
			return name, st, false, nil
		case strings.HasPrefix(p.s[p.i:], "/>"):
			p.i += 2
			return name, st, true, nil
		}
		attr := p.name()
		if attr == "" {
			return "", st, false, p.errf("unexpected %q in <%s>", p.s[p.i], name)
		}
		if name != "span" {
			return "", st, false, p.errf("attribute %q is not allowed on <%s>", attr, name)
		}
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != '=' {
			return "", st, false, p.errf("attribute %q has no value", attr)
		}
		p.i++
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != '"' && p.s[p.i] != '\'' {
			return "", st, false, p.errf("the value of %q is not quoted", attr)
		}
		q := p.s[p.i]
		end := strings.IndexByte(p.s[p.i+1:], q)
		if end < 0 {
			return "", st, false, p.errf("the value of %q is not closed", attr)
		}
		raw := p.s[p.i+1 : p.i+1+end]
		val, err := p.attrValue(raw)
		if err != nil {
			return "", st, false, err
		}
		p.i += end + 2
		if err := st.span(attr, val); err != nil {
			return "", st, false, p.errf("<span %s=%q>: %v", attr, val, err)
		}
	}
}

// attrValue decodes the entities of an attribute value.
func (p *markupParser) attrValue(raw string) (string, error) {
	if strings.IndexByte(raw, '<') >= 0 {
		return "", p.errf("'<' in an attribute value")
	}
	if strings.IndexByte(raw, '&') < 0 {
		return raw, nil
	}
	sub := markupParser{s: raw}
	var b strings.Builder
	for sub.i < len(raw) {
		if raw[sub.i] != '&' {
			b.WriteByte(raw[sub.i])
			sub.i++
			continue
		}
		r, err := sub.entity()
		if err != nil {
			return "", p.errf("attribute value: %v", err)
		}
		b.WriteString(r)
	}
	return b.String(), nil
}

var pangoWeights = map[string]int{"thin": 100, "ultralight": 200, "light": 300, "semilight": 350, "book": 380,
	"normal": 400, "medium": 500, "semibold": 600, "bold": 700, "ultrabold": 800, "heavy": 900, "ultraheavy": 1000}

var pangoSizes = map[string]float64{"xx-small": 1 / (pangoScale * pangoScale * pangoScale), "x-small": 1 / (pangoScale * pangoScale),
	"small": 1 / pangoScale, "medium": 1, "large": pangoScale, "x-large": pangoScale * pangoScale, "xx-large": pangoScale * pangoScale * pangoScale}

// span applies one <span> attribute (pango's names and values). Those
// a page cannot show (rise, letter spacing, language…) are checked and
// accepted, as pango accepts them.
func (st *markupStyle) span(attr, v string) error {
	switch attr {
	case "font", "font_desc":
		return st.fontDesc(v)
	case "font_family", "face":
		f, ok := familyName(v)
		if !ok {
			return fmt.Errorf("not a font family name")
		}
		st.family = f
	case "size", "font_size":
		return st.size(v)
	case "style", "font_style":
		switch v {
		case "normal":
			st.italic = false
		case "italic", "oblique":
			st.italic = true
		default:
			return fmt.Errorf("not a style")
		}
	case "weight", "font_weight":
		w, ok := pangoWeights[v]
		if !ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 100 || n > 1000 {
				return fmt.Errorf("not a weight")
			}
			w = n
		}
		st.weight = w
	case "variant", "font_variant":
		switch v {
		case "normal":
			st.smallCaps = false
		case "smallcaps", "small-caps", "all-small-caps", "petite-caps", "all-petite-caps", "unicase", "title-caps":
			st.smallCaps = v == "smallcaps" || v == "small-caps"
		default:
			return fmt.Errorf("not a variant")
		}
	case "foreground", "fgcolor", "color":
		c, ok := markupColor(v)
		if !ok {
			return fmt.Errorf("not a color")
		}
		st.color = c
	case "background", "bgcolor":
		c, ok := markupColor(v)
		if !ok {
			return fmt.Errorf("not a color")
		}
		st.bg = c
	case "underline":
		switch v {
		case "none":
			st.underline = ""
		case "single", "double", "low", "error":
			st.underline = v
		default:
			return fmt.Errorf("not an underline")
		}
	case "strikethrough":
		b, err := strconv.ParseBool(v)
		if err != nil || v != "true" && v != "false" {
			return fmt.Errorf("not true or false")
		}
		st.strike = b
	case "underline_color", "strikethrough_color", "overline_color":
		if _, ok := markupColor(v); !ok {
			return fmt.Errorf("not a color")
		}
	case "stretch", "font_stretch":
		switch v {
		case "ultracondensed", "extracondensed", "condensed", "semicondensed", "normal",
			"semiexpanded", "expanded", "extraexpanded", "ultraexpanded":
		default:
			return fmt.Errorf("not a stretch")
		}
	case "rise", "baseline_shift", "letter_spacing":
		if _, err := strconv.ParseFloat(strings.TrimSuffix(v, "pt"), 64); err != nil && v != "superscript" && v != "subscript" && v != "none" {
			return fmt.Errorf("not a number")
		}
	case "alpha", "fgalpha", "bgalpha":
		n, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
		if err != nil || n < 0 || strings.HasSuffix(v, "%") && n > 100 || !strings.HasSuffix(v, "%") && (n < 1 || n > 65536) {
			return fmt.Errorf("not an alpha")
		}
	case "fallback", "allow_breaks", "insert_hyphens":
		if v != "true" && v != "false" {
			return fmt.Errorf("not true or false")
		}
	case "lang", "gravity", "gravity_hint", "font_features", "show", "line_height", "text_transform", "segment", "font_scale", "overline":
		if v == "" {
			return fmt.Errorf("empty")
		}
	default:
		return fmt.Errorf("not an attribute of <span>")
	}
	return nil
}

// size applies a span's size: a number of 1024ths of a point, a size
// with "pt", a keyword, "smaller" or "larger".
func (st *markupStyle) size(v string) error {
	switch v {
	case "smaller":
		st.scale /= pangoScale
		return nil
	case "larger":
		st.scale *= pangoScale
		return nil
	}
	if k, ok := pangoSizes[v]; ok {
		st.scale *= k
		return nil
	}
	var pts float64
	if n, ok := strings.CutSuffix(v, "pt"); ok {
		f, err := strconv.ParseFloat(n, 64)
		if err != nil {
			return fmt.Errorf("not a size")
		}
		pts = f
	} else {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("not a size")
		}
		pts = float64(n) / 1024
	}
	if !(pts > 0 && pts <= 1000) {
		return fmt.Errorf("size out of range")
	}
	st.absPt, st.scale = pts, 1
	return nil
}

// fontDesc applies a pango font description: "[FAMILY-LIST] [STYLE-OPTIONS] [SIZE]".
func (st *markupStyle) fontDesc(v string) error {
	words := strings.Fields(strings.ReplaceAll(v, ",", " , "))
	if n := len(words); n > 0 {
		if f, err := strconv.ParseFloat(strings.TrimSuffix(words[n-1], "px"), 64); err == nil {
			if !(f > 0 && f <= 1000) {
				return fmt.Errorf("size out of range")
			}
			st.absPt, st.scale = f, 1
			if strings.HasSuffix(words[n-1], "px") {
				st.absPt = f * 72 / 96
			}
			words = words[:n-1]
		}
	}
	var family []string
	for _, w := range words {
		lw := strings.ToLower(w)
		if wt, ok := pangoWeights[strings.ReplaceAll(lw, "-", "")]; ok && lw != "normal" && lw != "medium" {
			st.weight = wt
			continue
		}
		switch lw {
		case "italic", "oblique":
			st.italic = true
			continue
		case "normal", "roman":
			continue
		case "small-caps":
			st.smallCaps = true
			continue
		}
		family = append(family, w)
	}
	if len(family) > 0 {
		f, ok := familyName(strings.Join(family, " "))
		if !ok {
			return fmt.Errorf("not a font family name")
		}
		st.family = f
	}
	return nil
}

// familyName checks a font family list: names of letters, digits,
// spaces, dashes and underscores, separated by commas.
func familyName(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 100 {
		return "", false
	}
	for _, c := range []byte(v) {
		if !(isNameByte(c) || c >= '0' && c <= '9' || c == ' ' || c == ',') {
			return "", false
		}
	}
	return strings.Join(strings.Fields(strings.ReplaceAll(v, " ,", ",")), " "), true
}

// markupColor checks a pango color: #rgb, #rrggbb, #rrrgggbbb,
// #rrrrggggbbbb (with an alpha digit group or not: #rgba, #rrggbbaa…) as
// "#rrggbb", or a color name (letters; the browser knows the X11 names
// pango does), lower-cased.
func markupColor(v string) (string, bool) {
	if h, ok := strings.CutPrefix(v, "#"); ok {
		var n int
		switch len(h) {
		case 3, 6, 9, 12:
			n = len(h) / 3
		case 4, 8, 16:
			n = len(h) / 4
		default:
			return "", false
		}
		for _, c := range []byte(h) {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return "", false
			}
		}
		out := []byte{'#'}
		for k := range 3 {
			d := h[k*n : k*n+n]
			x, err := strconv.ParseUint(d, 16, 32)
			if err != nil {
				return "", false
			}
			// scale to 8 bits as pango does (the top bits of the value)
			x = x * 255 / (1<<(4*n) - 1)
			out = append(out, "0123456789abcdef"[x>>4], "0123456789abcdef"[x&15])
		}
		return string(out), true
	}
	if v == "" || len(v) > 40 {
		return "", false
	}
	for _, c := range []byte(v) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == ' ') {
			return "", false
		}
	}
	return strings.ToLower(strings.ReplaceAll(v, " ", "")), true
}
