package graphite

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"maps"

	"rrdash/store"
	"rrdash/store/cluster"
	"rrdash/store/nametree"
)

// Aggregating where the series are held (cluster mode). sumSeries,
// averageSeries, minSeries and maxSeries of one wildcard path are
// decomposable: each shard's holder reads its leaves as /render does and
// answers per row the count of non-null values and their sum (sum and
// average), minimum or maximum; this node folds the shards' answers in
// shard order. One request per holder instead of one fetch per series. A
// sum is then added per shard first, so its last bits may differ from a
// single node's sum in name order (float addition is not associative);
// counts, minima and maxima are exact.

// HolderRunner is a Store whose series live on other nodes
// (cluster.RoutedStore): it runs a registered computation per shard where
// the shard is held.
type HolderRunner interface {
	OnHolders(fn string, names []string, arg []byte) ([]cluster.ShardAnswer, error)
}

// SpecsReader is a Store that reads many series' definitions at once
// (cluster.RoutedStore: one request per holder instead of one per
// series); names it does not know are left out.
type SpecsReader interface {
	Specs(names []string) (map[string]store.Spec, error)
}

// prefetchSpecs reads at once the definitions find needs (a wildcard over
// many series on a cluster node).
func (c *catalog) prefetchSpecs(ms []nametree.Match) error {
	sr, ok := c.st.(SpecsReader)
	if !ok {
		return nil
	}
	var want []string
	for _, m := range ms {
		if _, have := c.specs[m.Path]; m.Series && m.NDS != 1 && !have {
			want = append(want, m.Path)
		}
	}
	if len(want) < holderMin {
		return nil
	}
	specs, err := sr.Specs(want)
	if err != nil {
		return fmt.Errorf("definitions of %d series: %w", len(want), err)
	}
	maps.Copy(c.specs, specs)
	return nil
}

// HolderPartial is the name of the holder computation PartialFunc makes.
const HolderPartial = "graphite.partial"

// holderMin is the fewest leaves worth a holder call; below it the
// leaves are read one by one as on a single node.
const holderMin = 8

// partialArg is what every holder is asked: the leaves (data source
// indexes per series) and the request's range.
type partialArg struct {
	DS               map[string][]int
	From, Until, Now int64
	Fn               string // sum, average (sum and count), min or max
}

// partial is one shard's aggregate of its leaves over one time grid.
type partial struct {
	Start, End, Step int64
	Fn               string
	Val              []float64 // the sum, minimum or maximum; NaN where no value
	Count            []int32
	Leaves           int  // leaves with rows in the range
	Mixed            bool // the leaves' grids differ: aggregate centrally
}

// PartialFunc is the holder computation over st (the node's own store):
// register it as HolderPartial on the cluster's RoutedStore and
// PeerServer.
func PartialFunc(st Store) cluster.HolderFunc {
	return func(names []string, arg []byte) ([]byte, error) {
		var a partialArg
		if err := gob.NewDecoder(bytes.NewReader(arg)).Decode(&a); err != nil {
			return nil, fmt.Errorf("graphite partial: %w", err)
		}
		cat := newCatalog(st)
		p := partial{Fn: a.Fn}
		for _, name := range names {
			for _, ds := range a.DS[name] {
				s, err := cat.fetchLeaf(leaf{Path: name, Series: name, DS: ds}, a.From, a.Until, a.Now)
				if err != nil {
					return nil, err
				}
				if s != nil && !p.Mixed {
					p.add(s)
				}
			}
		}
		var b bytes.Buffer
		if err := gob.NewEncoder(&b).Encode(p); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
}

// add folds one series in (ADDNAN, MINNAN, MAXNAN: NaN only where every
// value is).
func (p *partial) add(s *Series) {
	if p.Leaves == 0 {
		n := len(s.Values)
		p.Start, p.End, p.Step = s.Start, s.End, s.Step
		p.Val, p.Count = make([]float64, n), make([]int32, n)
		for i := range n {
			p.Val[i] = nan
		}
	}
	if s.Start != p.Start || s.End != p.End || s.Step != p.Step || len(s.Values) != len(p.Val) {
		p.Mixed = true
		return
	}
	p.Leaves++
	p.fold(s.Values, nil)
}

// fold adds values (with their counts, nil: one each) row by row.
func (p *partial) fold(vals []float64, counts []int32) {
	acc, cnt := p.Val, p.Count
	for i, v := range vals {
		if isNone(v) {
			continue
		}
		if counts != nil {
			cnt[i] += counts[i]
		} else {
			cnt[i]++
		}
		a := acc[i]
		switch {
		case isNone(a):
			acc[i] = v
		case p.Fn == "min":
			if v < a {
				acc[i] = v
			}
		case p.Fn == "max":
			if v > a {
				acc[i] = v
			}
		default:
			acc[i] = a + v
		}
	}
}

// merge folds another shard's partial in.
func (p *partial) merge(q *partial) {
	switch {
	case q.Mixed:
		p.Mixed = true
		return
	case q.Leaves == 0:
		return
	case p.Leaves == 0:
		*p = *q
		return
	}
	if q.Start != p.Start || q.End != p.End || q.Step != p.Step || len(q.Val) != len(p.Val) || q.Fn != p.Fn {
		p.Mixed = true
		return
	}
	p.Leaves += q.Leaves
	p.fold(q.Val, q.Count)
}

// holderAggregates are the functions aggregated on holders: Graphite
// name → aggregate() name.
var holderAggregates = map[string]string{"sumSeries": "sum", "sum": "sum", "averageSeries": "average", "avg": "average",
	"minSeries": "min", "maxSeries": "max"}

// onHolders evaluates fn(path) on the holders when it can: ok false means
// evaluate it as usual (not a cluster store, too few leaves, leaves on
// different time grids).
func (ec *evalContext) onHolders(e *Expr) (out []*Series, ok bool, err error) {
	fn, agg := holderAggregates[e.Func]
	hr, cl := ec.cat.st.(HolderRunner)
	if !agg || !cl || len(e.Args) != 1 || len(e.Kwargs) > 0 || e.Args[0].Kind != KindPath {
		return nil, false, nil
	}
	path := e.Args[0].Path
	nodes, found := ec.found[path]
	if !found {
		if nodes, err = ec.cat.find(path); err != nil {
			return nil, false, errAt(e.Args[0], "%v", err)
		}
		ec.found[path] = nodes
	}
	a := partialArg{DS: map[string][]int{}, From: ec.from, Until: ec.until, Now: ec.now, Fn: fn}
	var names []string
	leaves := 0
	for _, n := range nodes {
		if !n.IsLeaf {
			continue
		}
		if _, seen := a.DS[n.leaf.Series]; !seen {
			names = append(names, n.leaf.Series)
		}
		a.DS[n.leaf.Series] = append(a.DS[n.leaf.Series], n.leaf.DS)
		leaves++
	}
	if leaves < holderMin {
		return nil, false, nil
	}
	if ec.reads+leaves > ec.budget {
		return nil, false, errAt(e, "this request reads more than %d series", ec.budget)
	}
	var arg bytes.Buffer
	if err := gob.NewEncoder(&arg).Encode(a); err != nil {
		return nil, false, errAt(e, "%v", err)
	}
	answers, err := hr.OnHolders(HolderPartial, names, arg.Bytes())
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", e.Func, err) // cluster.ErrUnavailable: 503
	}
	var total partial
	for _, ans := range answers {
		var p partial
		if err := gob.NewDecoder(bytes.NewReader(ans.Out)).Decode(&p); err != nil {
			return nil, false, errAt(e, "shard %s: %v", ans.Shard, err)
		}
		total.merge(&p)
	}
	if total.Mixed || total.Leaves < 2 {
		return nil, false, nil // as aggregate() does it: with consolidation, or one leaf's tags
	}
	ec.reads += leaves
	vals := total.Val
	if fn == "average" {
		for i, c := range total.Count {
			if c > 0 {
				vals[i] /= float64(c)
			}
		}
	}
	if x := ec.xff; x > 0 { // as aggregate(): a row needs nonNull/len ≥ xff
		for i, c := range total.Count {
			if c == 0 || float64(c)/float64(total.Leaves) < x {
				vals[i] = nan
			}
		}
	}
	sname := fmt.Sprintf("%sSeries(%s)", fn, path)
	s := newSeries(sname, total.Start, total.End, total.Step, vals, ec.xff, map[string]string{"name": sname, "aggregatedBy": fn})
	return []*Series{s}, true, nil
}
