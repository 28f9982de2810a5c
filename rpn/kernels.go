package rpn

// Explicit column loops for the common binary operators: no function call
// per value. Their semantics are those of binaryScalarFn in arith.go.

import "math"

var nan = math.NaN()

// columnKernel3 returns an explicit loop dst[i] = a[i] op b[i] for the
// common binary operators (no call per value), or nil.
func columnKernel3(op opcode) func(dst, a, b []float64) {
	switch op {
	case opAdd:
		return func(dst, a, b []float64) {
			a = a[:len(dst)]
			b = b[:len(dst)]
			for i, x := range a {
				y := b[i]
				x = x + y
				dst[i] = x
			}
		}
	case opSub:
		return func(dst, a, b []float64) {
			a = a[:len(dst)]
			b = b[:len(dst)]
			for i, x := range a {
				y := b[i]
				x = x - y
				dst[i] = x
			}
		}
	case opMul:
		return func(dst, a, b []float64) {
			a = a[:len(dst)]
			b = b[:len(dst)]
			for i, x := range a {
				y := b[i]
				x = x * y
				dst[i] = x
			}
		}
	case opDiv:
		return func(dst, a, b []float64) {
			a = a[:len(dst)]
			b = b[:len(dst)]
			for i, x := range a {
				y := b[i]
				x = x / y
				dst[i] = x
			}
		}
	case opAddNaN:
		return func(dst, a, b []float64) {
			a = a[:len(dst)]
			b = b[:len(dst)]
			for i, x := range a {
				y := b[i]
				if x != x {
					x = y
				} else if y == y {
					x += y
				}
				dst[i] = x
			}
		}
	case opMin:
		return func(dst, a, b []float64) {
			a = a[:len(dst)]
			b = b[:len(dst)]
			for i, x := range a {
				y := b[i]
				if x == x && (y != y || x > y) {
					x = y
				}
				dst[i] = x
			}
		}
	case opMax:
		return func(dst, a, b []float64) {
			a = a[:len(dst)]
			b = b[:len(dst)]
			for i, x := range a {
				y := b[i]
				if x == x && (y != y || x < y) {
					x = y
				}
				dst[i] = x
			}
		}
	case opMinNaN:
		return func(dst, a, b []float64) {
			a = a[:len(dst)]
			b = b[:len(dst)]
			for i, x := range a {
				y := b[i]
				if x != x || (y == y && x > y) {
					x = y
				}
				dst[i] = x
			}
		}
	case opMaxNaN:
		return func(dst, a, b []float64) {
			a = a[:len(dst)]
			b = b[:len(dst)]
			for i, x := range a {
				y := b[i]
				if x != x || (y == y && x < y) {
					x = y
				}
				dst[i] = x
			}
		}
	case opLT:
		return func(dst, a, b []float64) {
			a = a[:len(dst)]
			b = b[:len(dst)]
			for i, x := range a {
				y := b[i]
				if x != x || y != y {
					x = nan
				} else if x < y {
					x = 1
				} else {
					x = 0
				}
				dst[i] = x
			}
		}
	case opLE:
		return func(dst, a, b []float64) {
			a = a[:len(dst)]
			b = b[:len(dst)]
			for i, x := range a {
				y := b[i]
				if x != x || y != y {
					x = nan
				} else if x <= y {
					x = 1
				} else {
					x = 0
				}
				dst[i] = x
			}
		}
	case opGT:
		return func(dst, a, b []float64) {
			a = a[:len(dst)]
			b = b[:len(dst)]
			for i, x := range a {
				y := b[i]
				if x != x || y != y {
					x = nan
				} else if x > y {
					x = 1
				} else {
					x = 0
				}
				dst[i] = x
			}
		}
	case opGE:
		return func(dst, a, b []float64) {
			a = a[:len(dst)]
			b = b[:len(dst)]
			for i, x := range a {
				y := b[i]
				if x != x || y != y {
					x = nan
				} else if x >= y {
					x = 1
				} else {
					x = 0
				}
				dst[i] = x
			}
		}
	case opEQ:
		return func(dst, a, b []float64) {
			a = a[:len(dst)]
			b = b[:len(dst)]
			for i, x := range a {
				y := b[i]
				if x != x || y != y {
					x = nan
				} else if x == y {
					x = 1
				} else {
					x = 0
				}
				dst[i] = x
			}
		}
	case opNE:
		return func(dst, a, b []float64) {
			a = a[:len(dst)]
			b = b[:len(dst)]
			for i, x := range a {
				y := b[i]
				if x != x || y != y {
					x = nan
				} else if x != y {
					x = 1
				} else {
					x = 0
				}
				dst[i] = x
			}
		}
	}
	return nil
}

// scalarKernel is columnKernel with a constant second operand.
func scalarKernel(op opcode) func(a []float64, y float64) {
	switch op {
	case opAdd:
		return func(a []float64, y float64) {
			for i, x := range a {
				x = x + y
				a[i] = x
			}
		}
	case opSub:
		return func(a []float64, y float64) {
			for i, x := range a {
				x = x - y
				a[i] = x
			}
		}
	case opMul:
		return func(a []float64, y float64) {
			for i, x := range a {
				x = x * y
				a[i] = x
			}
		}
	case opDiv:
		return func(a []float64, y float64) {
			for i, x := range a {
				x = x / y
				a[i] = x
			}
		}
	case opAddNaN:
		return func(a []float64, y float64) {
			for i, x := range a {
				if x != x {
					x = y
				} else if y == y {
					x += y
				}
				a[i] = x
			}
		}
	case opMin:
		return func(a []float64, y float64) {
			for i, x := range a {
				if x == x && (y != y || x > y) {
					x = y
				}
				a[i] = x
			}
		}
	case opMax:
		return func(a []float64, y float64) {
			for i, x := range a {
				if x == x && (y != y || x < y) {
					x = y
				}
				a[i] = x
			}
		}
	case opMinNaN:
		return func(a []float64, y float64) {
			for i, x := range a {
				if x != x || (y == y && x > y) {
					x = y
				}
				a[i] = x
			}
		}
	case opMaxNaN:
		return func(a []float64, y float64) {
			for i, x := range a {
				if x != x || (y == y && x < y) {
					x = y
				}
				a[i] = x
			}
		}
	case opLT:
		return func(a []float64, y float64) {
			for i, x := range a {
				if x != x || y != y {
					x = nan
				} else if x < y {
					x = 1
				} else {
					x = 0
				}
				a[i] = x
			}
		}
	case opLE:
		return func(a []float64, y float64) {
			for i, x := range a {
				if x != x || y != y {
					x = nan
				} else if x <= y {
					x = 1
				} else {
					x = 0
				}
				a[i] = x
			}
		}
	case opGT:
		return func(a []float64, y float64) {
			for i, x := range a {
				if x != x || y != y {
					x = nan
				} else if x > y {
					x = 1
				} else {
					x = 0
				}
				a[i] = x
			}
		}
	case opGE:
		return func(a []float64, y float64) {
			for i, x := range a {
				if x != x || y != y {
					x = nan
				} else if x >= y {
					x = 1
				} else {
					x = 0
				}
				a[i] = x
			}
		}
	case opEQ:
		return func(a []float64, y float64) {
			for i, x := range a {
				if x != x || y != y {
					x = nan
				} else if x == y {
					x = 1
				} else {
					x = 0
				}
				a[i] = x
			}
		}
	case opNE:
		return func(a []float64, y float64) {
			for i, x := range a {
				if x != x || y != y {
					x = nan
				} else if x != y {
					x = 1
				} else {
					x = 0
				}
				a[i] = x
			}
		}
	}
	return nil
}
