package rpn

// ColumnOp returns the in-place column kernel of a binary RPN operator
// (a[i] = a[i] op b[i], with rrdtool's NaN rules), or nil when word is not
// a binary arithmetic operator. Other evaluators (ui/graphite) compile
// their series arithmetic onto the same kernels.
func ColumnOp(word string) func(a, b []float64) {
	op, ok := opNames[word]
	if !ok {
		return nil
	}
	return binaryOp(op)
}

// ScalarOp returns the in-place kernel of a binary RPN operator whose
// second operand is a constant (a[i] = a[i] op v), or nil.
func ScalarOp(word string) func(a []float64, v float64) {
	op, ok := opNames[word]
	if !ok {
		return nil
	}
	return scalarOp(op)
}

// UnaryOp returns the in-place kernel of a one-operand RPN operator
// (ABS, SQRT, LOG, …), or nil.
func UnaryOp(word string) func(a []float64) {
	op, ok := opNames[word]
	if !ok {
		return nil
	}
	return unaryOp(op)
}
