package nametree

import (
	"slices"
	"strings"
	"sync"
)

// Tree holds series names as a tree of their '.'-separated nodes: a find
// compares a pattern's node against the children of the branches its
// earlier nodes reached (a literal node is one binary search), so its cost
// follows what it can match, not how many names exist.
//
// Memory: one 48-byte node per distinct path prefix, kept in its parent's
// sorted slice (no map, no pointer per child); a node's text is the
// substring of the name it came from, so the tree adds no copy of names
// the caller already holds. The zero Tree is empty and ready.
type Tree struct {
	mu     sync.RWMutex
	root   node
	series int
}

type node struct {
	seg    string
	kids   []node // sorted by seg
	series bool   // a series has this path as its name
	nds    uint16 // its data sources; 0: not known yet
	// untagged counts the names without tags ending at or below this
	// node: a branch that only tagged names pass through ("app" of
	// "app.cpu;dc=x") is no branch of Graphite's tree
	untagged int32
}

// Build makes a tree of names (any order; sorted input builds fastest).
func Build(names []string) *Tree {
	t := &Tree{}
	for _, n := range names {
		t.insertLocked(n, 0)
	}
	compact(&t.root, make(map[string]string))
	return t
}

// maxInterned bounds the texts Build shares.
const maxInterned = 1 << 16

// compact gives every child slice its exact length (append's spare
// capacity would be a third of the tree), and makes nodes of the same
// text share one copy of it, up to maxInterned texts: a find that
// compares "cpu" under ten thousand hosts then reads one string, not ten
// thousand scattered ones.
func compact(n *node, texts map[string]string) {
	if cap(n.kids) > len(n.kids) {
		n.kids = slices.Clone(n.kids)
	}
	for i := range n.kids {
		c := &n.kids[i]
		if s, ok := texts[c.seg]; ok {
			c.seg = s
		} else if len(texts) < maxInterned {
			texts[c.seg] = c.seg
		}
		compact(c, texts)
	}
}

// Len is the number of series names in the tree.
func (t *Tree) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.series
}

// Insert adds a series name; nds is its number of data sources (0: not
// known). Inserting a name again only updates a known nds.
func (t *Tree) Insert(name string, nds int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.insertLocked(name, nds)
}

func (t *Tree) insertLocked(name string, nds int) {
	// the nodes on the path (a child's slice grows only below it, so the
	// pointers stay valid)
	var stack [16]*node
	path := append(stack[:0], &t.root)
	n := &t.root
	for rest, more := name, true; more; {
		var seg string
		seg, rest, more = strings.Cut(rest, ".")
		n = n.child(seg)
		path = append(path, n)
	}
	if !n.series {
		n.series = true
		t.series++
		if strings.IndexByte(name, ';') < 0 {
			for _, p := range path {
				p.untagged++
			}
		}
	}
	if nds > 0 {
		n.nds = uint16(min(nds, 1<<16-1))
	}
}

// countUntagged adds d to the untagged count of every node on name's
// path.
func (t *Tree) countUntagged(name string, d int32) {
	n := &t.root
	n.untagged += d
	for rest, more := name, true; more && n != nil; {
		var seg string
		seg, rest, more = strings.Cut(rest, ".")
		if n = n.find(seg); n != nil {
			n.untagged += d
		}
	}
}

// child returns the child seg of n, made when missing.
func (n *node) child(seg string) *node {
	k := len(n.kids)
	if k > 0 { // sorted input: the last child, or a new one after it
		switch last := n.kids[k-1].seg; {
		case last == seg:
			return &n.kids[k-1]
		case last < seg:
			n.kids = append(n.kids, node{seg: seg})
			return &n.kids[k]
		}
	}
	i, found := slices.BinarySearchFunc(n.kids, seg, cmpSeg)
	if !found {
		n.kids = slices.Insert(n.kids, i, node{seg: seg})
	}
	return &n.kids[i]
}

func cmpSeg(n node, seg string) int { return strings.Compare(n.seg, seg) }

func (n *node) find(seg string) *node {
	i, found := slices.BinarySearchFunc(n.kids, seg, cmpSeg)
	if !found {
		return nil
	}
	return &n.kids[i]
}

// SetDataSources records a series' number of data sources when the name
// is in the tree.
func (t *Tree) SetDataSources(name string, nds int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := t.lookup(name); n != nil && n.series && nds > 0 {
		n.nds = uint16(min(nds, 1<<16-1))
	}
}

func (t *Tree) lookup(name string) *node {
	n := &t.root
	for rest, more := name, true; more && n != nil; {
		var seg string
		seg, rest, more = strings.Cut(rest, ".")
		n = n.find(seg)
	}
	return n
}

// Has reports whether name is a series in the tree, and its number of
// data sources (0: not known).
func (t *Tree) Has(name string) (ok bool, nds int) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := t.lookup(name)
	if n == nil || !n.series {
		return false, 0
	}
	return true, int(n.nds)
}

// Remove takes a series name out of the tree (and the branches only it
// made); it reports whether the name was there.
func (t *Tree) Remove(name string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := t.lookup(name); n == nil || !n.series {
		return false
	}
	if strings.IndexByte(name, ';') < 0 {
		t.countUntagged(name, -1)
	}
	remove(&t.root, name)
	t.series--
	return true
}

func remove(n *node, rest string) bool {
	seg, rest, more := strings.Cut(rest, ".")
	i, ok := slices.BinarySearchFunc(n.kids, seg, cmpSeg)
	if !ok {
		return false
	}
	c := &n.kids[i]
	if more {
		if !remove(c, rest) {
			return false
		}
	} else {
		if !c.series {
			return false
		}
		c.series, c.nds = false, 0
	}
	if !c.series && len(c.kids) == 0 && c.untagged == 0 {
		n.kids = slices.Delete(n.kids, i, i+1)
		if len(n.kids) == 0 {
			n.kids = nil
		}
	}
	return true
}

// A Match is one node a pattern reached.
type Match struct {
	Path   string
	Branch bool // names continue below it
	Series bool // it is a series name
	NDS    int  // the series' data sources (0: not known)
	// Parent: a series one node above the pattern's depth whose number of
	// data sources is not 1 (or not known): Graphite shows the data
	// sources of a multi-source series as the leaves below it.
	Parent bool
}

// FindOptions tune Find.
type FindOptions struct {
	// SkipTagged leaves out names with tags, as graphite-web keeps tagged
	// series out of the tree.
	SkipTagged bool
	// Parents adds the Parent matches.
	Parents bool
}

// Find returns the nodes at the pattern's depth whose path matches it,
// in tree order (children sorted by node text).
func (t *Tree) Find(p *Pattern, opt FindOptions) []Match {
	t.mu.RLock()
	defer t.mu.RUnlock()
	w := walker{p: p, opt: opt, buf: make([]byte, 0, 128)}
	w.walk(&t.root, 0)
	return w.out
}

type walker struct {
	p   *Pattern
	opt FindOptions
	buf []byte
	out []Match
}

func (w *walker) walk(n *node, d int) {
	m := &w.p.nodes[d]
	if m.kind == mLiteral {
		if c := n.find(m.lit); c != nil {
			w.visit(c, d)
		}
		return
	}
	for i := range n.kids {
		if m.match(n.kids[i].seg) {
			w.visit(&n.kids[i], d)
		}
	}
}

func (w *walker) visit(c *node, d int) {
	branch, series := len(c.kids) > 0, c.series
	if w.opt.SkipTagged {
		if c.untagged == 0 {
			return
		}
		own := int32(0)
		if series {
			own = 1
		}
		branch = c.untagged > own
	}
	mark := len(w.buf)
	if d > 0 {
		w.buf = append(w.buf, '.')
	}
	w.buf = append(w.buf, c.seg...)
	last := len(w.p.nodes) - 1
	switch {
	case d == last:
		w.out = append(w.out, Match{Path: string(w.buf), Branch: branch, Series: series, NDS: int(c.nds)})
	default:
		if d == last-1 && w.opt.Parents && series && c.nds != 1 {
			w.out = append(w.out, Match{Path: string(w.buf), Series: true, NDS: int(c.nds), Parent: true})
		}
		if branch {
			w.walk(c, d+1)
		}
	}
	w.buf = w.buf[:mark]
}

// Names returns the series names matching the pattern, sorted.
func (t *Tree) Names(p *Pattern) []string {
	var out []string
	for _, m := range t.Find(p, FindOptions{}) {
		if m.Series {
			out = append(out, m.Path)
		}
	}
	slices.Sort(out)
	return out
}

// All returns every series in the tree (tagged names too), sorted by
// name.
func (t *Tree) All() []Match {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]Match, 0, t.series)
	var walk func(n *node, buf []byte)
	walk = func(n *node, buf []byte) {
		for i := range n.kids {
			c := &n.kids[i]
			b := buf
			if n != &t.root {
				b = append(b, '.')
			}
			b = append(b, c.seg...)
			if c.series {
				out = append(out, Match{Path: string(b), Series: true, Branch: len(c.kids) > 0, NDS: int(c.nds)})
			}
			walk(c, b)
		}
	}
	walk(&t.root, make([]byte, 0, 128))
	slices.SortFunc(out, func(a, b Match) int { return strings.Compare(a.Path, b.Path) })
	return out
}
