package cluster

import (
	"bytes"
	"crypto/subtle"
	"encoding/gob"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"rrdash/store"
)

// The peer protocol: what one node asks the node that holds a shard. It
// lives under PeerPrefix, answers gob (floats keep NaN), and is guarded by
// the cluster's shared secret. Every request names the shards it wants
// answered from this node; a node that does not read one of them, or has
// not caught up with it since taking its lease, answers 503 so the caller
// tries another group — never an answer from stale archives.
const (
	PeerPrefix   = "/-/cluster/v1/"
	secretHeader = "X-Rrdash-Cluster-Secret"
)

// LocalReader is the local store's read side; *store.DB has it.
type LocalReader interface {
	Fetch(name string, req store.FetchRequest) (*store.FetchResult, error)
	Spec(name string) (store.Spec, error)
	Meta(name string) (map[string]string, error)
	LastUpdate(name string) (int64, error)
	List(pattern string) ([]string, error)
}

var _ LocalReader = (*store.DB)(nil)

// PeerServer answers the peer protocol from the local store.
type PeerServer struct {
	Local   LocalReader
	Topo    Topology
	Serving func(shard string) bool // the replica reads shard and is caught up
	Secret  string
	Log     *slog.Logger
	// Snapshots makes shard snapshots for hand-off (nil: none).
	Snapshots Snapshotter
	// Holders are the computations other nodes may run here over series
	// of the shards this node serves (RoutedStore.OnHolders).
	Holders map[string]HolderFunc
}

// fetchAnswer is a fetch's answer.
type fetchAnswer struct {
	Res *store.FetchResult
}

// sumAnswer is the partial sum over the matching series of one shard.
// Sums are made per shard and added in shard order, so the answer does not
// depend on which node holds which shard (float addition is not
// associative).
type sumAnswer struct {
	Shard  string
	Res    *store.FetchResult // nil: no series matched
	Series int
	First  string
}

// ServeHTTP serves fetch, spec, last, list and sum.
func (p *PeerServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if subtle.ConstantTimeCompare([]byte(r.Header.Get(secretHeader)), []byte(p.Secret)) != 1 || p.Secret == "" {
		http.Error(w, "cluster peer requests need the cluster secret", http.StatusForbidden)
		return
	}
	q := r.URL.Query()
	op := strings.TrimPrefix(r.URL.Path, PeerPrefix)
	shards := strings.Split(q.Get("shards"), ",")
	view, err := p.Topo.View(r.Context())
	if err != nil {
		http.Error(w, "cluster view: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	if op == "position" || op == "snapshot" || op == "ended" {
		p.serveSnapshot(w, r, op, view)
		return
	}
	for _, s := range shards {
		if !p.Serving(s) {
			http.Error(w, "shard "+s+" is not served by this node now", http.StatusServiceUnavailable)
			return
		}
	}
	// inShards keeps local series of the asked shards only: a node keeps
	// the archives of shards it read before, which others own now.
	inShards := func(name string) bool { return slices.Contains(shards, view.Router.Shard(name)) }
	var out any
	switch op {
	case "fetch", "spec", "last":
		name := q.Get("name")
		if !inShards(name) {
			// the asking node's shard map differs from this one's: a
			// reshard is under way; let it ask elsewhere or answer 503
			http.Error(w, fmt.Sprintf("series %s is in shard %s here, not in shards %s (shard maps differ during a reshard)",
				name, view.Router.Shard(name), q.Get("shards")), http.StatusServiceUnavailable)
			return
		}
		switch op {
		case "fetch":
			var req store.FetchRequest
			if req, err = parseFetchRequest(q); err == nil {
				var res *store.FetchResult
				res, err = p.Local.Fetch(name, req)
				out = fetchAnswer{Res: res}
			}
		case "spec":
			var e Entry
			e.Series = name
			if e.Spec, err = p.Local.Spec(name); err == nil {
				e.Meta, err = p.Local.Meta(name)
				out = EncodeEntry(nil, e)
			}
		case "last":
			var last int64
			last, err = p.Local.LastUpdate(name)
			out = last
		}
	case "list":
		var names []string
		if names, err = p.Local.List(q.Get("glob")); err == nil {
			names = slices.DeleteFunc(names, func(n string) bool { return !inShards(n) })
			out = names
		}
	case "sum":
		out, err = p.sum(q, view.Router, shards)
	case "holder":
		p.serveHolder(w, r, view.Router)
		return
	default:
		http.NotFound(w, r)
		return
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	gobAnswer(w, out)
}

func gobAnswer(w http.ResponseWriter, out any) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(out); err != nil {
		http.Error(w, "encode: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-gob")
	_, _ = w.Write(buf.Bytes())
}

func (p *PeerServer) sum(q url.Values, router *Router, shards []string) ([]sumAnswer, error) {
	var ans []sumAnswer
	var exprs []store.TagExpr
	for _, s := range q["q"] {
		e, err := store.ParseTagExpr(s)
		if err != nil {
			return ans, err
		}
		exprs = append(exprs, e)
	}
	if len(exprs) == 0 {
		return ans, errors.New("sum: no tag expression (q=)")
	}
	req, err := parseFetchRequest(q)
	if err != nil {
		return ans, err
	}
	return p.sumLocal(exprs, q.Get("ds"), req, router, shards)
}

// sumLocal sums the local series that exprs match, one partial sum per
// wanted shard (in the order of shards), each over its series in name
// order.
func (p *PeerServer) sumLocal(exprs []store.TagExpr, ds string, req store.FetchRequest, router *Router, shards []string) ([]sumAnswer, error) {
	ans := make([]sumAnswer, len(shards))
	for i, s := range shards {
		ans[i].Shard = s
	}
	names, err := p.Local.List("")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if !store.MatchTags(name, exprs) {
			continue
		}
		i := slices.Index(shards, router.Shard(name))
		if i < 0 {
			continue
		}
		res, err := p.Local.Fetch(name, req)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := addColumn(&ans[i], name, ds, res); err != nil {
			return nil, err
		}
	}
	return ans, nil
}

// addColumn adds series name's column ds to a running sum as Graphite's
// sumSeries does: unknowns are skipped, a row is unknown only where every
// series is.
func addColumn(ans *sumAnswer, name, ds string, res *store.FetchResult) error {
	col := res.Column(ds)
	if col == nil {
		return fmt.Errorf("series %q has no data source %q", name, ds)
	}
	col = col[:min(len(col), res.Rows())]
	ans.Series++
	if ans.Res == nil {
		ans.First = name
		ans.Res = &store.FetchResult{Start: res.Start, End: res.End, Step: res.Step, CF: res.CF, RRA: res.RRA,
			DS: []string{ds}, Values: [][]float64{slices.Clone(col)}}
		return nil
	}
	sum := ans.Res
	if res.Step != sum.Step || res.Start != sum.Start || len(col) != len(sum.Values[0]) {
		return fmt.Errorf("%s (step %d from %d, %d rows) and %s (step %d from %d, %d rows) cannot be added: their steps differ",
			ans.First, sum.Step, sum.Start, len(sum.Values[0]), name, res.Step, res.Start, len(col))
	}
	acc := sum.Values[0]
	for i, v := range col {
		switch {
		case math.IsNaN(v):
		case math.IsNaN(acc[i]):
			acc[i] = v
		default:
			acc[i] += v
		}
	}
	return nil
}

func fetchQuery(req store.FetchRequest) url.Values {
	return url.Values{"cf": {req.CF.String()}, "start": {strconv.FormatInt(req.Start, 10)}, "end": {strconv.FormatInt(req.End, 10)},
		"res": {strconv.FormatInt(req.Resolution, 10)}, "align": {strconv.FormatBool(req.AlignStart)}}
}

func parseFetchRequest(q url.Values) (store.FetchRequest, error) {
	var req store.FetchRequest
	var err error
	if req.CF, err = store.ParseCF(q.Get("cf")); err != nil {
		return req, err
	}
	for _, f := range []struct {
		key string
		v   *int64
	}{{"start", &req.Start}, {"end", &req.End}, {"res", &req.Resolution}} {
		if *f.v, err = strconv.ParseInt(q.Get(f.key), 10, 64); err != nil {
			return req, fmt.Errorf("%s %q: not an integer", f.key, q.Get(f.key))
		}
	}
	if req.AlignStart, err = strconv.ParseBool(q.Get("align")); err != nil {
		return req, fmt.Errorf("align %q: not a boolean", q.Get("align"))
	}
	return req, nil
}
