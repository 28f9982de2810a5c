package graphite

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

func intParam(p params, k string, def int) (int, error) {
	if !p.has(k) {
		return def, nil
	}
	n, err := strconv.Atoi(p.get(k))
	if err != nil {
		return 0, bad("invalid int value %q for param %s", p.get(k), k)
	}
	return n, nil
}

func writeJSONValue(w http.ResponseWriter, v any) error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Pragma", "no-cache")
	_, err := w.Write(buf.Bytes())
	return err
}

type treeNode struct {
	Text          string `json:"text,omitempty"`
	ID            string `json:"id"`
	AllowChildren int    `json:"allowChildren"`
	Expandable    int    `json:"expandable"`
	Leaf          int    `json:"leaf"`
}

type completerNode struct {
	Path   string `json:"path,omitempty"`
	Name   string `json:"name"`
	IsLeaf string `json:"is_leaf,omitempty"`
}

// Find is /metrics/find: the branch and leaf nodes a query matches, as
// treejson (Grafana's and graphite-web's tree), completer or nodelist.
// from/until are parsed and checked like graphite-web's; as with its
// standard (whisper) finder they do not filter the nodes.
func (a *API) Find(w http.ResponseWriter, r *http.Request) {
	if err := a.find(w, r); err != nil {
		a.fail(w, r, err)
	}
}

func (a *API) find(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return bad("%v", err)
	}
	format := p.get("format")
	if format == "" {
		format = "treejson"
	}
	wildcards, err := intParam(p, "wildcards", 0)
	if err != nil {
		return err
	}
	leavesOnly, err := intParam(p, "leavesOnly", 0)
	if err != nil {
		return err
	}
	position, err := intParam(p, "position", -1)
	if err != nil {
		return err
	}
	variants, err := intParam(p, "automatic_variants", 0)
	if err != nil {
		return err
	}
	if p.has("jsonp") {
		return bad("jsonp is not supported")
	}
	// from/until/now/tz: checked, as graphite-web checks them
	if _, _, _, _, err := a.timeRangeLoose(p); err != nil {
		return err
	}
	if !p.has("query") {
		return bad("missing required parameter 'query'")
	}
	query := p.get("query")
	if query == "" {
		return bad("required parameter 'query' is empty")
	}
	base := ""
	if i := strings.LastIndexByte(query, '.'); i >= 0 {
		base = query[:i] + "."
	}
	if format == "completer" {
		query = strings.ReplaceAll(query, "..", "*.")
		if !strings.HasSuffix(query, "*") {
			query += "*"
		}
		if variants != 0 {
			parts := strings.Split(query, ".")
			for i, s := range parts {
				if strings.Contains(s, ",") && !strings.Contains(s, "{") {
					parts[i] = "{" + s + "}"
				}
			}
			query = strings.Join(parts, ".")
		}
	}
	switch format {
	case "treejson", "completer", "nodelist":
	default:
		return bad("invalid value for 'format' parameter %q: want treejson, completer or nodelist", format)
	}
	nodes, err := newCatalog(a.st).find(query)
	if err != nil {
		return bad("query %q: %v", query, err)
	}
	if leavesOnly != 0 {
		kept := nodes[:0]
		for _, n := range nodes {
			if n.IsLeaf {
				kept = append(kept, n)
			}
		}
		nodes = kept
	}
	sort.SliceStable(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	switch format {
	case "treejson":
		return writeJSONValue(w, treeJSON(nodes, base, wildcards != 0))
	case "nodelist":
		found := map[string]bool{}
		for _, n := range nodes {
			parts := strings.Split(n.Path, ".")
			i := position
			if i < 0 {
				i += len(parts)
			}
			if i < 0 || i >= len(parts) {
				return bad("position %d is out of range for %s", position, n.Path)
			}
			found[parts[i]] = true
		}
		list := make([]string, 0, len(found))
		for k := range found {
			list = append(list, k)
		}
		sort.Strings(list)
		return writeJSONValue(w, map[string][]string{"nodes": list})
	default:
		res := []completerNode{}
		for _, n := range nodes {
			c := completerNode{Path: n.Path, Name: n.Name, IsLeaf: "0"}
			if n.IsLeaf {
				c.IsLeaf = "1"
			} else {
				c.Path += "."
			}
			res = append(res, c)
		}
		if len(res) > 1 && wildcards != 0 {
			res = append(res, completerNode{Name: "*"})
		}
		return writeJSONValue(w, map[string][]completerNode{"metrics": res})
	}
}

// timeRangeLoose is find's: from and until are optional (-1 = none).
func (a *API) timeRangeLoose(p params) (from, until, now int64, loc *time.Location, err error) {
	q := params{q: url.Values{}, f: url.Values{}}
	for _, k := range []string{"tz", "now"} {
		if p.has(k) {
			q.q.Set(k, p.get(k))
		}
	}
	for _, k := range []string{"from", "until"} {
		if p.has(k) && p.get(k) != "-1" {
			q.q.Set(k, p.get(k))
		}
	}
	from, until, now, loc, err = a.timeRange(q)
	var br *badRequest
	if err != nil && asBad(err, &br) && br.msg == "invalid empty time range" {
		err = nil
	}
	return from, until, now, loc, err
}

func asBad(err error, br **badRequest) bool {
	b, ok := err.(*badRequest)
	if ok {
		*br = b
	}
	return ok
}

func treeJSON(nodes []node, base string, wildcards bool) []treeNode {
	out := []treeNode{}
	branch := func(t treeNode) treeNode { t.AllowChildren, t.Expandable, t.Leaf = 1, 1, 0; return t }
	leafN := func(t treeNode) treeNode { t.AllowChildren, t.Expandable, t.Leaf = 0, 0, 1; return t }
	if len(nodes) > 1 && wildcards {
		wc := treeNode{Text: "*", ID: base + "*"}
		anyBranch := false
		for _, n := range nodes {
			if !n.IsLeaf {
				anyBranch = true
			}
		}
		if anyBranch {
			wc = branch(wc)
		} else {
			wc = leafN(wc)
		}
		out = append(out, wc)
	}
	seen := map[string]bool{}
	var branches, leaves []treeNode
	for _, n := range nodes {
		if seen[n.Name] {
			continue
		}
		seen[n.Name] = true
		text, err := url.QueryUnescape(n.Name)
		if err != nil {
			text = n.Name
		}
		t := treeNode{Text: text, ID: base + n.Name}
		if n.IsLeaf {
			leaves = append(leaves, leafN(t))
		} else {
			branches = append(branches, branch(t))
		}
	}
	out = append(out, branches...)
	return append(out, leaves...)
}

// Expand is /metrics/expand: the paths each query matches, merged and
// sorted, or per query with groupByExpr=1.
func (a *API) Expand(w http.ResponseWriter, r *http.Request) {
	if err := a.expand(w, r); err != nil {
		a.fail(w, r, err)
	}
}

func (a *API) expand(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return bad("%v", err)
	}
	group, err := intParam(p, "groupByExpr", 0)
	if err != nil {
		return err
	}
	leavesOnly, err := intParam(p, "leavesOnly", 0)
	if err != nil {
		return err
	}
	if p.has("jsonp") {
		return bad("jsonp is not supported")
	}
	cat := newCatalog(a.st)
	per := map[string][]string{}
	all := map[string]bool{}
	for _, q := range p.list("query") {
		nodes, err := cat.find(q)
		if err != nil {
			return bad("query %q: %v", q, err)
		}
		set := map[string]bool{}
		for _, n := range nodes {
			if n.IsLeaf || leavesOnly == 0 {
				set[n.Path] = true
				all[n.Path] = true
			}
		}
		l := make([]string, 0, len(set))
		for k := range set {
			l = append(l, k)
		}
		sort.Strings(l)
		per[q] = l
	}
	if group != 0 {
		return writeJSONValue(w, map[string]any{"results": per})
	}
	l := make([]string, 0, len(all))
	for k := range all {
		l = append(l, k)
	}
	sort.Strings(l)
	return writeJSONValue(w, map[string]any{"results": l})
}

// Index is /metrics/index.json: every leaf path, sorted (tagged series
// included under their tagged names).
func (a *API) Index(w http.ResponseWriter, r *http.Request) {
	cat := newCatalog(a.st)
	ix, err := cat.nodeIndex()
	if err != nil {
		a.fail(w, r, err)
		return
	}
	all, err := ix.AllNodes()
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]string, 0, len(all))
	for _, m := range all {
		if m.NDS == 1 {
			out = append(out, m.Path)
			continue
		}
		sp, err := cat.spec(m.Path)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if len(sp.DS) == 1 {
			out = append(out, m.Path)
			continue
		}
		path, tags, tagged := strings.Cut(m.Path, ";")
		for _, ds := range sp.DS {
			if tagged {
				out = append(out, path+"."+ds.Name+";"+tags)
			} else {
				out = append(out, m.Path+"."+ds.Name)
			}
		}
	}
	sort.Strings(out)
	if err := writeJSONValue(w, out); err != nil {
		a.log.Debug("index.json write", "error", err)
	}
}
