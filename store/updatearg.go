package store

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseUpdateArg parses one rrdupdate argument "T:v1:v2…" where T is epoch
// seconds (fractions allowed) or N for now. tmpl maps the values to data
// source indexes (nil: in DS order); data sources not named stay unknown.
// now is used for N.
func ParseUpdateArg(arg string, tmpl []int, nds int, now ...time.Time) (Update, error) {
	i := strings.IndexByte(arg, ':')
	if i < 0 {
		return Update{}, fmt.Errorf("expected timestamp not found in data source from %s", arg)
	}
	ts, rest := arg[:i], arg[i+1:]
	parts := strings.Split(rest, ":")
	want := nds
	if tmpl != nil {
		want = len(tmpl)
	}
	if len(parts) != want {
		return Update{}, fmt.Errorf("expected %d data source readings (got %d) from %s", want, len(parts), arg)
	}
	var u Update
	switch {
	case ts == "N":
		n := time.Now()
		if len(now) > 0 {
			n = now[0]
		}
		u.Time, u.Usec = n.Unix(), int64(n.Nanosecond()/1000)
	default:
		if n, err := strconv.ParseInt(ts, 10, 64); err == nil && n >= 0 {
			u.Time = n // the common case: whole seconds
			break
		}
		f, err := strconv.ParseFloat(ts, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1<<53 {
			return Update{}, fmt.Errorf("invalid timestamp %q in %s: want epoch seconds or N", ts, arg)
		}
		fl := math.Floor(f)
		u.Time, u.Usec = int64(fl), int64((f-fl)*1e6)
	}
	if tmpl == nil {
		u.Values = parts
		return u, nil
	}
	u.Values = make([]string, nds)
	for k := range u.Values {
		u.Values[k] = "U"
	}
	for k, idx := range tmpl {
		u.Values[idx] = parts[k]
	}
	return u, nil
}

// ParseTemplate turns "--template a:b" into DS indexes.
func ParseTemplate(spec *Spec, tmpl string) ([]int, error) {
	if tmpl == "" {
		return nil, nil
	}
	var idx []int
	seen := map[int]bool{}
	for _, name := range strings.Split(tmpl, ":") {
		k := -1
		for i, ds := range spec.DS {
			if ds.Name == name {
				k = i
			}
		}
		if k < 0 {
			return nil, fmt.Errorf("unknown DS name '%s' in template", name)
		}
		if seen[k] {
			return nil, fmt.Errorf("DS name '%s' appears twice in template", name)
		}
		seen[k] = true
		idx = append(idx, k)
	}
	return idx, nil
}
