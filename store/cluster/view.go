package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Node is a cluster node: its id and the URL other nodes reach it at.
type Node struct {
	ID, URL string
}

// WorkerID is the lease owner name a node uses in its group's lease
// table: "ID@URL", so that whoever reads the table knows where the owner
// answers reads (no other registry to keep in step).
func (n Node) WorkerID() string { return n.ID + "@" + n.URL }

// ParseWorkerID reads a lease owner written by WorkerID.
func ParseWorkerID(s string) (Node, error) {
	id, url, ok := strings.Cut(s, "@")
	if !ok || id == "" || !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return Node{}, fmt.Errorf("lease owner %q: want NODE-ID@http(s)://HOST:PORT", s)
	}
	return Node{ID: id, URL: strings.TrimRight(url, "/")}, nil
}

// Group is one replica group's lease owners: shard id → node.
type Group struct {
	Name   string
	Owners map[string]Node
	// Ended names, for a shard read to its end (closed by a reshard), the
	// node that read it so: it holds the shard's series as they were at
	// the shard's end, which the children's first owners inherit.
	Ended map[string]Node
}

// View is what routing needs at one moment: the stream's open shards and
// each group's lease owners.
type View struct {
	Router *Router
	Groups []Group // this node's group first
}

// Topology gives the current view (implementations cache it briefly).
type Topology interface {
	View(ctx context.Context) (*View, error)
}

// ErrUnavailable says no node could answer for some shard: every owner
// in every group failed or is catching up. HTTP: 503.
var ErrUnavailable = errors.New("no replica can answer now")

// candidates lists the nodes to ask for shard, in order: this node's
// group's owner first, then the other groups'.
func (v *View) candidates(shard string) []Node {
	var out []Node
	for _, g := range v.Groups {
		if n, ok := g.Owners[shard]; ok {
			out = append(out, n)
		}
	}
	return out
}
