package rpn

import (
	"math"
	"strings"
)

// token is one comma-separated element of an RPN expression.
type token struct {
	text string
	pos  int // 1-based index of the token in the expression
	off  int // byte offset of the token in the expression
}

// splitTokens cuts an expression at commas the way rrdtool's rpn_parse walks
// it: a trailing comma ends the expression ("a,2,+," is accepted), an empty
// token anywhere else is an error reported by the caller. followed reports
// whether a comma came after the token, which decides whether it may be a
// number (rrdtool only recognises a number that is followed by a comma).
func splitTokens(expr string) (toks []token, followed []bool) {
	off := 0
	for i := 1; off < len(expr); i++ {
		end := strings.IndexByte(expr[off:], ',')
		if end < 0 {
			toks = append(toks, token{text: expr[off:], pos: i, off: off})
			followed = append(followed, false)
			break
		}
		toks = append(toks, token{text: expr[off : off+end], pos: i, off: off})
		followed = append(followed, true)
		off += end + 1
	}
	return toks, followed
}

// numberChars is the scanf set rrdtool uses to cut a candidate number.
func isNumberChar(c byte) bool {
	return c == '-' || c == '+' || c == '.' || c == 'e' || (c >= '0' && c <= '9')
}

// parseNumber reports whether s is a number token for rrdtool 1.7.2 and its
// value. rrdtool converts with its own strtod (rrd_strtod), which accumulates
// the digits in a double and scales by powers of ten obtained by repeated
// squaring; that is not always correctly rounded, so it is reproduced here
// step by step instead of using strconv.ParseFloat.
func parseNumber(s string) (float64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if !isNumberChar(s[i]) {
			return 0, false
		}
	}
	v, n, ok := rrdStrtod(s)
	return v, ok && n == len(s)
}

// rrdStrtod converts the longest numeric prefix of s, returning the value,
// the number of bytes used and whether a conversion happened at all.
func rrdStrtod(s string) (float64, int, bool) {
	p := 0
	neg := false
	if p < len(s) && (s[p] == '-' || s[p] == '+') {
		neg = s[p] == '-'
		p++
	}
	number := 0.0
	exponent := 0
	digits := 0
	for p < len(s) && s[p] >= '0' && s[p] <= '9' {
		number = number*10 + float64(s[p]-'0')
		p++
		digits++
	}
	if p < len(s) && s[p] == '.' {
		p++
		decimals := 0
		for p < len(s) && s[p] >= '0' && s[p] <= '9' {
			number = number*10 + float64(s[p]-'0')
			p++
			digits++
			decimals++
		}
		exponent -= decimals
	}
	if digits == 0 {
		return 0, 0, false
	}
	if neg {
		number = -number
	}
	if p < len(s) && (s[p] == 'e' || s[p] == 'E') {
		p++
		eneg := false
		if p < len(s) && (s[p] == '-' || s[p] == '+') {
			eneg = s[p] == '-'
			p++
		}
		n := 0
		for p < len(s) && s[p] >= '0' && s[p] <= '9' {
			if n < 1<<20 { // C overflows here; any such exponent is out of range anyway
				n = n*10 + int(s[p]-'0')
			}
			p++
		}
		if eneg {
			exponent -= n
		} else {
			exponent += n
		}
	}
	// DBL_MIN_EXP and DBL_MAX_EXP: outside, rrd_strtod gives up without
	// advancing, so the token is not a number.
	if exponent < -1021 || exponent > 1024 {
		return math.Inf(1), 0, false
	}
	p10 := 10.0
	n := exponent
	if n < 0 {
		n = -n
	}
	for n != 0 {
		if n&1 != 0 {
			if exponent < 0 {
				number /= p10
			} else {
				number *= p10
			}
		}
		n >>= 1
		p10 *= p10
	}
	return number, p, true
}
