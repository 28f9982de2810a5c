package graph

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// printFormat is a (G)PRINT format as rrdtool accepts it: literal text
// (%% for a percent sign), exactly one %[flag][width][.prec]l{e,f,g}
// conversion, then at most one %s or %S (the SI prefix), as its
// bad_format_print regular expression says.
type printFormat struct {
	parts []fmtPart
	si    byte // 0, 's' or 'S'
}

type fmtPart struct {
	lit  string // literal text (when verb is 0)
	verb byte   // 'e','f','g' (any case) or 's'
	flag byte
	wid  int
	prec int // -1: none
}

// parsePrintFormat checks f against rrdtool's rule and splits it.
func parsePrintFormat(f string) (*printFormat, error) {
	var pf printFormat
	var lit strings.Builder
	sawNum := false
	bad := func(msg string) error {
		return fmt.Errorf("invalid format %q: %s (want text, one %%[-+ 0#][width][.prec]l{e,f,g}, then at most one %%s or %%S)", f, msg)
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			lit.WriteByte(c)
			continue
		}
		if i+1 < len(f) && f[i+1] == '%' {
			lit.WriteString("%")
			i++
			continue
		}
		if lit.Len() > 0 {
			pf.parts = append(pf.parts, fmtPart{lit: lit.String()})
			lit.Reset()
		}
		if i+1 < len(f) && (f[i+1] == 's' || f[i+1] == 'S') {
			if !sawNum || pf.si != 0 {
				return nil, bad(fmt.Sprintf("%%%c at position %d", f[i+1], i+1))
			}
			pf.si = f[i+1]
			pf.parts = append(pf.parts, fmtPart{verb: 's'})
			i++
			continue
		}
		if sawNum {
			return nil, bad(fmt.Sprintf("a second conversion at position %d", i+1))
		}
		p := fmtPart{prec: -1}
		j := i + 1
		if j < len(f) && strings.IndexByte("-+ 0#", f[j]) >= 0 {
			p.flag = f[j]
			j++
		}
		k := j
		for j < len(f) && f[j] >= '0' && f[j] <= '9' {
			j++
		}
		if j > k {
			n, err := strconv.Atoi(f[k:j])
			if err != nil || n > 200 {
				return nil, bad(fmt.Sprintf("width at position %d", i+1))
			}
			p.wid = n
		}
		if j < len(f) && f[j] == '.' {
			j++
			k = j
			for j < len(f) && f[j] >= '0' && f[j] <= '9' {
				j++
			}
			if j == k {
				return nil, bad(fmt.Sprintf("precision at position %d", i+1))
			}
			n, err := strconv.Atoi(f[k:j])
			if err != nil || n > 100 {
				return nil, bad(fmt.Sprintf("precision at position %d", i+1))
			}
			p.prec = n
		}
		if j+1 >= len(f) || f[j] != 'l' || strings.IndexByte("eEfFgG", f[j+1]) < 0 {
			return nil, bad(fmt.Sprintf("conversion at position %d", i+1))
		}
		p.verb = f[j+1]
		pf.parts = append(pf.parts, p)
		sawNum = true
		i = j + 1
	}
	if lit.Len() > 0 {
		pf.parts = append(pf.parts, fmtPart{lit: lit.String()})
	}
	if !sawNum {
		return nil, bad("no number conversion")
	}
	return &pf, nil
}

// format prints v (already scaled) and the SI symbol as C's printf would.
func (pf *printFormat) format(v float64, symbol string) string {
	var b strings.Builder
	for _, p := range pf.parts {
		switch p.verb {
		case 0:
			b.WriteString(p.lit)
		case 's':
			b.WriteString(symbol)
		default:
			b.WriteString(cFloat(v, p))
		}
	}
	return b.String()
}

// cFloat is C's %[flag][wid][.prec]{e,f,g}: glibc prints NaN as "-nan" when
// its sign bit is set, and rrdtool's unknown (0/0 on x86) has it set, so
// every unknown prints "-nan" as rrdtool 1.7.2 prints it.
func cFloat(v float64, p fmtPart) string {
	var s string
	upper := p.verb >= 'A' && p.verb <= 'Z'
	switch {
	case math.IsNaN(v):
		s = "-nan"
	case math.IsInf(v, 1):
		s = "inf"
	case math.IsInf(v, -1):
		s = "-inf"
	default:
		prec := p.prec
		if prec < 0 {
			prec = 6
		}
		switch p.verb | 0x20 {
		case 'f':
			s = strconv.FormatFloat(v, 'f', prec, 64)
		case 'e':
			s = strconv.FormatFloat(v, 'e', prec, 64)
			s = fixExp(s)
		default:
			s = cG(v, prec, p.flag == '#')
		}
		if p.flag == '#' && p.verb|0x20 != 'g' && prec == 0 && !strings.Contains(s, ".") {
			if k := strings.IndexAny(s, "eE"); k >= 0 {
				s = s[:k] + "." + s[k:]
			} else {
				s += "."
			}
		}
		if v == 0 && math.Signbit(v) && !strings.HasPrefix(s, "-") {
			s = "-" + s
		}
	}
	if upper {
		s = strings.ToUpper(s)
	}
	finite := !math.IsNaN(v) && !math.IsInf(v, 0)
	if !strings.HasPrefix(s, "-") {
		switch p.flag {
		case '+':
			s = "+" + s
		case ' ':
			s = " " + s
		}
	}
	if len(s) < p.wid {
		pad := p.wid - len(s)
		switch {
		case p.flag == '-':
			s += strings.Repeat(" ", pad)
		case p.flag == '0' && finite:
			sign := ""
			if s[0] == '-' || s[0] == '+' || s[0] == ' ' {
				sign, s = s[:1], s[1:]
			}
			s = sign + strings.Repeat("0", pad) + s
		default:
			s = strings.Repeat(" ", pad) + s
		}
	}
	return s
}

// fixExp makes Go's exponent at least two digits, as C's ("1e+05", not "1e+5").
func fixExp(s string) string {
	k := strings.IndexAny(s, "eE")
	if k < 0 || len(s)-k >= 4 {
		return s
	}
	return s[:k+2] + "0" + s[k+2:]
}

// cG is C's %g: precision P (0 means 1) significant digits, %e style when
// the exponent X < -4 or X >= P, trailing zeros removed unless alt.
func cG(v float64, prec int, alt bool) string {
	if prec == 0 {
		prec = 1
	}
	if v == 0 {
		if alt {
			return "0." + strings.Repeat("0", prec-1)
		}
		return "0"
	}
	e := strconv.FormatFloat(v, 'e', prec-1, 64)
	k := strings.IndexByte(e, 'e')
	x, _ := strconv.Atoi(e[k+1:])
	var s string
	if x < -4 || x >= prec {
		mant := e[:k]
		if !alt && strings.Contains(mant, ".") {
			mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
		}
		s = fixExp(mant + e[k:])
	} else {
		s = strconv.FormatFloat(v, 'f', prec-1-x, 64)
		if !alt && strings.Contains(s, ".") {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
	}
	return s
}

// checkPrintFormat checks a PRINT or GPRINT item's format for its formatter.
func checkPrintFormat(it Item) error {
	if it.Strftime || it.VFormatter == "timestamp" {
		_, err := strftimeCheck(it.Format)
		return err
	}
	switch it.VFormatter {
	case "":
		_, err := parsePrintFormat(it.Format)
		return err
	case "duration":
		_, err := strfduration(it.Format, 0)
		return err
	}
	return fmt.Errorf("unknown value formatter %q (want timestamp or duration)", it.VFormatter)
}

var errEmptyFormat = errors.New("empty format")
