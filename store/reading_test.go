package store

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// Bits measured with rrdtool 1.7.2 (GAUGE, 1 s step, read from the .rrd file).
func TestParseReadingMatchesRRDtool(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		bits uint64
	}{
		{"1.5", 0x3ff8000000000000}, {"inf", 0x7ff0000000000000}, {"-inf", 0xfff0000000000000},
		{"Inf", 0x7ff0000000000000}, {"infinity", 0x7ff0000000000000}, {"1e400", 0x7ff0000000000000},
		{"1e-400", 0}, {".5", 0x3fe0000000000000}, {"5.", 0x4014000000000000}, {"1.234", 0x3ff3be76c8b43958},
		{"0.3", 0x3fd3333333333333}, {"123456789.123456789", 0x419d6f34547e6b76}, {"1e22", 0x4480f0cf064dd592},
		{"1e23", 0x44b52d02c7e14af6}, {"1.7976931348623157e308", 0x7ff0000000000000}, {"0.1", 0x3fb999999999999a},
		{"2.675", 0x4005666666666666}, {"9007199254740993", 0x4340000000000000}, {"1.0000000000000002", 0x3ff0000000000001},
		{"1e-5", 0x3ee4f8b588e368f1}, {"3.14159265358979", 0x400921fb54442d11}, {"0.000123456", 0x3f202e7ef70994dd},
		{"12345.678e-3", 0x4028b0fcb4f1e4b4}, {"5e+3", 0x40b3880000000000}, {"4.9e-324", 1},
		{"2.2250738585072014e-308", 0xffffffffffffc}, {"1E5", 0x40f86a0000000000},
	}
	for _, c := range cases {
		v, err := parseReading(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if math.Float64bits(v) != c.bits {
			t.Errorf("%q = %x, rrdtool %x", c.in, math.Float64bits(v), c.bits)
		}
	}
	for _, bad := range []string{"-", "abc", "0x10", "1.2.3", "", "5 ", "1e2000", "1e-2000", "1e1025", "1e-1022"} {
		if _, err := parseReading(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if v, err := parseReading("nan"); err != nil || !math.IsNaN(v) {
		t.Errorf("nan: %v %v", v, err)
	}
}

func TestDecimalDiff(t *testing.T) {
	t.Parallel()
	cases := []struct {
		a, b string
		want float64
	}{
		{"10", "3", 7}, {"3", "10", -7}, {"-9", "0", math.NaN()}, {"-10", "-15", 5},
		{"18446744073709550900", "564", 18446744073709551616}, // rrd_strtod rounding, measured
		{"", "1", math.NaN()}, {"0000012", "2", 10},
	}
	for _, c := range cases {
		got := decimalDiff(c.a, c.b)
		if !(got == c.want || math.IsNaN(got) && math.IsNaN(c.want)) {
			t.Errorf("%s-%s = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

// TestParseFloatPrefixDigits: the fast path for plain digit strings
// gives what the general conversion gives, value bits and length, for
// every string of up to 4 digits, digits with leading zeros, and random
// ones up to 15 digits (and 16, past the fast path), and leaves anything
// else to it.
func TestParseFloatPrefixDigits(t *testing.T) {
	check := func(s string) {
		t.Helper()
		v, n := ParseFloatPrefix(s)
		w, m := parseFloatPrefix(s)
		if math.Float64bits(v) != math.Float64bits(w) || n != m {
			t.Fatalf("%q: %v (%d bytes), general %v (%d bytes)", s, v, n, w, m)
		}
	}
	for n := range 10000 {
		check(strconv.Itoa(n))
	}
	for _, s := range []string{"0", "00", "007", "000000000000000", "999999999999999", "9999999999999999", "123456789012345", "1234567890123456",
		"12a", "1.5", "1e3", "", " 1", "1 ", "+1", "-1", "9007199254740993", "18446744073709551616"} {
		check(s)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		b := make([]byte, 1+r.IntN(16))
		for i := range b {
			b[i] = byte('0' + r.IntN(10))
		}
		check(string(b))
	}
}
