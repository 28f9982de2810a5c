package graphite

import (
	"fmt"
	"sort"
	"strings"

	"rrdash/store"
	"rrdash/store/nametree"
)

// Store is what the Graphite API reads; *store.DB satisfies it.
type Store interface {
	List(glob string) ([]string, error)
	Spec(name string) (store.Spec, error)
	LastUpdate(name string) (int64, error)
	Fetch(name string, req store.FetchRequest) (*store.FetchResult, error)
}

// How series map to Graphite paths: a series with one data source is the
// path of its name; a series with several is a branch whose leaves are its
// data sources, "name.ds" (for a tagged name "p;k=v": "p.ds;k=v").
// Tagged series are not listed by find (as graphite-web keeps them out of
// the tree); a target names them exactly or through seriesByTag.

// leaf is one Graphite path and where its data is.
type leaf struct {
	Path   string // Graphite path
	Series string // rrdash series name
	DS     int    // data source index
}

// catalog lists names once per request.
type catalog struct {
	st    Store
	names []string
	specs map[string]store.Spec
	tree  *nametree.Tree // the tree of names when st keeps none
}

func newCatalog(st Store) *catalog {
	return &catalog{st: st, specs: map[string]store.Spec{}}
}

func (c *catalog) all() ([]string, error) {
	if c.names == nil {
		n, err := c.st.List("")
		if err != nil {
			return nil, fmt.Errorf("listing series: %w", err)
		}
		if n == nil {
			n = []string{}
		}
		c.names = n
	}
	return c.names, nil
}

func (c *catalog) spec(name string) (store.Spec, error) {
	if s, ok := c.specs[name]; ok {
		return s, nil
	}
	s, err := c.st.Spec(name)
	if err != nil {
		return store.Spec{}, fmt.Errorf("series %q: %w", name, err)
	}
	c.specs[name] = s
	return s, nil
}

// node is one find result.
type node struct {
	Path   string
	Name   string // the last path element
	IsLeaf bool
	leaf   leaf
}

// NodeIndex is the tree of series names a Store may keep
// (*store.DB does: store/nametree, maintained on create, delete and
// rename). Without it a request builds the same tree from List.
type NodeIndex interface {
	FindNodes(expr string, opt nametree.FindOptions) ([]nametree.Match, error)
	AllNodes() ([]nametree.Match, error)
}

// listIndex is a request's tree for a Store without a NodeIndex.
type listIndex struct{ t *nametree.Tree }

func (l listIndex) FindNodes(expr string, opt nametree.FindOptions) ([]nametree.Match, error) {
	p, err := nametree.Compile(expr)
	if err != nil {
		return nil, err
	}
	return l.t.Find(p, opt), nil
}

func (l listIndex) AllNodes() ([]nametree.Match, error) { return l.t.All(), nil }

func (c *catalog) nodeIndex() (NodeIndex, error) {
	if ix, ok := c.st.(NodeIndex); ok {
		return ix, nil
	}
	if c.tree == nil {
		names, err := c.all()
		if err != nil {
			return nil, err
		}
		c.tree = nametree.Build(names)
	}
	return listIndex{c.tree}, nil
}

// find matches a path expression against the tree of series names, as
// graphite-web's standard finder walks directories: branch and leaf
// nodes at the pattern's depth. A tagged expression (with ';') is an
// exact lookup.
func (c *catalog) find(expr string) ([]node, error) {
	if strings.Contains(expr, ";") {
		return c.findTagged(expr)
	}
	p, err := nametree.Compile(expr)
	if err != nil {
		return nil, err
	}
	ix, err := c.nodeIndex()
	if err != nil {
		return nil, err
	}
	ms, err := ix.FindNodes(expr, nametree.FindOptions{SkipTagged: true, Parents: true})
	if err != nil {
		return nil, fmt.Errorf("finding %q: %w", expr, err)
	}
	if err := c.prefetchSpecs(ms); err != nil {
		return nil, err
	}
	k := p.Len()
	out := make([]node, 0, len(ms))
	seen := make(map[string]bool, len(ms)) // a real series a.b.ds hides data source ds of a.b
	add := func(n node) {
		key := n.Path
		if n.IsLeaf {
			key += "\x00leaf"
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, n)
		}
	}
	for _, m := range ms {
		name := m.Path[strings.LastIndexByte(m.Path, '.')+1:]
		nds := m.NDS
		var sp store.Spec
		if m.Series && nds != 1 {
			if sp, err = c.spec(m.Path); err != nil {
				return nil, err
			}
			nds = len(sp.DS)
		}
		switch {
		case m.Parent:
			// a multi-DS series: its data sources are the leaves
			if nds < 2 {
				continue
			}
			for d, ds := range sp.DS {
				if p.MatchNode(k-1, ds.Name) {
					path := m.Path + "." + ds.Name
					add(node{Path: path, Name: ds.Name, IsLeaf: true, leaf: leaf{Path: path, Series: m.Path, DS: d}})
				}
			}
		case m.Branch || m.Series && nds != 1:
			add(node{Path: m.Path, Name: name})
			if m.Series && nds == 1 {
				add(node{Path: m.Path, Name: name, IsLeaf: true, leaf: leaf{Path: m.Path, Series: m.Path}})
			}
		default:
			add(node{Path: m.Path, Name: name, IsLeaf: true, leaf: leaf{Path: m.Path, Series: m.Path}})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// findTagged resolves an exact tagged path "p;k=v" (or "p.ds;k=v").
func (c *catalog) findTagged(expr string) ([]node, error) {
	names, err := c.all()
	if err != nil {
		return nil, err
	}
	i := sort.SearchStrings(names, expr)
	if i < len(names) && names[i] == expr {
		sp, err := c.spec(expr)
		if err != nil {
			return nil, err
		}
		if len(sp.DS) == 1 {
			return []node{{Path: expr, Name: expr, IsLeaf: true, leaf: leaf{Path: expr, Series: expr}}}, nil
		}
		return nil, nil
	}
	path, tags, _ := strings.Cut(expr, ";")
	j := strings.LastIndexByte(path, '.')
	if j < 0 {
		return nil, nil
	}
	series := path[:j] + ";" + tags
	i = sort.SearchStrings(names, series)
	if i >= len(names) || names[i] != series {
		return nil, nil
	}
	sp, err := c.spec(series)
	if err != nil {
		return nil, err
	}
	for d, ds := range sp.DS {
		if ds.Name == path[j+1:] && len(sp.DS) > 1 {
			return []node{{Path: expr, Name: expr, IsLeaf: true, leaf: leaf{Path: expr, Series: series, DS: d}}}, nil
		}
	}
	return nil, nil
}

// archive is one resolution a series offers: the archive graphite-web
// would read (per step, the AVERAGE archive, else the first).
type archive struct {
	rra       int
	cf        store.CF
	step      int64
	retention int64
}

// archives lists a series' resolutions finest first, as whisper's.
func archives(sp store.Spec) []archive {
	by := map[int64]archive{}
	for i, r := range sp.RRA {
		step := r.Steps * sp.Step
		a, ok := by[step]
		if !ok || a.cf != store.Average && r.CF == store.Average {
			by[step] = archive{rra: i, cf: r.CF, step: step, retention: step * r.Rows}
		}
	}
	out := make([]archive, 0, len(by))
	for _, a := range by {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].step < out[j].step })
	return out
}

// fetchLeaf reads a leaf as whisper's fetch does: from/until clamped to
// the retention before now; the finest archive whose retention covers
// now-from; slots from the one after from to the one after until.
//
// Timestamps: a Graphite point at T stands for the slot [T, T+step); an
// rrdtool row ending at E holds (E-step, E]. So the value at slot T is
// the row ending at T+step, for every archive: a coarse row then
// aggregates exactly the fine slots whisper's would. A nil result means
// no data (from after now, or until before the oldest point), which
// graphite-web leaves out of the answer.
func (c *catalog) fetchLeaf(l leaf, from, until, now int64) (*Series, error) {
	sp, err := c.spec(l.Series)
	if err != nil {
		return nil, err
	}
	arcs := archives(sp)
	if len(arcs) == 0 {
		return nil, fmt.Errorf("series %q has no archives", l.Series)
	}
	if from > until {
		return nil, fmt.Errorf("invalid time interval: from %d is after until %d", from, until)
	}
	maxRet := arcs[len(arcs)-1].retention
	for _, a := range arcs {
		maxRet = max(maxRet, a.retention)
	}
	oldest := now - maxRet
	if from > now || until < oldest {
		return nil, nil
	}
	from = max(from, oldest)
	until = min(until, now)
	diff := now - from
	a := arcs[len(arcs)-1]
	for _, x := range arcs {
		if x.retention >= diff {
			a = x
			break
		}
	}
	step := a.step
	fromI := from - mod(from, step) + step
	untilI := until - mod(until, step) + step
	if fromI == untilI {
		untilI += step
	}
	vals, err := c.readRows(l, sp, a, fromI, untilI, int((untilI-fromI)/step))
	if err != nil {
		return nil, err
	}
	return newSeries(l.Path, fromI, untilI, step, vals, 0, nil), nil
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// readRows returns n values, value i the row of archive a ending at
// fromI+(i+1)·step, through Fetch with the archive's step as resolution.
// rrd_fetch takes that archive when it covers the start, so the start is
// moved to the archive's first row when it lies before (those slots stay
// None). When Fetch's column lines up with the slots it is the answer
// itself (no copy).
func (c *catalog) readRows(l leaf, sp store.Spec, a archive, fromI, untilI int64, n int) ([]float64, error) {
	vals := func() []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = nan
		}
		return v
	}
	last, err := c.st.LastUpdate(l.Series)
	if err != nil {
		return nil, fmt.Errorf("series %q: %w", l.Series, err)
	}
	rows := sp.RRA[a.rra].Rows
	for attempt := 0; attempt < 3; attempt++ {
		calEnd := last - mod(last, a.step)
		calStart := calEnd - a.step*rows
		start := max(fromI, calStart+a.step*int64(attempt))
		end := untilI
		if start >= end || start < 3600*24*365*10 {
			return vals(), nil // nothing stored in the window
		}
		res, err := c.st.Fetch(l.Series, store.FetchRequest{CF: a.cf, Start: start, End: end, Resolution: a.step})
		if err != nil {
			return nil, fmt.Errorf("series %q: fetch %d..%d: %w", l.Series, start, end, err)
		}
		if res.Step != a.step {
			// the series moved on between LastUpdate and Fetch; try again
			if last, err = c.st.LastUpdate(l.Series); err != nil {
				return nil, fmt.Errorf("series %q: %w", l.Series, err)
			}
			continue
		}
		col := res.Values[l.DS]
		if res.Start == fromI && len(col) >= n {
			return col[:n:n], nil
		}
		out := vals()
		for i := range out {
			rowEnd := fromI + int64(i+1)*a.step
			r := (rowEnd-res.Start)/a.step - 1
			if r >= 0 && r < int64(len(col)) {
				out[i] = col[r]
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("series %q: archive with step %d not chosen by fetch", l.Series, a.step)
}
