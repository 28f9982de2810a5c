package rpn

import (
	"math"
	"strconv"
	"strings"
)

// formatE10 formats v like rrdtool's "%0.10e", which goes through its own
// rrd_snprintf (a portable snprintf, see formatE10Slow): a negative zero
// prints without its sign, and a value within a hair of a rounding tie may
// round the other way than a correctly rounded printf would.
func formatE10(v float64) string {
	var b [24]byte
	return string(appendE10(b[:0], v))
}

// appendE10 appends formatE10(v) for a finite v. It rounds 18 correctly
// rounded significant digits to 11, which is exact unless digits 12–14 are
// 499 or 500; those few values, and extreme exponents, take the slow path.
func appendE10(b []byte, v float64) []byte {
	if v == 0 {
		return append(b, "0.0000000000e+00"...)
	}
	a := math.Abs(v)
	if !(a > 1e-25 && a < 1e25) {
		return append(b, formatE10Slow(v)...)
	}
	var d [32]byte
	digits := strconv.AppendFloat(d[:0], a, 'e', 17, 64) // d.ddddddddddddddddde±XX
	tail := digits[12:15]
	if (tail[0] == '4' && tail[1] == '9' && tail[2] == '9') || (tail[0] == '5' && tail[1] == '0' && tail[2] == '0') {
		return append(b, formatE10Slow(v)...)
	}
	exp := 0
	esign := digits[20]
	for _, c := range digits[21:] {
		exp = exp*10 + int(c-'0')
	}
	if esign == '-' {
		exp = -exp
	}
	var m [11]byte // mantissa digits
	m[0] = digits[0]
	copy(m[1:], digits[2:12])
	if digits[12] >= '5' {
		i := 10
		for ; i >= 0 && m[i] == '9'; i-- {
			m[i] = '0'
		}
		if i < 0 { // 9.99…→10: one integer digit and a larger exponent
			m[0] = '1'
			exp++
		} else {
			m[i]++
		}
	}
	if v < 0 {
		b = append(b, '-')
	}
	b = append(b, m[0], '.')
	b = append(b, m[1:]...)
	b = append(b, 'e')
	if exp < 0 {
		b = append(b, '-')
		exp = -exp
	} else {
		b = append(b, '+')
	}
	if exp < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(exp), 10)
}

// formatE10Slow follows rrd_snprintf's fmtflt for "%.10e" step by step.
// Debian's build has no HAVE_LONG_DOUBLE, so its LDOUBLE is a double and
// every step below rounds to float64 (explicit conversions keep Go from
// fusing multiply-adds).
func formatE10Slow(v float64) string {
	sign := ""
	if v < 0 {
		sign = "-"
	}
	uf := math.Abs(v)
	// getexponent: repeated ×10 or ÷10.
	exp := 0
	tmp := uf
	for tmp < 1 && tmp > 0 {
		if exp--; exp < -307 { // DBL_MIN_10_EXP
			break
		}
		tmp = float64(tmp * 10)
	}
	for tmp >= 10 {
		if exp++; exp > 308 { // DBL_MAX_10_EXP
			break
		}
		tmp = float64(tmp / 10)
	}
	// mypow10 the same way, then scale to one integer digit.
	p := 1.0
	for e := exp; e > 0; e-- {
		p = float64(p * 10)
	}
	for e := exp; e < 0; e++ {
		p = float64(p / 10)
	}
	uf = float64(uf / p)
	ip := uint64(uf) // truncates
	const mask = 10_000_000_000
	x := float64(mask * float64(uf-float64(ip)))
	fp := uint64(x)
	if float64(x-float64(fp)) >= 0.5 {
		fp++
	}
	if fp >= mask {
		ip++
		fp = 0
		if ip == 10 {
			ip = 1
			exp++
		}
	}
	esign := "+"
	if exp < 0 {
		esign = "-"
		exp = -exp
	}
	e := strconv.Itoa(exp)
	if len(e) < 2 {
		e = "0" + e
	}
	f := strconv.FormatUint(fp, 10)
	return sign + strconv.FormatUint(ip, 10) + "." + strings.Repeat("0", 10-len(f)) + f + "e" + esign + e
}
