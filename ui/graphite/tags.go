package graphite

import (
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"rrdash/store"
)

// The tag API is graphite-web's over the tagged series names (a tag
// database of their own is not needed: the tags are in the names).

// taggedSeries lists the tagged series names with their tags ("name" is
// the path before the first ';').
func (c *catalog) taggedSeries() ([]string, map[string]map[string]string, error) {
	names, err := c.all()
	if err != nil {
		return nil, nil, err
	}
	var out []string
	tags := map[string]map[string]string{}
	for _, n := range names {
		if !strings.Contains(n, ";") {
			continue
		}
		t := parseTags(n)
		if len(t) < 2 {
			continue
		}
		out = append(out, n)
		tags[n] = t
	}
	return out, tags, nil
}

// findSeries is graphite-web's TagDB.find_series: the tagged series
// matching every expression, sorted; at least one expression must need
// a non-empty value.
func (c *catalog) findSeries(exprs []string) ([]string, error) {
	q, err := store.ParseTagQuery(exprs)
	if err != nil {
		return nil, bad("%v", err)
	}
	if !needsValue(q) {
		return nil, bad("at least one tag expression must not match the empty string (tag=value or tag=~regexp)")
	}
	names, _, err := c.taggedSeries()
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, n := range names {
		if store.MatchTags(n, q) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

func exprParams(p params) []string {
	if e := p.list("expr"); len(e) > 0 {
		return e
	}
	return p.list("expr[]")
}

// limitParam is graphite-web's limit, TAGDB_AUTOCOMPLETE_LIMIT (100) by
// default.
func limitParam(p params, def int) (int, error) {
	if !p.has("limit") || p.get("limit") == "" {
		return def, nil
	}
	n, err := strconv.Atoi(p.get("limit"))
	if err != nil || n < 0 {
		return 0, bad("limit %q: want a non-negative integer", p.get("limit"))
	}
	return n, nil
}

// anchoredFilter compiles graphite-web's tag/value filter: anchored at
// the start ("^(" + filter + ")") unless it starts with '^'.
func anchoredFilter(f string) (*regexp.Regexp, error) {
	if f == "" {
		return nil, nil
	}
	if !strings.HasPrefix(f, "^") {
		f = "^(" + f + ")"
	}
	re, err := regexp.Compile(f)
	if err != nil {
		return nil, bad("filter %q: %v", f, err)
	}
	return re, nil
}

// FindSeries is /tags/findSeries?expr=…: the matching tagged series.
func (a *API) FindSeries(w http.ResponseWriter, r *http.Request) {
	err := func() error {
		p, err := readParams(r)
		if err != nil {
			return bad("%v", err)
		}
		exprs := exprParams(p)
		if len(exprs) == 0 {
			return bad("no tag expressions specified")
		}
		out, err := newCatalog(a.st).findSeries(exprs)
		if err != nil {
			return err
		}
		return writeJSONValue(w, out)
	}()
	if err != nil {
		a.fail(w, r, err)
	}
}

type tagInfo struct {
	Tag string `json:"tag"`
}

type valueInfo struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// tagValues counts each tag's values over the tagged series.
func tagValues(names []string, tags map[string]map[string]string) map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, n := range names {
		for k, v := range tags[n] {
			if out[k] == nil {
				out[k] = map[string]int{}
			}
			out[k][v]++
		}
	}
	return out
}

// tagQuery reads the parameters of /tags and /tags/<tag> (filter, limit)
// and counts the series of every tag's values.
func (a *API) tagQuery(r *http.Request) (filter *regexp.Regexp, limit int, values map[string]map[string]int, err error) {
	p, err := readParams(r)
	if err != nil {
		return nil, 0, nil, bad("%v", err)
	}
	if filter, err = anchoredFilter(p.get("filter")); err != nil {
		return nil, 0, nil, err
	}
	if limit, err = limitParam(p, 0); err != nil {
		return nil, 0, nil, err
	}
	names, tags, err := newCatalog(a.st).taggedSeries()
	if err != nil {
		return nil, 0, nil, err
	}
	return filter, limit, tagValues(names, tags), nil
}

// Tags is /tags: every tag name (filter, limit), as {"tag": name}.
func (a *API) Tags(w http.ResponseWriter, r *http.Request) {
	err := func() error {
		re, limit, values, err := a.tagQuery(r)
		if err != nil {
			return err
		}
		var list []string
		for t := range values {
			if re == nil || re.MatchString(t) {
				list = append(list, t)
			}
		}
		sort.Strings(list)
		if limit > 0 && len(list) > limit {
			list = list[:limit]
		}
		out := []tagInfo{}
		for _, t := range list {
			out = append(out, tagInfo{t})
		}
		return writeJSONValue(w, out)
	}()
	if err != nil {
		a.fail(w, r, err)
	}
}

// TagDetails is /tags/<tag>: its values with the number of series each.
func (a *API) TagDetails(tag string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := func() error {
			re, limit, values, err := a.tagQuery(r)
			if err != nil {
				return err
			}
			vals, ok := values[tag]
			if !ok {
				return writeJSONValue(w, nil)
			}
			list := []valueInfo{}
			for v, n := range vals {
				if re == nil || re.MatchString(v) {
					list = append(list, valueInfo{v, n})
				}
			}
			sort.Slice(list, func(i, j int) bool { return list[i].Value < list[j].Value })
			if limit > 0 && len(list) > limit {
				list = list[:limit]
			}
			return writeJSONValue(w, struct {
				Tag    string      `json:"tag"`
				Values []valueInfo `json:"values"`
			}{tag, list})
		}()
		if err != nil {
			a.fail(w, r, err)
		}
	}
}

const autoCompleteLimit = 100 // graphite-web's TAGDB_AUTOCOMPLETE_LIMIT

// AutoCompleteTags is /tags/autoComplete/tags (Grafana's tag editor): tag
// names of the series matching expr (all tags without expr), by tagPrefix.
func (a *API) AutoCompleteTags(w http.ResponseWriter, r *http.Request) {
	err := func() error {
		p, err := readParams(r)
		if err != nil {
			return bad("%v", err)
		}
		limit, err := limitParam(p, autoCompleteLimit)
		if err != nil {
			return err
		}
		prefix := p.get("tagPrefix")
		exprs := exprParams(p)
		cat := newCatalog(a.st)
		names, tags, err := cat.taggedSeries()
		if err != nil {
			return err
		}
		searched := map[string]bool{}
		if len(exprs) > 0 {
			if names, err = cat.findSeries(exprs); err != nil {
				return err
			}
			for _, e := range exprs {
				x, err := store.ParseTagExpr(e)
				if err != nil {
					return bad("%v", err)
				}
				searched[x.Tag] = true
			}
		}
		set := map[string]bool{}
		for _, n := range names {
			for t := range tags[n] {
				if !searched[t] && strings.HasPrefix(t, prefix) {
					set[t] = true
				}
			}
		}
		return writeJSONValue(w, sortedLimited(set, limit))
	}()
	if err != nil {
		a.fail(w, r, err)
	}
}

// AutoCompleteValues is /tags/autoComplete/values: the values of tag among
// the series matching expr, by valuePrefix.
func (a *API) AutoCompleteValues(w http.ResponseWriter, r *http.Request) {
	err := func() error {
		p, err := readParams(r)
		if err != nil {
			return bad("%v", err)
		}
		tag := p.get("tag")
		if tag == "" {
			return bad("no tag specified")
		}
		limit, err := limitParam(p, autoCompleteLimit)
		if err != nil {
			return err
		}
		prefix := p.get("valuePrefix")
		exprs := exprParams(p)
		cat := newCatalog(a.st)
		names, tags, err := cat.taggedSeries()
		if err != nil {
			return err
		}
		if len(exprs) > 0 {
			if names, err = cat.findSeries(append(append([]string{}, exprs...), tag+"!=")); err != nil {
				return err
			}
		}
		set := map[string]bool{}
		for _, n := range names {
			if v, ok := tags[n][tag]; ok && strings.HasPrefix(v, prefix) {
				set[v] = true
			}
		}
		return writeJSONValue(w, sortedLimited(set, limit))
	}()
	if err != nil {
		a.fail(w, r, err)
	}
}

func sortedLimited(set map[string]bool, limit int) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// needsValue is graphite-web's rule that a tag query must not match
// everything: one expression is tag=value (non-empty) or tag=~re where
// re does not match the empty string.
func needsValue(q []store.TagExpr) bool {
	for _, x := range q {
		switch x.Op {
		case store.TagEq:
			if x.Value != "" {
				return true
			}
		case store.TagMatch:
			if re, err := regexp.Compile("^(?:" + x.Value + ")"); err == nil && !re.MatchString("") {
				return true
			}
		}
	}
	return false
}
