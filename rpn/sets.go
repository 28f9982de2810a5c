package rpn

import (
	"math"
)

// rpnCmp is rrdtool 1.7.2's rpn_compare_double: unknowns first, then an
// infinity compares by its own sign whatever the other operand is. That is
// not a consistent order (1 sorts "below" -INF when -INF is the second
// operand), so results with infinities depend on the sort algorithm, which
// is why msort below reproduces glibc's.
func rpnCmp(x, y float64) int {
	xn, yn := isNaN(x), isNaN(y)
	switch {
	case xn && yn:
		return 0
	case xn:
		return -1
	case yn:
		return 1
	case math.IsInf(x, 1):
		return 1
	case math.IsInf(x, -1):
		return -1
	case math.IsInf(y, 1):
		return 1
	case math.IsInf(y, -1):
		return -1
	}
	d := x - y
	if d < 0 {
		return -1
	}
	if d > 0 {
		return 1
	}
	return 0
}

// vdefCmp is rrd_graph.c's vdef_percent_compar: like rpnCmp, but two
// unknowns or two equal finite values are never "equal".
func vdefCmp(a, b float64) int {
	switch {
	case isNaN(a):
		return -1
	case isNaN(b):
		return 1
	case math.IsInf(a, 1):
		return 1
	case math.IsInf(a, -1):
		return -1
	case math.IsInf(b, 1):
		return 1
	case math.IsInf(b, -1):
		return -1
	case a < b:
		return -1
	}
	return 1
}

// msort sorts a in place as glibc's qsort (msort_with_tmp, glibc ≤ 2.36)
// does: top-down merge sort, the first half being the smaller one, taking
// from the left run when cmp ≤ 0. tmp must have len(a) capacity.
func msort(a, tmp []float64, cmp func(x, y float64) int) {
	n := len(a)
	if n <= 1 {
		return
	}
	n1 := n / 2
	l, r := a[:n1], a[n1:]
	msort(l, tmp, cmp)
	msort(r, tmp, cmp)
	t := tmp[:0]
	i, j := 0, 0
	for i < len(l) && j < len(r) {
		if cmp(l[i], r[j]) <= 0 {
			t = append(t, l[i])
			i++
		} else {
			t = append(t, r[j])
			j++
		}
	}
	t = append(t, l[i:]...)
	// what is left of r is already in place
	copy(a, t)
}

// scratch returns two per-row buffers of at least n values.
func (m *machine) scratch(n int) ([]float64, []float64) {
	if cap(m.tmp) < n {
		m.tmp = make([]float64, n)
		m.tmp2 = make([]float64, n)
	}
	return m.tmp[:n], m.tmp2[:n]
}

// counted runs the operators whose operand count is taken from the stack.
func (m *machine) counted(in instr) error {
	if err := m.need(in, 1); err != nil {
		return err
	}
	if in.op == opRoll {
		return m.roll(in)
	}
	n, cc, err := m.count(in)
	if err != nil {
		m.push(cc)
		return err
	}
	m.put(cc)
	// Charged before the work: n operands per row (sorted: n·log n).
	work := n
	switch in.op {
	case opIndex, opRev:
		work = 0
	case opSort, opMedian, opPercent:
		work = sortCost(n)
	}
	if err := m.charge(in.tok, work*m.n); err != nil {
		return err
	}
	switch in.op {
	case opCopy:
		if err := m.need(in, n); err != nil {
			return err
		}
		if len(m.stack)+n > maxDepth {
			return m.p.errAt(in, "stack deeper than %d values", maxDepth)
		}
		base := len(m.stack) - n
		for k := range n {
			c := m.get()
			copy(c, m.stack[base+k])
			m.push(c)
		}
		return nil
	case opIndex:
		if n < 1 || n > len(m.stack) {
			return m.p.errAt(in, "index %d out of range 1..%d", n, len(m.stack))
		}
		c := m.get()
		copy(c, m.stack[len(m.stack)-n])
		m.push(c)
		return nil
	case opPercent:
		if err := m.need(in, n+1); err != nil {
			return err
		}
		return m.percent(in, n)
	}
	if err := m.need(in, n); err != nil {
		return err
	}
	set := m.stack[len(m.stack)-n:]
	switch in.op {
	case opRev:
		for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
			set[i], set[j] = set[j], set[i]
		}
		return nil
	case opSort:
		vals, tmp := m.scratch(n)
		for r := 0; r < m.n; r++ {
			for k := range n {
				vals[k] = set[k][r]
			}
			msort(vals, tmp, rpnCmp)
			for k := range n {
				set[k][r] = vals[k]
			}
		}
		return nil
	}
	// Reductions: n values → one, computed top first as rrdtool pops them.
	res := m.get()
	vals, tmp := m.scratch(n)
	for r := 0; r < m.n; r++ {
		for k := range n {
			vals[k] = set[k][r]
		}
		res[r] = reduce(in.op, vals, tmp)
	}
	for _, c := range set {
		m.put(c)
	}
	m.stack = append(m.stack[:len(m.stack)-n], res)
	return nil
}

// reduce computes AVG, SMIN, SMAX, MEDIAN or STDEV of vals (bottom first).
func reduce(op opcode, vals, tmp []float64) float64 {
	switch op {
	case opAvg:
		sum, cnt := 0.0, 0
		for k := len(vals) - 1; k >= 0; k-- {
			if v := vals[k]; !isNaN(v) {
				sum += v
				cnt++
			}
		}
		if cnt == 0 {
			return math.NaN()
		}
		return sum / float64(cnt)
	case opSMin, opSMax:
		res := math.NaN()
		for k := len(vals) - 1; k >= 0; k-- {
			v := vals[k]
			if isNaN(v) {
				continue
			}
			if isNaN(res) || (op == opSMin && v < res) || (op == opSMax && v > res) {
				res = v
			}
		}
		return res
	case opStdev:
		// Welford's update, top of the stack first (that order is visible
		// in the last digits).
		mean, m2, cnt := 0.0, 0.0, 0
		for k := len(vals) - 1; k >= 0; k-- {
			v := vals[k]
			if isNaN(v) {
				continue
			}
			cnt++
			d := v - mean
			mean += d / float64(cnt)
			m2 += d * (v - mean)
		}
		if cnt < 2 {
			return math.NaN()
		}
		return math.Sqrt(m2 / float64(cnt-1))
	case opMedian:
		return median(vals, tmp)
	}
	return math.NaN()
}

// median follows rrdtool: unknowns are moved out by swapping in values from
// the end (which changes the order the sort sees), the rest is sorted with
// rpnCmp; an even count averages the middle two. All unknown gives unknown
// (rrdtool reads outside the set there).
func median(vals, tmp []float64) float64 {
	final := len(vals)
	g, b := 0, len(vals)-1
	for g < b {
		if isNaN(vals[g]) {
			vals[g] = vals[b]
			b--
			final--
		} else {
			g++
		}
	}
	if final == 0 {
		return math.NaN()
	}
	if isNaN(vals[g]) {
		final--
	}
	if final == 0 {
		return math.NaN()
	}
	v := vals[:final]
	msort(v, tmp, rpnCmp)
	if final%2 == 1 {
		return v[final/2]
	}
	return 0.5 * (v[final/2] + v[final/2-1])
}

// percent is "p,n,PERCENT": the k-th smallest of the n values after
// rrdtool's sort, k = round(p·n/100). For k = 0 rrdtool reads the element
// below the set; we return the smallest as rrdgraph_rpn documents.
func (m *machine) percent(in instr, n int) error {
	pc := m.stack[len(m.stack)-1]
	set := m.stack[len(m.stack)-1-n : len(m.stack)-1]
	res := m.get()
	vals, tmp := m.scratch(n)
	for r := 0; r < m.n; r++ {
		p := pc[r]
		if isNaN(p) || p < 0 || p > 100 {
			m.put(res)
			return m.p.errAt(in, "percentile %v outside 0..100", p)
		}
		if n == 0 {
			res[r] = math.NaN()
			continue
		}
		for k := range n {
			vals[k] = set[k][r]
		}
		msort(vals, tmp, rpnCmp)
		k := int(math.Round(p * float64(n) / 100))
		k = min(max(k, 1), n)
		res[r] = vals[k-1]
	}
	m.put(pc)
	for _, c := range set {
		m.put(c)
	}
	m.stack = append(m.stack[:len(m.stack)-1-n], res)
	return nil
}

// roll is "n,m,ROLL". rrdtool 1.7.2 rotates the wrong memory window: for
// n ≤ 3 slot k (0 = deepest of the n) receives w[(n+m−1−k) mod n] with
// w = [top, n, m] as they were on the stack — reproduced here. For n > 3 it
// would read stale stack memory, so the documented rotation is done
// instead (a,b,c,d,3,1,ROLL → a,d,b,c).
func (m *machine) roll(in instr) error {
	if err := m.need(in, 2); err != nil {
		return err
	}
	mc := m.stack[len(m.stack)-1]
	nc := m.stack[len(m.stack)-2]
	n, err := countOf(nc[0])
	if err != nil {
		return m.p.errAt(in, "%v", err)
	}
	shift, err := rollShift(mc[0])
	if err != nil {
		return m.p.errAt(in, "%v", err)
	}
	for r := 1; r < m.n; r++ {
		k, err := countOf(nc[r])
		if err != nil {
			return m.p.errAt(in, "%v", err)
		}
		s, err := rollShift(mc[r])
		if err != nil {
			return m.p.errAt(in, "%v", err)
		}
		if k != n || s != shift {
			return errNonUniform
		}
	}
	if err := m.charge(in.tok, n*m.n); err != nil {
		return err
	}
	m.stack = m.stack[:len(m.stack)-2]
	if err := m.need(in, n); err != nil {
		m.stack = append(m.stack, nc, mc)
		return err
	}
	if n == 0 {
		m.put(nc)
		m.put(mc)
		return nil
	}
	set := m.stack[len(m.stack)-n:]
	if n > 3 {
		old := append([][]float64(nil), set...)
		for k := range n {
			set[k] = old[((k-shift)%n+n)%n]
		}
		m.put(nc)
		m.put(mc)
		return nil
	}
	top := m.get()
	copy(top, set[n-1])
	w := [3][]float64{top, nc, mc}
	for k := range n {
		src := w[((n+shift-1-k)%n+n)%n]
		copy(set[k], src)
	}
	m.put(top)
	m.put(nc)
	m.put(mc)
	return nil
}
