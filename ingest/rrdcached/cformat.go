package rrdcached

import (
	"math"
	"rrdash/store/computeds"
	"strconv"
	"strings"
)

// formatE prints v as C's printf("%0.*e") does. Unknown is "-nan", as
// rrdcached prints the NaN rrdtool stores for it (the sign bit set); the
// positive NaN a COMPUTE's ABS makes is "nan" (computeds.PosNaN).
func formatE(v float64, prec int) string {
	switch {
	case computeds.IsPosNaN(v):
		return "nan"
	case math.IsNaN(v):
		return "-nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, 'e', prec, 64)
}

// strtol parses as C's strtol(s, &end, 0): leading white space, a sign,
// a 0x (hex) or 0 (octal) prefix, then digits up to the first byte that
// isn't one. ok is false when no digit was read or the value overflows.
func strtol(s string) (int64, bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := uint64(10)
	switch {
	case len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && digitVal(s[2]) < 16:
		base, s = 16, s[2:]
	case len(s) > 0 && s[0] == '0':
		base = 8
	}
	var n uint64
	read := 0
	for ; read < len(s); read++ {
		d := uint64(digitVal(s[read]))
		if d >= base {
			break
		}
		if n > (math.MaxInt64+1-d)/base {
			return 0, false
		}
		n = n*base + d
	}
	if read == 0 || !neg && n > math.MaxInt64 {
		return 0, false
	}
	if neg {
		return -int64(n), true
	}
	return int64(n), true
}

func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}

// atoi parses as C's atoi: like strtol in base 10, 0 when nothing parses.
func atoi(s string) int64 {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var n int64
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n > math.MaxInt32 {
			break
		}
		n = n*10 + int64(s[i]-'0')
	}
	if neg {
		return -n
	}
	return n
}

// stamp reads the time of an UPDATE value as rrdcached does: a number
// followed by ':'.
func stamp(v string) (float64, bool) {
	i := strings.IndexByte(v, ':')
	if i <= 0 {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimLeft(v[:i], " \t\n\v\f\r"), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}
