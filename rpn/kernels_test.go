package rpn

import (
	"math"
	"testing"
)

// The explicit loops of kernels.go must compute what binaryScalarFn (or plain
// IEEE arithmetic for + - * /) does, bit for bit, for every operator they
// cover (NaN, infinities, signed zero).
func TestKernelsMatchScalarFn(t *testing.T) {
	t.Parallel()
	vals := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), 1, -1, 2.5, -7, 1e308, -1e-300, 3}
	var a, b []float64
	for _, x := range vals {
		for _, y := range vals {
			a, b = append(a, x), append(b, y)
		}
	}
	same := func(x, y float64) bool { return x == y && math.Signbit(x) == math.Signbit(y) || x != x && y != y }
	covered := 0
	for op := opcode(0); op < 255; op++ {
		f := binaryScalarFn(op)
		switch op {
		case opAdd:
			f = func(x, y float64) float64 { return x + y }
		case opSub:
			f = func(x, y float64) float64 { return x - y }
		case opMul:
			f = func(x, y float64) float64 { return x * y }
		case opDiv:
			f = func(x, y float64) float64 { return x / y }
		}
		if k := columnKernel3(op); k != nil {
			covered++
			if f == nil {
				t.Fatalf("opcode %d has a column kernel but no scalar function", op)
			}
			dst := make([]float64, len(a))
			k(dst, a, b)
			for i := range a {
				if want := f(a[i], b[i]); !same(dst[i], want) {
					t.Errorf("opcode %d column kernel(%v, %v) = %v, want %v", op, a[i], b[i], dst[i], want)
				}
			}
		}
		if k := scalarKernel(op); k != nil {
			covered++
			if f == nil {
				t.Fatalf("opcode %d has a scalar kernel but no scalar function", op)
			}
			for _, y := range vals {
				col := append([]float64(nil), vals...)
				k(col, y)
				for i, x := range vals {
					if want := f(x, y); !same(col[i], want) {
						t.Errorf("opcode %d scalar kernel(%v, %v) = %v, want %v", op, x, y, col[i], want)
					}
				}
			}
		}
	}
	if covered < 8 {
		t.Fatalf("only %d kernels found", covered)
	}
}
