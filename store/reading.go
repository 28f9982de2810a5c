package store

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
)

// parseReading converts a GAUGE or ABSOLUTE reading the way rrdtool 1.7.2's
// rrd_strtod does: digits are accumulated in a double and then scaled by
// powers of ten, so long mantissas round differently from strconv. Matching
// it keeps stored values bit-identical with rrdtool's.
func parseReading(s string) (float64, error) {
	v, n := ParseFloatPrefix(s)
	if n == 0 {
		return 0, fmt.Errorf("cannot convert '%s' to float", s)
	}
	if n != len(s) {
		return 0, fmt.Errorf("converted '%s' to %f, but cannot convert '%s'", s, v, s[n:])
	}
	return v, nil
}

// ParseFloatPrefix converts the longest numeric prefix of s as rrdtool
// 1.7.2's rrd_strtod does and returns the value and the bytes used (0: no
// conversion). Shared by readings (store) and number tokens (rpn).
func ParseFloatPrefix(s string) (float64, int) {
	// the common reading: 1 to 15 digits and nothing else, whose value
	// every step of the general loop below holds exactly (below 2^53)
	if len(s) > 0 && len(s) <= 15 {
		v := int64(0)
		i := 0
		for ; i < len(s) && isDigit(s[i]); i++ {
			v = v*10 + int64(s[i]-'0')
		}
		if i == len(s) {
			return float64(v), i
		}
	}
	return parseFloatPrefix(s)
}

// parseFloatPrefix is ParseFloatPrefix without its fast path.
func parseFloatPrefix(s string) (float64, int) {
	p := 0
	for p < len(s) && isSpace(s[p]) {
		p++
	}
	neg := false
	if p < len(s) && (s[p] == '-' || s[p] == '+') {
		neg = s[p] == '-'
		p++
	}
	if w := matchFold(s[p:], "infinity"); w == 8 || w >= 3 {
		if w != 8 {
			w = 3
		}
		if neg {
			return math.Inf(-1), p + w
		}
		return math.Inf(1), p + w
	}
	if matchFold(s[p:], "nan") == 3 {
		return math.NaN(), p + 3
	}
	number := 0.0
	digits, exponent := 0, 0
	for p < len(s) && isDigit(s[p]) {
		number = number*10 + float64(s[p]-'0')
		p++
		digits++
	}
	if p < len(s) && s[p] == '.' {
		p++
		decimals := 0
		for p < len(s) && isDigit(s[p]) {
			number = number*10 + float64(s[p]-'0')
			p++
			digits++
			decimals++
		}
		exponent -= decimals
	}
	if digits == 0 {
		return 0, 0
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
		for p < len(s) && isDigit(s[p]) {
			if n < 1<<20 {
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
	// Outside DBL_MIN_EXP…DBL_MAX_EXP rrd_strtod gives up without
	// advancing: "1e1025" or "1e-1022" is not a number (measured).
	if exponent < -1021 || exponent > 1024 {
		return math.Inf(1), 0
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
	return number, p
}

// matchFold returns how many leading bytes of s match word, ignoring ASCII case.
func matchFold(s, word string) int {
	i := 0
	for i < len(s) && i < len(word) && s[i]|0x20 == word[i] {
		i++
	}
	return i
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isSpace(c byte) bool { return c == ' ' || c >= '\t' && c <= '\r' }

// checkInteger enforces rrdtool's rule that COUNTER and DERIVE readings are
// plain digits (DERIVE: a leading minus allowed).
func checkInteger(s string, signed bool) error {
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) || signed && i == 0 && s[i] == '-' {
			continue
		}
		if signed {
			return fmt.Errorf("not a simple signed integer: '%s'", s)
		}
		return fmt.Errorf("not a simple unsigned integer: '%s'", s)
	}
	return nil
}

// decimalDiff is a − b for integer strings as rrdtool's rrd_diff computes
// it: the difference is exact on the digits, then read back with rrd_strtod
// (so beyond 2^53 it rounds like rrdtool, not like a correct conversion).
// Different signs give NaN (rrd_diff can't), as do operands without digits or
// longer than rrdtool's 30 characters.
func decimalDiff(a, b string) float64 {
	an, ad := splitSign(a)
	bn, bd := splitSign(b)
	if ad == "" || bd == "" || an != bn || len(ad) > 30 || len(bd) > 30 {
		return math.NaN()
	}
	var mag float64
	negative := false
	if len(ad) <= 19 && len(bd) <= 19 {
		x, _ := strconv.ParseUint(ad, 10, 64)
		y, _ := strconv.ParseUint(bd, 10, 64)
		d := x - y
		if x < y {
			d, negative = y-x, true
		}
		if d < 1<<53 {
			mag = float64(d) // exact, as the digit accumulation would be
		} else {
			mag, _ = ParseFloatPrefix(strconv.FormatUint(d, 10))
		}
	} else {
		x, _ := new(big.Int).SetString(ad, 10)
		y, _ := new(big.Int).SetString(bd, 10)
		d := x.Sub(x, y)
		negative = d.Sign() < 0
		mag, _ = ParseFloatPrefix(d.Abs(d).String())
	}
	if negative != an {
		return -mag
	}
	return mag
}

// splitSign mimics rrd_diff's scan: skip non-digits noting a '-', then take digits.
func splitSign(s string) (neg bool, digits string) {
	i := 0
	for i < len(s) && !isDigit(s[i]) {
		if s[i] == '-' {
			neg = true
		}
		i++
	}
	j := i
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	return neg, s[i:j]
}
