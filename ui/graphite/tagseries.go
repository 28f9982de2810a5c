package graphite

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"rrdash/store"
)

// graphite-web's /tags/tagSeries and /tags/tagMultiSeries enter a path into
// its tag database and answer the path in canonical form (tags sorted).
// rrdash has no tag database: a series' tags are its name, indexed when
// the series is written. So these answer the canonical form of a series
// that exists (the name graphite-web would file it under) and refuse one
// that does not, saying why, rather than pretend to register it.

// canonicalTagged parses a tagged path as graphite-web's TaggedSeries
// (carbon's "name;tag=value;…" or OpenMetrics' `name{tag="value",…}`),
// with its checks and messages, and formats it as graphite-web does.
func canonicalTagged(path string) (string, error) {
	var metric string
	tags := map[string]string{}
	if strings.HasSuffix(path, `"}`) && strings.Contains(path, "{") {
		var raw string
		metric, raw, _ = strings.Cut(path[:len(path)-1], "{")
		if metric == "" {
			return "", fmt.Errorf("Cannot parse path %s, no metric found", path)
		}
		for raw != "" {
			k, v, n, ok := openMetricsSegment(raw)
			if !ok {
				return "", fmt.Errorf("Cannot parse path %s, invalid segment %s", path, raw)
			}
			if err := validateTag(k, v); err != nil {
				return "", err
			}
			tags[k] = v
			raw = raw[n:]
		}
	} else {
		segs := strings.Split(path, ";")
		metric = segs[0]
		if metric == "" {
			return "", fmt.Errorf("Cannot parse path %s, no metric found", path)
		}
		for _, seg := range segs[1:] {
			k, v, ok := strings.Cut(seg, "=")
			if !ok || k == "" {
				return "", fmt.Errorf("Cannot parse path %s, invalid segment %s", path, seg)
			}
			if err := validateTag(k, v); err != nil {
				return "", err
			}
			tags[k] = v
		}
	}
	name := strings.TrimLeft(metric, "~")
	if name == "" {
		return "", fmt.Errorf("Cannot use metric name %s as tag value, results in emptry string", metric)
	}
	// graphite-web sorts the formatted ";tag=value" strings
	var parts []string
	for k, v := range tags {
		if k != "name" {
			parts = append(parts, ";"+k+"="+v)
		}
	}
	sort.Strings(parts)
	// the metric is the name: a "name" tag in the path is overwritten by it
	return name + strings.Join(parts, ""), nil
}

// openMetricsSegment reads `tag="value"` and its separator (",", ":,"
// or the end, as graphite-web's pattern allows) from the start of raw: the
// tag, the value with \" and \\ unescaped, and the bytes read. Hand-written:
// a regexp compiled at package init would cost every rrdash process.
func openMetricsSegment(raw string) (tag, value string, n int, ok bool) {
	eq := strings.IndexByte(raw, '=')
	if eq <= 0 || eq+1 >= len(raw) || raw[eq+1] != '"' {
		return "", "", 0, false
	}
	var b strings.Builder
	i := eq + 2
	for ; i < len(raw) && raw[i] != '"'; i++ {
		switch c := raw[i]; {
		case c == '\\' && i+1 < len(raw) && (raw[i+1] == '"' || raw[i+1] == '\\'):
			b.WriteByte(raw[i+1])
			i++
		case c == '\\':
			return "", "", 0, false
		default:
			b.WriteByte(c)
		}
	}
	if i >= len(raw) || b.Len() == 0 {
		return "", "", 0, false
	}
	i++ // the closing quote
	switch {
	case strings.HasPrefix(raw[i:], ":,"):
		i += 2
	case strings.HasPrefix(raw[i:], ","):
		i++
	case i != len(raw):
		return "", "", 0, false
	}
	return raw[:eq], b.String(), i, true
}

func validateTag(tag, value string) error {
	switch {
	case tag == "":
		return errors.New("Tag may not be empty")
	case value == "":
		return fmt.Errorf("Value for tag %q may not be empty", tag)
	case strings.ContainsAny(tag, ";!^="):
		return fmt.Errorf("Character %q is not allowed in tag %q", tag[strings.IndexAny(tag, ";!^=")], tag)
	case strings.Contains(value, ";"):
		return fmt.Errorf("Character \";\" is not allowed in value %q of tag %s", value, tag)
	case value[0] == '~':
		return fmt.Errorf("Tag values are not allowed to start with \"~\" in tag %q", tag)
	}
	return nil
}

// tagSeries is one path's answer: its canonical form, if it names a series.
func (a *API) tagSeries(path string) (string, error) {
	c, err := canonicalTagged(path)
	if err != nil {
		return "", bad("%v", err)
	}
	for _, n := range []string{c, path} {
		if _, err := a.st.Spec(n); err == nil {
			return c, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
	}
	return "", bad("series %s does not exist: rrdash has no separate tag database, a series is tagged by its name when it is first written (then findSeries lists it)", c)
}

// TagSeries is POST /tags/tagSeries (path=…).
func (a *API) TagSeries(w http.ResponseWriter, r *http.Request) {
	a.tagPaths(w, r, false)
}

// TagMultiSeries is POST /tags/tagMultiSeries (path=… or path[]=…, repeated).
func (a *API) TagMultiSeries(w http.ResponseWriter, r *http.Request) {
	a.tagPaths(w, r, true)
}

func (a *API) tagPaths(w http.ResponseWriter, r *http.Request, multi bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	err := func() error {
		p, err := readParams(r)
		if err != nil {
			return bad("%v", err)
		}
		if !multi {
			path := p.get("path")
			if path == "" {
				return bad("no path specified")
			}
			c, err := a.tagSeries(path)
			if err != nil {
				return err
			}
			return writeJSONValue(w, c)
		}
		paths := p.list("path")
		if len(paths) == 0 {
			paths = p.list("path[]")
		}
		if len(paths) == 0 {
			return bad("no paths specified")
		}
		out := make([]string, 0, len(paths))
		for _, path := range paths {
			c, err := a.tagSeries(path)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return writeJSONValue(w, out)
	}()
	if err != nil {
		a.fail(w, r, err)
	}
}
