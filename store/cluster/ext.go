package cluster

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"rrdash/store"
)

// HolderFunc is a computation over some series that a layer above the
// store (the Graphite API's decomposable aggregates) runs where the series
// are held, one call per shard: names are the shard's series asked for,
// arg and the answer are the layer's own encoding. It runs on the local
// store; the cluster only moves the bytes.
type HolderFunc func(names []string, arg []byte) ([]byte, error)

// ShardAnswer is one shard's answer of a HolderFunc.
type ShardAnswer struct {
	Shard string
	Out   []byte
}

// holderRequest is one node's part of a holder call: per shard, its names.
type holderRequest struct {
	Func   string
	Arg    []byte
	Shards []string
	Names  [][]string // per shard
}

// maxHolderRequest bounds a holder call's body (names and argument).
const maxHolderRequest = 64 << 20

// OnHolders runs the registered HolderFunc fn over names where they are
// held: the names are grouped by shard, each shard's holder (own group
// first, as reads) runs fn once per shard, and the answers come back in
// shard order — the same grouping whichever node holds which shard, so a
// caller that folds them in order gets the same result everywhere. An
// error when some shard has no holder that answers (ErrUnavailable).
func (s *RoutedStore) OnHolders(fn string, names []string, arg []byte) ([]ShardAnswer, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	v, err := s.topo.View(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s on holders: %w: cluster view: %v", fn, ErrUnavailable, err)
	}
	byShard := map[string][]string{}
	for _, n := range names {
		sh := v.Router.Shard(n)
		byShard[sh] = append(byShard[sh], n)
	}
	shards := make([]string, 0, len(byShard))
	for _, sh := range v.Router.Shards() {
		if len(byShard[sh]) > 0 {
			shards = append(shards, sh)
		}
	}
	var mu sync.Mutex
	var out []ShardAnswer
	err = s.fanOutView(v, shards, func(n Node, shards []string) error {
		req := holderRequest{Func: fn, Arg: arg, Shards: shards}
		for _, sh := range shards {
			req.Names = append(req.Names, byShard[sh])
		}
		var ans []ShardAnswer
		if n.ID == s.self.ID {
			f, ok := holder(s.holders, s.local, fn)
			if !ok {
				return fmt.Errorf("holder function %q is not registered here", fn)
			}
			for i, sh := range shards {
				b, err := f(req.Names[i], arg)
				if err != nil {
					return fmt.Errorf("%s over shard %s: %w", fn, sh, err)
				}
				ans = append(ans, ShardAnswer{Shard: sh, Out: b})
			}
		} else {
			var body bytes.Buffer
			if err := gob.NewEncoder(&body).Encode(req); err != nil {
				return fmt.Errorf("%s on holders: %w", fn, err)
			}
			if err := s.callBody(ctx, n, "holder", url.Values{"shards": {strings.Join(shards, ",")}}, body.Bytes(), &ans); err != nil {
				return err
			}
			if len(ans) != len(shards) {
				return fmt.Errorf("%s on node %s: %d answers for %d shards", fn, n.ID, len(ans), len(shards))
			}
		}
		mu.Lock()
		out = append(out, ans...)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s on holders: %w", fn, err)
	}
	slices.SortFunc(out, func(a, b ShardAnswer) int { return strings.Compare(a.Shard, b.Shard) })
	return out, nil
}

// RegisterHolder makes fn runnable by name on this node's holders (the
// PeerServer's) and on the node itself (the RoutedStore's): register it on
// both.
func (s *RoutedStore) RegisterHolder(name string, fn HolderFunc) {
	if s.holders == nil {
		s.holders = map[string]HolderFunc{}
	}
	s.holders[name] = fn
}

// serveHolder answers a holder call; every shard it names must be served
// here (checked by the caller) and every name must be in its shard.
func (p *PeerServer) serveHolder(w http.ResponseWriter, r *http.Request, router *Router) {
	if r.Method != http.MethodPost {
		http.Error(w, "holder calls are POST", http.StatusMethodNotAllowed)
		return
	}
	var req holderRequest
	if err := gob.NewDecoder(io.LimitReader(r.Body, maxHolderRequest)).Decode(&req); err != nil {
		http.Error(w, "holder call: "+err.Error(), http.StatusBadRequest)
		return
	}
	f, ok := holder(p.Holders, p.Local, req.Func)
	if !ok {
		http.Error(w, fmt.Sprintf("holder function %q is not registered here", req.Func), http.StatusBadRequest)
		return
	}
	if len(req.Names) != len(req.Shards) {
		http.Error(w, "holder call: names not given per shard", http.StatusBadRequest)
		return
	}
	asked := strings.Split(r.URL.Query().Get("shards"), ",")
	ans := make([]ShardAnswer, len(req.Shards))
	for i, sh := range req.Shards {
		if !slices.Contains(asked, sh) {
			http.Error(w, "holder call: shard "+sh+" not in shards=", http.StatusBadRequest)
			return
		}
		for _, n := range req.Names[i] {
			if router.Shard(n) != sh { // shard maps differ during a reshard: ask elsewhere or 503
				http.Error(w, fmt.Sprintf("series %s is in shard %s here, not in shard %s (shard maps differ during a reshard)", n, router.Shard(n), sh),
					http.StatusServiceUnavailable)
				return
			}
		}
		b, err := f(req.Names[i], req.Arg)
		if err != nil {
			http.Error(w, fmt.Sprintf("%s over shard %s: %v", req.Func, sh, err), http.StatusBadRequest)
			return
		}
		ans[i] = ShardAnswer{Shard: sh, Out: b}
	}
	gobAnswer(w, ans)
}

// specsFunc is the built-in holder computation Specs runs: the
// definitions of the shard's series asked for (gob map name → spec;
// names not held are left out).
const specsFunc = "cluster.specs"

func specsHolder(local LocalReader) HolderFunc {
	return func(names []string, _ []byte) ([]byte, error) {
		out := make(map[string]store.Spec, len(names))
		for _, n := range names {
			sp, err := local.Spec(n)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("series %s: %w", n, err)
			}
			out[n] = sp
		}
		var b bytes.Buffer
		if err := gob.NewEncoder(&b).Encode(out); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
}

// Specs reads many series' definitions, one request per holder; names
// no holder has are left out.
func (s *RoutedStore) Specs(names []string) (map[string]store.Spec, error) {
	answers, err := s.OnHolders(specsFunc, names, nil)
	if err != nil {
		return nil, err
	}
	out := make(map[string]store.Spec, len(names))
	for _, a := range answers {
		var part map[string]store.Spec
		if err := gob.NewDecoder(bytes.NewReader(a.Out)).Decode(&part); err != nil {
			return nil, fmt.Errorf("definitions from shard %s: %w", a.Shard, err)
		}
		maps.Copy(out, part)
	}
	return out, nil
}

// holder finds a computation by name: registered, else built in.
func holder(registered map[string]HolderFunc, local LocalReader, name string) (HolderFunc, bool) {
	if f, ok := registered[name]; ok {
		return f, true
	}
	if name == specsFunc {
		return specsHolder(local), true
	}
	return nil, false
}
