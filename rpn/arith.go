package rpn

import "math"

// rrdtool's truncated conversion constants (rrd_rpncalc.c).
const (
	deg2rad = 0.0174532952
	rad2deg = 57.29577951
)

// binaryOp returns the column kernel of a two-operand operator: a[i] = a[i] op b[i].
func binaryOp(op opcode) func(a, b []float64) {
	if k := columnKernel3(op); k != nil {
		// In place: the kernels read a[i] before writing dst[i].
		return func(a, b []float64) { k(a, a, b) }
	}
	if f := binaryScalarFn(op); f != nil {
		return func(a, b []float64) {
			b = b[:len(a)]
			for i := range a {
				a[i] = f(a[i], b[i])
			}
		}
	}
	return nil
}

// scalarOp returns the kernel of a binary operator whose second operand is
// a constant.
func scalarOp(op opcode) func(a []float64, v float64) {
	if k := scalarKernel(op); k != nil {
		return k
	}
	if f := binaryScalarFn(op); f != nil {
		return func(a []float64, v float64) {
			for i := range a {
				a[i] = f(a[i], v)
			}
		}
	}
	return nil
}

func isNaN(v float64) bool { return v != v }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// binaryScalarFn is the per-value definition of the binary operators that
// are not plain IEEE arithmetic.
func binaryScalarFn(op opcode) func(x, y float64) float64 {
	switch op {
	case opMod:
		return math.Mod // C fmod: the sign of the dividend
	case opPow:
		return math.Pow
	case opAtan2:
		return math.Atan2 // y,x,ATAN2
	case opAddNaN:
		return func(x, y float64) float64 {
			if isNaN(x) {
				return y
			}
			if isNaN(y) {
				return x
			}
			return x + y
		}
	case opLT:
		return func(x, y float64) float64 {
			if isNaN(x) || isNaN(y) {
				return math.NaN()
			}
			return b2f(x < y)
		}
	case opLE:
		return func(x, y float64) float64 {
			if isNaN(x) || isNaN(y) {
				return math.NaN()
			}
			return b2f(x <= y)
		}
	case opGT:
		return func(x, y float64) float64 {
			if isNaN(x) || isNaN(y) {
				return math.NaN()
			}
			return b2f(x > y)
		}
	case opGE:
		return func(x, y float64) float64 {
			if isNaN(x) || isNaN(y) {
				return math.NaN()
			}
			return b2f(x >= y)
		}
	case opEQ:
		return func(x, y float64) float64 {
			if isNaN(x) || isNaN(y) {
				return math.NaN()
			}
			return b2f(x == y)
		}
	case opNE:
		return func(x, y float64) float64 {
			if isNaN(x) || isNaN(y) {
				return math.NaN()
			}
			return b2f(x != y)
		}
	case opMin:
		return func(x, y float64) float64 {
			if isNaN(x) {
				return x
			}
			if isNaN(y) || x > y {
				return y
			}
			return x
		}
	case opMax:
		return func(x, y float64) float64 {
			if isNaN(x) {
				return x
			}
			if isNaN(y) || x < y {
				return y
			}
			return x
		}
	case opMinNaN:
		return func(x, y float64) float64 {
			if isNaN(x) {
				return y
			}
			if !isNaN(y) && x > y {
				return y
			}
			return x
		}
	case opMaxNaN:
		return func(x, y float64) float64 {
			if isNaN(x) {
				return y
			}
			if !isNaN(y) && x < y {
				return y
			}
			return x
		}
	}
	return nil
}

// unaryOp returns the in-place column kernel of a one-operand operator.
func unaryOp(op opcode) func(a []float64) {
	var f func(float64) float64
	switch op {
	case opSin:
		f = math.Sin
	case opCos:
		f = math.Cos
	case opLog:
		f = math.Log
	case opExp:
		f = math.Exp
	case opSqrt:
		f = math.Sqrt
	case opAtan:
		f = math.Atan
	case opFloor:
		f = math.Floor
	case opCeil:
		f = math.Ceil
	case opAbs:
		f = math.Abs
	case opRound:
		f = math.Round // C round(): halves away from zero
	case opDeg2Rad:
		return func(a []float64) {
			for i := range a {
				a[i] *= deg2rad
			}
		}
	case opRad2Deg:
		return func(a []float64) {
			for i := range a {
				a[i] *= rad2deg
			}
		}
	case opUN:
		return func(a []float64) {
			for i, v := range a {
				a[i] = b2f(isNaN(v))
			}
		}
	case opIsInf:
		return func(a []float64) {
			for i, v := range a {
				a[i] = b2f(math.IsInf(v, 0))
			}
		}
	default:
		return nil
	}
	return func(a []float64) {
		for i, v := range a {
			a[i] = f(v)
		}
	}
}

// scalar2 is the per-value definition of every binary operator.
func scalar2(op opcode) func(x, y float64) float64 {
	switch op {
	case opAdd:
		return func(x, y float64) float64 { return x + y }
	case opSub:
		return func(x, y float64) float64 { return x - y }
	case opMul:
		return func(x, y float64) float64 { return x * y }
	case opDiv:
		return func(x, y float64) float64 { return x / y }
	}
	return binaryScalarFn(op)
}
