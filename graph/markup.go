package graph

import (
	"image/color"
	"strconv"
	"strings"
)

// markupText is what pango shows of a --pango-markup string: the text
// without its tags, entities decoded. rrdash draws it in the class's one
// font: a span's font, size, weight or color is not applied (README).
// Markup pango would refuse (an unclosed tag, a bare &) is drawn as it
// is written.
func markupText(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		switch s[i] {
		case '<':
			end := strings.IndexByte(s[i:], '>')
			if end < 0 {
				return s
			}
			i += end + 1
		case '&':
			end := strings.IndexByte(s[i:], ';')
			if end < 0 {
				return s
			}
			r, ok := entity(s[i+1 : i+end])
			if !ok {
				return s
			}
			b.WriteString(r)
			i += end + 1
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String()
}

func entity(name string) (string, bool) {
	switch name {
	case "lt":
		return "<", true
	case "gt":
		return ">", true
	case "amp":
		return "&", true
	case "quot":
		return `"`, true
	case "apos":
		return "'", true
	}
	if rest, ok := strings.CutPrefix(name, "#"); ok {
		base := 10
		if r, ok := strings.CutPrefix(rest, "x"); ok {
			rest, base = r, 16
		}
		n, err := strconv.ParseUint(rest, base, 32)
		if err != nil || n == 0 || n > 0x10ffff {
			return "", false
		}
		return string(rune(n)), true
	}
	return "", false
}

// markupPainter draws --pango-markup text as markupText, or, for a
// painter that can, as runs with their look.
type markupPainter struct{ painter }

func (m markupPainter) text(x, y, pt float64, s string, c color.NRGBA, up bool) {
	// a painter that draws runs (SVG) gets them when pango would take
	// the markup
	if rp, ok := m.painter.(interface {
		markupText(x, y, pt float64, runs []MarkupRun, c color.NRGBA, up bool)
	}); ok && strings.ContainsAny(s, "<&") {
		if runs, err := ParseMarkup(s); err == nil {
			rp.markupText(x, y, pt, runs, c, up)
			return
		}
	}
	m.painter.text(x, y, pt, markupText(s), c, up)
}
