package cluster

import (
	"compress/gzip"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"rrdash/store"
)

// ShardSnapshot is a shard's series, each in full (store.SeriesState), at
// a position of the cluster log: every record of the shard up to
// Position is in them, none after. A node taking a shard's lease over
// restores them and reads on after Position, so a series' history moves
// with its lease instead of being rebuilt from a stream whose retention
// may be shorter than the archives.
type ShardSnapshot struct {
	Shard, Position string
	Series          []NamedState
}

// NamedState is one series of a snapshot.
type NamedState struct {
	Name  string
	State *store.SeriesState
}

// Snapshotter makes a node's snapshots (the replica: it holds its
// applying while it copies, so the series and the position agree).
type Snapshotter interface {
	// Position is the node's durable position in shard ("" none).
	Position(shard string) string
	// Snapshot copies the node's series of shard (those inShard accepts).
	Snapshot(ctx context.Context, shard string, inShard func(name string) bool) (*ShardSnapshot, error)
	// Ended copies the node's series of a shard it read to its end (those
	// in accepts): nil when it did not read the shard to its end.
	Ended(ctx context.Context, shard string, in func(name string) bool) (*ShardSnapshot, error)
}

// seqLess orders Kinesis sequence numbers (decimal strings).
func seqLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// serveSnapshot answers the position and snapshot ops, which a node
// answers for shards it no longer reads too (the old owner of a stolen
// shard is the best source).
func (p *PeerServer) serveSnapshot(w http.ResponseWriter, r *http.Request, op string, view *View) {
	if p.Snapshots == nil {
		http.Error(w, "this node makes no snapshots", http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	shard := q.Get("shard")
	if op == "position" {
		gobAnswer(w, p.Snapshots.Position(shard))
		return
	}
	var snap *ShardSnapshot
	var err error
	if op == "ended" {
		// a closed shard's series in a hash-key range (a child's part of
		// it), as they were at the shard's end
		rng, perr := ParseRange(shard, q.Get("start"), q.Get("end"))
		if perr != nil {
			http.Error(w, perr.Error(), http.StatusBadRequest)
			return
		}
		h := rng.Hash()
		if snap, err = p.Snapshots.Ended(r.Context(), shard, h.Contains); err == nil && snap == nil {
			http.Error(w, "shard "+shard+" was not read to its end here", http.StatusNotFound)
			return
		}
	} else {
		snap, err = p.Snapshots.Snapshot(r.Context(), shard, func(name string) bool { return view.Router.Shard(name) == shard })
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-gob")
	w.Header().Set("Content-Encoding", "gzip") // rows of new series are mostly NaN: they shrink a lot
	zw := gzip.NewWriter(w)
	if err := gob.NewEncoder(zw).Encode(snap); err != nil {
		p.logger().Warn("cluster: snapshot not sent", "shard", shard, "err", err)
		return
	}
	if err := zw.Close(); err != nil {
		p.logger().Warn("cluster: snapshot not sent", "shard", shard, "err", err)
	}
}

// WriteSnapshot writes a snapshot as gzip-compressed gob (an object in
// object storage holds one).
func WriteSnapshot(w io.Writer, snap *ShardSnapshot) error {
	zw := gzip.NewWriter(w)
	if err := gob.NewEncoder(zw).Encode(snap); err != nil {
		return fmt.Errorf("snapshot of %s: %w", snap.Shard, err)
	}
	return zw.Close()
}

// ReadSnapshot reads what WriteSnapshot wrote.
func ReadSnapshot(r io.Reader) (*ShardSnapshot, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	snap := &ShardSnapshot{}
	if err := gob.NewDecoder(zr).Decode(snap); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return snap, nil
}

// FetchSnapshot finds the newest snapshot of shard among the other nodes
// the view knows (every group's lease holders: the old owner when it is
// alive and holds other shards, and the shard's replica in another group)
// and fetches it. nil, nil: no node has a position in the shard.
func (s *RoutedStore) FetchSnapshot(ctx context.Context, shard string) (*ShardSnapshot, error) {
	v, err := s.topo.View(ctx)
	if err != nil {
		return nil, fmt.Errorf("shard %s: cluster view: %w", shard, err)
	}
	seen := map[string]bool{s.self.ID: true}
	var best Node
	bestPos := ""
	var failed []string
	for _, g := range v.Groups {
		for _, n := range g.Owners {
			if seen[n.ID] {
				continue
			}
			seen[n.ID] = true
			var pos string
			if err := s.call(ctx, n, "position", url.Values{"shard": {shard}}, &pos); err != nil {
				failed = append(failed, err.Error())
				continue
			}
			if pos != "" && (bestPos == "" || seqLess(bestPos, pos)) {
				best, bestPos = n, pos
			}
		}
	}
	if bestPos == "" {
		if len(failed) > 0 {
			return nil, fmt.Errorf("shard %s: no snapshot source answered (%s)", shard, strings.Join(failed, "; "))
		}
		return nil, nil
	}
	snap := &ShardSnapshot{}
	if err := s.call(ctx, best, "snapshot", url.Values{"shard": {shard}}, snap); err != nil {
		return nil, fmt.Errorf("shard %s: snapshot from %s: %w", shard, best.ID, err)
	}
	if snap.Shard != shard || snap.Position == "" {
		return nil, errors.New("shard " + shard + ": node " + best.ID + " sent a snapshot of " + snap.Shard + " at " + snap.Position)
	}
	return snap, nil
}

// FetchEnded finds a node that read the closed shard parent to its end
// (the group's record of who did first, then every other node the view
// knows) and fetches its series in rng as they were at the shard's end:
// what the first owner of a child shard inherits. nil, nil: no node
// answering has them.
func (s *RoutedStore) FetchEnded(ctx context.Context, parent string, rng ShardRange) (*ShardSnapshot, error) {
	v, err := s.topo.View(ctx)
	if err != nil {
		return nil, fmt.Errorf("shard %s: cluster view: %w", parent, err)
	}
	var order []Node
	seen := map[string]bool{s.self.ID: true}
	add := func(n Node) {
		if !seen[n.ID] {
			seen[n.ID] = true
			order = append(order, n)
		}
	}
	for _, g := range v.Groups {
		if n, ok := g.Ended[parent]; ok {
			add(n)
		}
	}
	for _, g := range v.Groups {
		for _, id := range slices.Sorted(maps.Keys(g.Owners)) {
			add(g.Owners[id])
		}
		for _, id := range slices.Sorted(maps.Keys(g.Ended)) {
			add(g.Ended[id])
		}
	}
	q := url.Values{"shard": {parent}, "start": {rng.Start.String()}, "end": {rng.End.String()}}
	var failed []string
	for _, n := range order {
		snap := &ShardSnapshot{}
		err := s.call(ctx, n, "ended", q, snap)
		switch {
		case err == nil:
			if snap.Shard != parent || snap.Position == "" {
				failed = append(failed, fmt.Sprintf("node %s sent the end of %q at %q", n.ID, snap.Shard, snap.Position))
				continue
			}
			return snap, nil
		case errors.Is(err, store.ErrNotFound):
		default:
			failed = append(failed, err.Error())
		}
	}
	if len(failed) > 0 {
		return nil, fmt.Errorf("shard %s: no node has its end state (%s)", parent, strings.Join(failed, "; "))
	}
	return nil, nil
}

func (p *PeerServer) logger() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}
