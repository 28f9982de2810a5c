package rpn

import (
	"math"
	"testing"
)

func TestExportedKernels(t *testing.T) {
	t.Parallel()
	n := math.NaN()
	a := []float64{1, n, 3, n}
	ColumnOp("ADDNAN")(a, []float64{10, 20, n, n})
	want := []float64{11, 20, 3, n}
	for i := range a {
		if a[i] != want[i] && !(math.IsNaN(a[i]) && math.IsNaN(want[i])) {
			t.Errorf("ADDNAN row %d = %v, want %v", i, a[i], want[i])
		}
	}
	b := []float64{2, -3}
	ScalarOp("*")(b, 1.5)
	UnaryOp("ABS")(b)
	if b[0] != 3 || b[1] != 4.5 {
		t.Errorf("* then ABS = %v", b)
	}
	if ColumnOp("NOPE") != nil || ScalarOp("DUP") != nil || UnaryOp("+") != nil {
		t.Error("a kernel for a non-operator")
	}
}
