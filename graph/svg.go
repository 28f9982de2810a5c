package graph

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"
	"time"
)

// SVG renders the laid-out graph as an SVG document, written directly:
// the same scene as the PNG, text in DejaVu Sans Mono at rrdtool's sizes.
func (im *Image) SVG(loc *time.Location) []byte {
	sp := &svgPainter{}
	fmt.Fprintf(&sp.b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans Mono, monospace">`+"\n",
		im.Width, im.Height, im.Width, im.Height)
	im.paint(sp, loc)
	if sp.clipped {
		sp.b.WriteString("</g>\n")
	}
	sp.b.WriteString("</svg>\n")
	return sp.b.Bytes()
}

type svgPainter struct {
	b       bytes.Buffer
	clips   int
	grads   int
	clipped bool
	colors  map[svgColorKey]string // svgColor's answers: a graph has a few colors
}

type svgColorKey struct {
	attr string
	c    color.NRGBA
}

// color is svgColor(attr, c), each once.
func (sp *svgPainter) color(attr string, c color.NRGBA) string {
	k := svgColorKey{attr, c}
	s, ok := sp.colors[k]
	if !ok {
		if sp.colors == nil {
			sp.colors = map[svgColorKey]string{}
		}
		s = svgColor(attr, c)
		sp.colors[k] = s
	}
	return s
}

// svgNum formats into a stack buffer: one allocation (the string), not two.
func svgNum(v float64) string {
	var buf [32]byte
	return string(appendSVGNum(buf[:0], v))
}

// appendSVGNum appends strconv.FormatFloat(v, 'f', -1, 64): whole and
// half pixels, most of a graph's coordinates, without the shortest-digits
// search; those below 10,000 (sign bit clear: not -0, not negative) with
// their digits written here, no further call.
func appendSVGNum(b []byte, v float64) []byte {
	if math.Float64bits(v)>>63 == 0 && v < 10000 {
		m := uint32(v)
		var half bool
		switch v - float64(m) {
		case 0:
		case 0.5:
			half = true
		default:
			return strconv.AppendFloat(b, v, 'f', -1, 64)
		}
		switch {
		case m < 10:
			b = append(b, byte('0'+m))
		case m < 100:
			b = append(b, byte('0'+m/10), byte('0'+m%10))
		case m < 1000:
			b = append(b, byte('0'+m/100), byte('0'+m/10%10), byte('0'+m%10))
		default:
			b = append(b, byte('0'+m/1000), byte('0'+m/100%10), byte('0'+m/10%10), byte('0'+m%10))
		}
		if half {
			b = append(b, '.', '5')
		}
		return b
	}
	if v >= 0 && v < 1e15 && !(v == 0 && math.Signbit(v)) {
		switch w := math.Trunc(v); v - w {
		case 0:
			return strconv.AppendUint(b, uint64(w), 10)
		case 0.5:
			return append(strconv.AppendUint(b, uint64(w), 10), ".5"...)
		}
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

// svgColor is fill="…" or stroke="…" with its opacity when not opaque.
func svgColor(attr string, c color.NRGBA) string {
	s := fmt.Sprintf(`%s="#%02x%02x%02x"`, attr, c.R, c.G, c.B)
	if c.A != 0xff {
		s += fmt.Sprintf(` %s-opacity="%s"`, attr, strconv.FormatFloat(float64(c.A)/255, 'f', 3, 64))
	}
	return s
}

// svgPoints writes "x,y x,y…". A coordinate equal to the same axis's
// one of the point before (the stairs of a data line: each y twice) is
// copied from there instead of formatted again: a data value's shortest
// decimal form costs ~700 instructions.
func svgPoints(p []pt) string { return string(appendSVGPoints(nil, p)) }

// svgCoord is the last coordinate written on one axis and where its text
// is in the buffer.
type svgCoord struct {
	v          float64
	start, end int
}

// appendSVGPoints appends svgPoints(p); the painters append it straight
// into their buffer (no string copy, no fmt pass over ~50 kB of points).
// A coordinate equal to its axis's last one is copied from that one's
// text (clampCoord leaves no NaN; the sign test keeps -0 apart from 0);
// both axes are written out here, not in a helper, for the call a
// coordinate it would cost.
func appendSVGPoints(b []byte, p []pt) []byte {
	var lx, ly svgCoord
	for i, q := range p {
		x, y := clampCoord(q.x), clampCoord(q.y)
		if i > 0 {
			b = append(b, ' ')
		}
		start := len(b)
		if i > 0 && x == lx.v && math.Signbit(x) == math.Signbit(lx.v) {
			b = append(b, b[lx.start:lx.end]...)
		} else {
			b = appendSVGNum(b, x)
			lx.v = x
		}
		lx.start, lx.end = start, len(b)
		b = append(b, ',')
		start = len(b)
		if i > 0 && y == ly.v && math.Signbit(y) == math.Signbit(ly.v) {
			b = append(b, b[ly.start:ly.end]...)
		} else {
			b = appendSVGNum(b, y)
			ly.v = y
		}
		ly.start, ly.end = start, len(b)
	}
	return b
}

// writePoints writes ` points="…"` into the buffer.
func (sp *svgPainter) writePoints(p []pt) {
	sp.b.WriteString(` points="`)
	sp.b.Grow(12*len(p) + 1)
	sp.b.Write(append(appendSVGPoints(sp.b.AvailableBuffer(), p), '"'))
}

func (sp *svgPainter) clip(r *[4]float64) {
	if sp.clipped {
		sp.b.WriteString("</g>\n")
		sp.clipped = false
	}
	if r == nil {
		return
	}
	sp.clips++
	fmt.Fprintf(&sp.b, `<clipPath id="c%d"><rect x="%s" y="%s" width="%s" height="%s"/></clipPath><g clip-path="url(#c%d)">`+"\n",
		sp.clips, svgNum(r[0]), svgNum(r[1]), svgNum(r[2]-r[0]), svgNum(r[3]-r[1]), sp.clips)
	sp.clipped = true
}

func (sp *svgPainter) rect(x0, y0, x1, y1 float64, c color.NRGBA) {
	fmt.Fprintf(&sp.b, `<rect x="%s" y="%s" width="%s" height="%s" %s/>`+"\n",
		svgNum(x0), svgNum(y0), svgNum(x1-x0), svgNum(y1-y0), sp.color("fill", c))
}

func (sp *svgPainter) polygon(p []pt, c color.NRGBA) {
	if len(p) < 3 {
		return
	}
	sp.b.WriteString(`<polygon`)
	sp.writePoints(p)
	sp.b.WriteString(" " + sp.color("fill", c) + "/>\n")
}

func (sp *svgPainter) gradPolygon(p []pt, y0 float64, c0 color.NRGBA, y1 float64, c1 color.NRGBA) {
	if len(p) < 3 {
		return
	}
	if y0 == y1 {
		sp.polygon(p, c1)
		return
	}
	sp.grads++
	stop := func(off int, c color.NRGBA) string {
		return fmt.Sprintf(`<stop offset="%d" stop-color="#%02x%02x%02x" stop-opacity="%s"/>`, off, c.R, c.G, c.B, svgNum(float64(c.A)/255))
	}
	fmt.Fprintf(&sp.b, `<linearGradient id="g%d" gradientUnits="userSpaceOnUse" x1="0" y1="%s" x2="0" y2="%s">%s%s</linearGradient>`+"\n",
		sp.grads, svgNum(y0), svgNum(y1), stop(0, c0), stop(1, c1))
	sp.b.WriteString(`<polygon`)
	sp.writePoints(p)
	fmt.Fprintf(&sp.b, ` fill="url(#g%d)"/>`+"\n", sp.grads)
}

func (sp *svgPainter) line(p []pt, w float64, c color.NRGBA, dash []float64, off float64) {
	if len(p) < 2 {
		return
	}
	sp.b.WriteString(`<polyline`)
	sp.writePoints(p)
	// WriteString, not Fprintf: a graph has ~200 lines (grid, ticks, data).
	sp.b.WriteString(` fill="none" `)
	sp.b.WriteString(sp.color("stroke", c))
	sp.b.WriteString(` stroke-width="`)
	sp.b.WriteString(svgNum(w))
	sp.b.WriteByte('"')
	if len(dash) > 0 {
		sp.b.WriteString(` stroke-dasharray="`)
		for i, d := range dash {
			if i > 0 {
				sp.b.WriteByte(',')
			}
			sp.b.WriteString(svgNum(d))
		}
		sp.b.WriteByte('"')
		if off != 0 {
			sp.b.WriteString(` stroke-dashoffset="`)
			sp.b.WriteString(svgNum(off))
			sp.b.WriteByte('"')
		}
	}
	sp.b.WriteString("/>\n")
}

func (sp *svgPainter) text(x, y, size float64, s string, c color.NRGBA, up bool) {
	if s == "" {
		return
	}
	sp.writeText(x, y, size, svgEscape(s), c, up)
}

// markupText draws --pango-markup text (markupPainter) with its bold,
// italic, underline, strikethrough and colors as tspans; sizes, rises
// and backgrounds are not drawn (the layout measured the plain text:
// in a monospaced font bold and italic take the same room).
func (sp *svgPainter) markupText(x, y, size float64, runs []MarkupRun, c color.NRGBA, up bool) {
	var body strings.Builder
	for _, r := range runs {
		var attrs []string
		if r.Weight != 0 {
			attrs = append(attrs, `font-weight="`+strconv.Itoa(r.Weight)+`"`)
		}
		if r.Italic {
			attrs = append(attrs, `font-style="italic"`)
		}
		var deco []string
		if r.Underline != "" {
			deco = append(deco, "underline")
		}
		if r.Strike {
			deco = append(deco, "line-through")
		}
		if len(deco) > 0 {
			attrs = append(attrs, `text-decoration="`+strings.Join(deco, " ")+`"`)
		}
		if r.Color != "" { // "#rrggbb" or letters (ParseMarkup)
			attrs = append(attrs, `fill="`+r.Color+`"`)
		}
		if len(attrs) == 0 {
			body.WriteString(svgEscape(r.Text))
			continue
		}
		body.WriteString("<tspan " + strings.Join(attrs, " ") + ">" + svgEscape(r.Text) + "</tspan>")
	}
	if body.Len() > 0 {
		sp.writeText(x, y, size, body.String(), c, up)
	}
}

// svgEscape makes text XML character data.
func svgEscape(s string) string {
	var esc strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			esc.WriteString("&amp;")
		case '<':
			esc.WriteString("&lt;")
		case '>':
			esc.WriteString("&gt;")
		case '\t':
			esc.WriteString("&#9;")
		default:
			if r < 0x20 {
				continue // not allowed in XML 1.0
			}
			esc.WriteRune(r)
		}
	}
	return esc.String()
}

// writeText writes a text element with body (XML) as its content.
func (sp *svgPainter) writeText(x, y, size float64, body string, c color.NRGBA, up bool) {
	px := pxSize(size)
	if up {
		fmt.Fprintf(&sp.b, `<text x="0" y="0" font-size="%s" %s text-anchor="middle" dominant-baseline="central" transform="translate(%s,%s) rotate(-90)" xml:space="preserve">%s</text>`+"\n",
			svgNum(px), sp.color("fill", c), svgNum(x), svgNum(y), body)
		return
	}
	fmt.Fprintf(&sp.b, `<text x="%s" y="%s" font-size="%s" %s xml:space="preserve">%s</text>`+"\n",
		svgNum(x), svgNum(y+float64(int(px*monoAscent+0.999))), svgNum(px), sp.color("fill", c), body)
}
