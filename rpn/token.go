package rpn

import (
	"strings"

	"rrdash/store"
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
	v, n := store.ParseFloatPrefix(s)
	return v, n > 0 && n == len(s)
}
