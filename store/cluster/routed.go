package cluster

import (
	"bytes"
	"context"
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
	"time"

	"rrdash/store"
)

// RoutedStore is the read side of a cluster node, the store the web
// service sees: a series is read from the node holding its shard's lease
// in this node's group (this node itself when it is the one), else from
// another group's; lists and tag sums fan out to the holders of every
// shard and merge. An answer is complete or an error: when some shard has
// no holder that answers, the error is ErrUnavailable.
type RoutedStore struct {
	local   LocalReader
	self    Node
	topo    Topology
	serving func(shard string) bool
	secret  string
	client  *http.Client
	timeout time.Duration
	holders map[string]HolderFunc // RegisterHolder
}

// RoutedConfig configures a RoutedStore.
type RoutedConfig struct {
	Local   LocalReader
	Self    Node
	Topo    Topology
	Serving func(shard string) bool
	Secret  string
	Client  *http.Client  // default: a client with Timeout
	Timeout time.Duration // per peer request (default 10s)
}

// NewRoutedStore builds a RoutedStore.
func NewRoutedStore(cfg RoutedConfig) *RoutedStore {
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout}
	}
	return &RoutedStore{local: cfg.Local, self: cfg.Self, topo: cfg.Topo, serving: cfg.Serving, secret: cfg.Secret, client: cfg.Client, timeout: cfg.Timeout}
}

func (s *RoutedStore) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.timeout)
}

// errNotServing is a peer's 503 or a failed connection: try the next.
var errNotServing = errors.New("not serving")

// call asks node for op over shards; local when node is this one.
func (s *RoutedStore) call(ctx context.Context, n Node, op string, q url.Values, out any) error {
	return s.callBody(ctx, n, op, q, nil, out)
}

// callBody is call with a request body (POST) when body is not nil.
func (s *RoutedStore) callBody(ctx context.Context, n Node, op string, q url.Values, body []byte, out any) error {
	u := n.URL + PeerPrefix + op + "?" + q.Encode()
	method := http.MethodGet
	var rd io.Reader
	if body != nil {
		method, rd = http.MethodPost, bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	req.Header.Set(secretHeader, s.secret)
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("node %s: %w: %v", n.ID, errNotServing, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		if err := gob.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("node %s: %w: answer: %v", n.ID, errNotServing, err)
		}
		return nil
	case http.StatusNotFound:
		return store.ErrNotFound
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout, http.StatusForbidden:
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("node %s: %w: %s", n.ID, errNotServing, strings.TrimSpace(string(msg)))
	default:
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("node %s: %s", n.ID, strings.TrimSpace(string(msg)))
	}
}

// oneSeries runs op for series name on the first candidate that answers.
func (s *RoutedStore) oneSeries(name, op string, q url.Values, out any, local func() error) error {
	ctx, cancel := s.ctx()
	defer cancel()
	v, err := s.topo.View(ctx)
	if err != nil {
		return fmt.Errorf("series %s: %w: cluster view: %v", name, ErrUnavailable, err)
	}
	shard := v.Router.Shard(name)
	q.Set("name", name)
	q.Set("shards", shard)
	var tried []string
	for _, n := range v.candidates(shard) {
		var err error
		if n.ID == s.self.ID {
			if !s.serving(shard) {
				tried = append(tried, n.ID+": catching up")
				continue
			}
			err = local()
		} else {
			err = s.call(ctx, n, op, q, out)
		}
		if err == nil || !errors.Is(err, errNotServing) {
			return err
		}
		tried = append(tried, err.Error())
	}
	return fmt.Errorf("series %s (shard %s): %w (tried: %s)", name, shard, ErrUnavailable, strings.Join(tried, "; "))
}

// Fetch reads a series' rows from its shard's holder.
func (s *RoutedStore) Fetch(name string, req store.FetchRequest) (*store.FetchResult, error) {
	var ans fetchAnswer
	err := s.oneSeries(name, "fetch", fetchQuery(req), &ans, func() error {
		var err error
		ans.Res, err = s.local.Fetch(name, req)
		return err
	})
	return ans.Res, err
}

// Spec reads a series' definition from its shard's holder.
func (s *RoutedStore) Spec(name string) (store.Spec, error) {
	var raw []byte
	var spec store.Spec
	err := s.oneSeries(name, "spec", url.Values{}, &raw, func() error {
		var err error
		spec, err = s.local.Spec(name)
		return err
	})
	if err != nil || raw == nil {
		return spec, err
	}
	e, err := DecodeEntry(raw)
	return e.Spec, err
}

// LastUpdate reads a series' last update from its shard's holder.
func (s *RoutedStore) LastUpdate(name string) (int64, error) {
	var last int64
	err := s.oneSeries(name, "last", url.Values{}, &last, func() error {
		var err error
		last, err = s.local.LastUpdate(name)
		return err
	})
	return last, err
}

// fanOut plans which node answers for which shards (own group first) and
// runs ask for each node concurrently, moving a failed node's shards to
// their next candidate until every shard is answered or has none left.
func (s *RoutedStore) fanOut(ctx context.Context, ask func(n Node, shards []string) error) error {
	v, err := s.topo.View(ctx)
	if err != nil {
		return fmt.Errorf("%w: cluster view: %v", ErrUnavailable, err)
	}
	return s.fanOutView(v, v.Router.Shards(), ask)
}

// fanOutView is fanOut over some shards of a view.
func (s *RoutedStore) fanOutView(v *View, shards []string, ask func(n Node, shards []string) error) error {
	next := map[string]int{} // shard → index of its next candidate
	pending := slices.Clone(shards)
	var failures []string
	for len(pending) > 0 {
		plan := map[Node][]string{}
		for _, sh := range pending {
			cands := v.candidates(sh)
			i := next[sh]
			for i < len(cands) && cands[i].ID == s.self.ID && !s.serving(sh) {
				i++ // this node holds the lease but is catching up
			}
			if i >= len(cands) {
				return fmt.Errorf("shard %s: %w (tried: %s)", sh, ErrUnavailable, strings.Join(failures, "; "))
			}
			next[sh] = i + 1
			plan[cands[i]] = append(plan[cands[i]], sh)
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		pending = nil
		var hard error
		for n, shards := range plan {
			wg.Go(func() {
				err := ask(n, shards)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
				case errors.Is(err, errNotServing):
					failures = append(failures, err.Error())
					pending = append(pending, shards...)
				default:
					hard = err
				}
			})
		}
		wg.Wait()
		if hard != nil {
			return hard
		}
	}
	return nil
}

// List fans out to every shard's holder and merges the names, sorted.
func (s *RoutedStore) List(glob string) ([]string, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var mu sync.Mutex
	seen := map[string]bool{}
	err := s.fanOut(ctx, func(n Node, shards []string) error {
		var names []string
		if n.ID == s.self.ID {
			v, err := s.topo.View(ctx)
			if err != nil {
				return err
			}
			all, err := s.local.List(glob)
			if err != nil {
				return err
			}
			for _, name := range all {
				if slices.Contains(shards, v.Router.Shard(name)) {
					names = append(names, name)
				}
			}
		} else if err := s.call(ctx, n, "list", url.Values{"glob": {glob}, "shards": {strings.Join(shards, ",")}}, &names); err != nil {
			return err
		}
		mu.Lock()
		for _, name := range names {
			seen[name] = true
		}
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", glob, err)
	}
	return slices.Sorted(maps.Keys(seen)), nil
}

// SumTagged is the row-wise sum of data source ds of every series the tag
// expressions match (Graphite's sumSeries(seriesByTag(…))), each holder
// summing its own series and this node adding the partial sums. nil when
// nothing matched.
func (s *RoutedStore) SumTagged(exprs []string, ds string, req store.FetchRequest) (*store.FetchResult, int, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	parsed := make([]store.TagExpr, 0, len(exprs))
	for _, e := range exprs {
		te, err := store.ParseTagExpr(e)
		if err != nil {
			return nil, 0, err
		}
		parsed = append(parsed, te)
	}
	var mu sync.Mutex
	var parts []sumAnswer
	err := s.fanOut(ctx, func(n Node, shards []string) error {
		var part []sumAnswer
		if n.ID == s.self.ID {
			v, err := s.topo.View(ctx)
			if err != nil {
				return err
			}
			local := PeerServer{Local: s.local}
			if part, err = local.sumLocal(parsed, ds, req, v.Router, shards); err != nil {
				return err
			}
		} else {
			q := fetchQuery(req)
			q["q"] = exprs
			q.Set("ds", ds)
			q.Set("shards", strings.Join(shards, ","))
			if err := s.call(ctx, n, "sum", q, &part); err != nil {
				return err
			}
		}
		mu.Lock()
		parts = append(parts, part...)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("sum of %s: %w", strings.Join(exprs, ","), err)
	}
	slices.SortFunc(parts, func(a, b sumAnswer) int { return strings.Compare(a.Shard, b.Shard) })
	var total sumAnswer
	for _, p := range parts {
		if p.Res == nil {
			continue
		}
		if total.Res == nil {
			total = p
			continue
		}
		n := total.Series
		if err := addColumn(&total, p.First, ds, p.Res); err != nil {
			return nil, 0, fmt.Errorf("sum of %s: %w", strings.Join(exprs, ","), err)
		}
		total.Series = n + p.Series
	}
	return total.Res, total.Series, nil
}

// SumTags is SumTagged for parsed expressions (rpn.TagSummer: a DEF over
// seriesByTag on a cluster node sums on the shards' holders).
func (s *RoutedStore) SumTags(query []store.TagExpr, ds string, req store.FetchRequest) (*store.FetchResult, error) {
	exprs := make([]string, len(query))
	for i, e := range query {
		op, ok := tagOps[e.Op]
		if !ok {
			return nil, fmt.Errorf("tag expression on %q: operator %d has no text form", e.Tag, e.Op)
		}
		exprs[i] = e.Tag + op + e.Value
	}
	res, _, err := s.SumTagged(exprs, ds, req)
	return res, err
}

var tagOps = map[store.TagOp]string{store.TagEq: "=", store.TagNotEq: "!=", store.TagMatch: "=~", store.TagNotMatch: "!=~"}
