package computeds

import "math"

// rrdtool prints an unknown value "-nan" or "nan" by the sign of its NaN
// (glibc's printf), and the sign follows what x86-64 and glibc do to it:
// rrdtool's unknown (DNAN, 0.0/0.0) is negative, fabs makes it positive,
// arithmetic returns the left operand's NaN (the right one's when only it
// is one), libm functions return their NaN argument. rrdash's own unknown
// is Go's NaN, whose sign bit is clear: so a NaN counts as rrdtool's
// positive one only with exactly PosNaN's bits (what fabs makes of DNAN),
// and as negative otherwise (Go's NaN, the hardware's default NaN). These
// functions keep that distinction through an expression, so a COMPUTE row
// prints as rrdtool prints it (ABS of an unknown is "nan").

// PosNaN is the bits of rrdtool's positive NaN: fabs(DNAN).
const PosNaN = 0x7ff8000000000000

// IsPosNaN reports whether v is rrdtool's positive NaN.
func IsPosNaN(v float64) bool { return math.Float64bits(v) == PosNaN }

// cAbs is fabs: the NaN's sign cleared.
func cAbs(x float64) float64 {
	if x != x {
		return math.Float64frombits(PosNaN)
	}
	return math.Abs(x)
}

// keepNaN makes f return its NaN argument itself, as glibc's functions do.
func keepNaN(f func(float64) float64) func(float64) float64 {
	return func(x float64) float64 {
		if x != x {
			return x
		}
		return f(x)
	}
}

// leftNaN makes f propagate a NaN operand as x86-64's SSE does for
// rrdtool's s[n-1] op s[n]: the left one's when it is one, else the right
// one's.
func leftNaN(f func(a, b float64) float64) func(a, b float64) float64 {
	return func(a, b float64) float64 {
		switch {
		case a != a:
			return a
		case b != b:
			return b
		}
		return f(a, b)
	}
}

// cPow is glibc's pow for NaN operands: pow(x, 0) and pow(1, y) are 1; a
// NaN y gives x + y; a NaN x is returned as x·x, negated for an odd
// integer y when negative (so DNAN comes out positive, as rrdtool prints
// it).
func cPow(x, y float64) float64 {
	switch {
	case y == 0, x == 1:
		return 1
	case y != y:
		if x != x {
			return x
		}
		return y
	case x != x:
		if !IsPosNaN(x) && !math.IsInf(y, 0) && y == math.Trunc(y) && math.Mod(y, 2) != 0 {
			return math.Float64frombits(PosNaN)
		}
		return x
	}
	return math.Pow(x, y)
}
