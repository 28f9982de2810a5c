package store

// SeriesGrouper orders a group of updates by series for one ApplyAsync
// call, in time linear in the updates (the group commits of the
// rrdcached protocol and of pipe mode): each series' updates become
// contiguous, the series in the order of their first update, and each
// series' updates stay in the order given. It keeps its scratch space from
// call to call; it is not safe for concurrent use.
type SeriesGrouper struct {
	first  map[string]int32 // series → bucket, within one call
	counts []int            // updates per bucket, then each bucket's next slot
	bucket []int32          // the bucket of each update
	// GroupByKey's: key → bucket+1 (0: none yet in this call), and the
	// keys met in this call (to reset)
	byKey   []int32
	touched []int32
}

// Group returns ups grouped by series in dst (reused when large enough)
// and order, where order[j] is the index in ups of the j-th update of the
// result. When ups hold a single series they are returned as they are,
// with order the identity.
func (g *SeriesGrouper) Group(ups, dst []Update, order []int) ([]Update, []int) {
	n := len(ups)
	order = order[:0]
	if cap(order) < n {
		order = make([]int, 0, n)
	}
	if g.first == nil {
		g.first = map[string]int32{}
	}
	if cap(g.bucket) < n {
		g.bucket = make([]int32, n)
	}
	bucket := g.bucket[:n]
	counts := g.counts[:0]
	for i, u := range ups {
		// consecutive updates of one series are common: one string
		// compare instead of a map look-up
		if i > 0 && u.Series == ups[i-1].Series {
			bucket[i] = bucket[i-1]
			counts[bucket[i]]++
			continue
		}
		b, ok := g.first[u.Series]
		if !ok {
			b = int32(len(counts))
			g.first[u.Series] = b
			counts = append(counts, 0)
		}
		bucket[i] = b
		counts[b]++
	}
	clear(g.first)
	return g.place(ups, bucket, counts, dst, order)
}

// maxGroupKey bounds GroupByKey's keys: its scratch space has one int32
// per key up to the largest.
const maxGroupKey = 1 << 24

// GroupByKey is Group for a caller that knows a small number for each
// update's series (keys[i] for ups[i], 0 ≤ key < 2^24; equal keys for
// equal series, different keys for different series): no map, no string
// hashing. Its result is Group's for the same updates.
func (g *SeriesGrouper) GroupByKey(ups []Update, keys []int32, dst []Update, order []int) ([]Update, []int) {
	n := len(ups)
	order = order[:0]
	if cap(order) < n {
		order = make([]int, 0, n)
	}
	if cap(g.bucket) < n {
		g.bucket = make([]int32, n)
	}
	bucket := g.bucket[:n]
	counts := g.counts[:0]
	for i, k := range keys[:n] {
		if k < 0 || k >= maxGroupKey {
			panic("store: GroupByKey: key out of range")
		}
		if int(k) >= len(g.byKey) {
			g.byKey = append(g.byKey, make([]int32, int(k)+1-len(g.byKey))...)
		}
		b := g.byKey[k] - 1
		if b < 0 {
			b = int32(len(counts))
			g.byKey[k] = b + 1
			g.touched = append(g.touched, k)
			counts = append(counts, 0)
		}
		bucket[i] = b
		counts[b]++
	}
	for _, k := range g.touched {
		g.byKey[k] = 0
	}
	g.touched = g.touched[:0]
	return g.place(ups, bucket, counts, dst, order)
}

// place puts each update of ups at its bucket's next slot (counts: the
// updates per bucket).
func (g *SeriesGrouper) place(ups []Update, bucket []int32, counts []int, dst []Update, order []int) ([]Update, []int) {
	n := len(ups)
	g.counts = counts
	if len(counts) <= 1 {
		for i := range n {
			order = append(order, i)
		}
		return ups, order
	}
	// counts become each bucket's first slot
	next := 0
	for b, c := range counts {
		counts[b] = next
		next += c
	}
	if cap(dst) < n {
		dst = make([]Update, n)
	}
	dst = dst[:n]
	order = order[:n]
	for i, u := range ups {
		j := counts[bucket[i]]
		counts[bucket[i]]++
		dst[j] = u
		order[j] = i
	}
	return dst, order
}
