package store

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"rrdash/store/attime"
)

// ParseUpdateArg parses one rrdupdate argument "T:v1:v2…" where T is epoch
// seconds (fractions allowed; negative: relative to now) or N for now, or
// "AT-TIME@v1:v2…" with an AT-style time (rrdfetch(1), local time zone).
// tmpl maps the values to data source indexes (nil: in DS order); data
// sources not named stay unknown. now is the clock (time.Now if absent).
func ParseUpdateArg(arg string, tmpl []int, nds int, now ...time.Time) (Update, error) {
	var clock time.Time
	if len(now) > 0 {
		clock = now[0]
	}
	return ParseUpdateArgInto(arg, tmpl, nds, clock, make([]string, nds))
}

// ParseUpdateArgInto is ParseUpdateArg with the values stored in vals
// (len(vals) == nds), which the returned Update keeps: a caller parsing
// many ARGs hands out slices of one array instead of allocating per ARG.
// A zero now means time.Now.
func ParseUpdateArgInto(arg string, tmpl []int, nds int, now time.Time, vals []string) (Update, error) {
	i := strings.IndexByte(arg, ':')
	if i < 0 { // rrdtool wants a ':' even with '@' (so "T@v" needs two DS)
		return Update{}, fmt.Errorf("expected timestamp not found in data source from %s", arg)
	}
	at := strings.IndexByte(arg, '@')
	if at >= 0 {
		i = at
	}
	ts, rest := arg[:i], arg[i+1:]
	want := nds
	if tmpl != nil {
		want = len(tmpl)
	}
	if got := strings.Count(rest, ":") + 1; got != want {
		return Update{}, fmt.Errorf("expected %d data source readings (got %d) from %s", want, got, arg)
	}
	clock := func() time.Time {
		if !now.IsZero() {
			return now
		}
		return time.Now()
	}
	var u Update
	switch {
	case at >= 0:
		t, err := attime.Parse(ts, clock(), time.Local)
		if err != nil {
			return Update{}, fmt.Errorf("ds time: %s: %w", arg, err)
		}
		u.Time = t
	case ts == "N":
		n := clock()
		u.Time, u.Usec = n.Unix(), int64(n.Nanosecond()/1000)
	default:
		if n, err := strconv.ParseInt(ts, 10, 64); err == nil && n >= 0 {
			u.Time = n // the common case: whole seconds
			break
		}
		f, err := strconv.ParseFloat(ts, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f > 1<<53 || f < -(1<<40) {
			return Update{}, fmt.Errorf("invalid timestamp %q in %s: want epoch seconds, -seconds, N or AT-TIME@", ts, arg)
		}
		if f < 0 {
			// rrdtool adds the clock with its microseconds scaled by the
			// float 1e-6f.
			n := clock()
			f += float64(n.Unix()) + float64(n.Nanosecond()/1000)*float64(float32(1e-6))
		}
		fl := math.Floor(f)
		u.Time, u.Usec = int64(fl), int64((f-fl)*1e6)
	}
	u.Values = vals[:nds]
	if tmpl != nil {
		for k := range u.Values {
			u.Values[k] = "U"
		}
	}
	for k := 0; k < want; k++ {
		v := rest
		if j := strings.IndexByte(rest, ':'); j >= 0 {
			v, rest = rest[:j], rest[j+1:]
		}
		if tmpl != nil {
			u.Values[tmpl[k]] = v
		} else {
			u.Values[k] = v
		}
	}
	return u, nil
}

// ParseTemplate turns "--template a:b" into DS indexes. Without one, an
// update gives every data source but the COMPUTE ones (Spec.InputIndexes).
func ParseTemplate(spec *Spec, tmpl string) ([]int, error) {
	if tmpl == "" {
		return spec.InputIndexes(), nil
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
