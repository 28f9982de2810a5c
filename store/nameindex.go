package store

import (
	"fmt"
	"sync"
	"sync/atomic"

	"rrdash/store/nametree"
)

// nameIndex is the DB's tree of series names (nametree): built on first
// use from the series directory's listing, then kept on every creation,
// deletion and rename, so a Graphite find never scans the directory
// again. Nothing else changes the directory meanwhile: the writer holds
// the data directory's lock exclusively, and readers exclude the writer
// (lock.go).
//
// Lock order: db.mu, then opMu (the write path changes the tree under
// db.mu); a build holds buildMu and takes db.mu only inside the scan
// (hashed names), never with opMu held.
type nameIndex struct {
	buildMu sync.Mutex
	opMu    sync.Mutex
	tree    atomic.Pointer[nametree.Tree] // nil: not built; set under opMu
	// building: changes made during a build's scan are kept in pending
	// and applied to the new tree (the scan may or may not have seen
	// them; both orders give the same tree)
	building bool
	pending  []indexOp
}

type indexOp struct {
	name   string
	nds    int
	remove bool
}

func (ix *nameIndex) apply(op indexOp) {
	ix.opMu.Lock()
	defer ix.opMu.Unlock()
	switch t := ix.tree.Load(); {
	case t != nil && op.remove:
		t.Remove(op.name)
	case t != nil:
		t.Insert(op.name, op.nds)
	}
	if ix.building {
		ix.pending = append(ix.pending, op)
	}
}

// indexAdd records a series (created, or opened: its data sources are
// then known). Callers hold db.mu.
func (db *DB) indexAdd(name string, nds int) { db.index.apply(indexOp{name: name, nds: nds}) }

// indexRemove forgets a series. Callers hold db.mu.
func (db *DB) indexRemove(name string) { db.index.apply(indexOp{name: name, remove: true}) }

// nameTree returns the tree of series names, building it when needed.
func (db *DB) nameTree() (*nametree.Tree, error) {
	ix := &db.index
	if t := ix.tree.Load(); t != nil {
		return t, nil
	}
	ix.buildMu.Lock()
	defer ix.buildMu.Unlock()
	if t := ix.tree.Load(); t != nil {
		return t, nil // built meanwhile
	}
	ix.opMu.Lock()
	ix.building, ix.pending = true, nil
	ix.opMu.Unlock()
	names, err := db.allNames()
	var nt *nametree.Tree
	if err == nil {
		nt = nametree.Build(names)
		// the data sources of the series open now are known
		db.mu.Lock()
		for name, a := range db.series {
			nt.SetDataSources(name, len(a.spec.DS))
		}
		db.mu.Unlock()
	}
	ix.opMu.Lock()
	defer ix.opMu.Unlock()
	if err != nil {
		ix.building, ix.pending = false, nil
		return nil, err
	}
	for _, op := range ix.pending {
		if op.remove {
			nt.Remove(op.name)
		} else {
			nt.Insert(op.name, op.nds)
		}
	}
	ix.tree.Store(nt)
	ix.building, ix.pending = false, nil
	return nt, nil
}

// FindNodes matches a Graphite path glob (* ? [a-z] {a,b}; see
// nametree.Compile) against the tree of series names: the nodes at the
// pattern's depth, in tree order.
func (db *DB) FindNodes(expr string, opt nametree.FindOptions) ([]nametree.Match, error) {
	p, err := nametree.Compile(expr)
	if err != nil {
		return nil, err
	}
	t, err := db.nameTree()
	if err != nil {
		return nil, err
	}
	return t.Find(p, opt), nil
}

// Glob returns the series names matching a Graphite path glob (each
// pattern node matches one '.'-separated node of a name), sorted.
func (db *DB) Glob(expr string) ([]string, error) {
	p, err := nametree.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %w", expr, err)
	}
	t, err := db.nameTree()
	if err != nil {
		return nil, err
	}
	return t.Names(p), nil
}

// AllNodes returns every series name with its number of data sources
// (0: not known until the series is first opened), sorted by name.
func (db *DB) AllNodes() ([]nametree.Match, error) {
	t, err := db.nameTree()
	if err != nil {
		return nil, err
	}
	return t.All(), nil
}
