package graph

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// gprintFormat is a checked GPRINT format: literal text around exactly one
// numeric conversion and at most one %s (the SI prefix), as rrdtool allows.
type gprintFormat struct {
	pre, mid, post string // literal parts (with %% already turned into %)
	num            string // Go verb for the number, e.g. "%6.2f"
	siFirst        bool   // %s comes before the number
	hasSI          bool
}

// checkFormat parses a GPRINT format such as "%6.2lf %s" or "Avg\: %5.1lf%%".
func checkFormat(f string) (*gprintFormat, error) {
	if f == "" {
		return nil, errors.New("empty GPRINT format")
	}
	var g gprintFormat
	var lit strings.Builder
	seenNum := false
	part := 0 // 0 before first conversion, 1 between, 2 after
	flush := func() {
		switch part {
		case 0:
			g.pre = lit.String()
		case 1:
			g.mid = lit.String()
		default:
			g.post = lit.String()
		}
		lit.Reset()
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			lit.WriteByte(c)
			continue
		}
		if i+1 < len(f) && f[i+1] == '%' {
			lit.WriteByte('%')
			i++
			continue
		}
		j := i + 1
		for j < len(f) && strings.IndexByte("-+ 0#", f[j]) >= 0 {
			j++
		}
		for j < len(f) && (f[j] >= '0' && f[j] <= '9' || f[j] == '.') {
			j++
		}
		if j < len(f) && f[j] == 'l' {
			j++
		}
		if j >= len(f) {
			return nil, fmt.Errorf("GPRINT format %q: incomplete conversion at position %d", f, i+1)
		}
		switch verb := f[j]; verb {
		case 'f', 'e', 'g', 'F', 'E', 'G':
			if seenNum {
				return nil, fmt.Errorf("GPRINT format %q: more than one number at position %d", f, i+1)
			}
			spec := strings.Replace(f[i:j], "l", "", 1)
			if strings.Count(spec, ".") > 1 {
				return nil, fmt.Errorf("GPRINT format %q: bad precision at position %d", f, i+1)
			}
			if len(spec) > 8 {
				return nil, fmt.Errorf("GPRINT format %q: width too large at position %d", f, i+1)
			}
			g.num = spec + string(verb|0x20)
			seenNum = true
		case 's', 'S':
			if g.hasSI || j != i+1 {
				return nil, fmt.Errorf("GPRINT format %q: unexpected %%s at position %d", f, i+1)
			}
			g.hasSI = true
			g.siFirst = !seenNum
		default:
			return nil, fmt.Errorf("GPRINT format %q: unsupported conversion %q at position %d", f, f[i:j+1], i+1)
		}
		flush()
		part++
		i = j
	}
	flush()
	if !seenNum {
		return nil, fmt.Errorf("GPRINT format %q: no number conversion like %%6.2lf", f)
	}
	return &g, nil
}

var siPrefixes = []struct {
	exp    int
	prefix string
}{{-18, "a"}, {-15, "f"}, {-12, "p"}, {-9, "n"}, {-6, "u"}, {-3, "m"}, {0, " "}, {3, "k"}, {6, "M"}, {9, "G"}, {12, "T"}, {15, "P"}, {18, "E"}}

// siScale returns v scaled into [1, 1000) and the SI prefix used.
func siScale(v float64) (float64, string) {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v, " "
	}
	e := int(math.Floor(math.Log10(math.Abs(v))/3)) * 3
	for _, p := range siPrefixes {
		if p.exp == e {
			return v / math.Pow(10, float64(e)), p.prefix
		}
	}
	return v, " "
}

// FormatValue formats v with a GPRINT format.
func FormatValue(format string, v float64) (string, error) {
	g, err := checkFormat(format)
	if err != nil {
		return "", err
	}
	return g.format(v), nil
}

func (g *gprintFormat) format(v float64) string {
	prefix := ""
	if g.hasSI {
		v, prefix = siScale(v)
	}
	num := fmt.Sprintf(g.num, v)
	if math.IsNaN(v) {
		num = fmt.Sprintf("%*s", widthOf(g.num), "nan")
	}
	switch {
	case !g.hasSI:
		return g.pre + num + g.mid
	case g.siFirst:
		return g.pre + prefix + g.mid + num + g.post
	default:
		return g.pre + num + g.mid + prefix + g.post
	}
}

func widthOf(verb string) int {
	i := 1
	for i < len(verb) && strings.IndexByte("-+ 0#", verb[i]) >= 0 {
		i++
	}
	n := 0
	for ; i < len(verb) && verb[i] >= '0' && verb[i] <= '9'; i++ {
		n = n*10 + int(verb[i]-'0')
	}
	return n
}
