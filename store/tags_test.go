package store

import (
	"strconv"
	"strings"
	"testing"
)

func TestTagQueries(t *testing.T) {
	t.Parallel()
	names := []string{
		"rrdash.requests;route=GET:/g/{id};status_code=200",
		"rrdash.requests;route=GET:/g/{id};status_code=404",
		"rrdash.requests;route=GET:/;status_code=200",
		"rrdash.requests;route=POST:/api/v1/write;status_code=204",
		"rrdash.errors;error_code=not_found;route=unmatched;status_code=404",
		"cpu.usage;dc=x;host=b",
		"tracelog.web1",
	}
	tests := []struct {
		query []string
		want  []int // indexes into names
	}{
		{[]string{"name=rrdash.requests"}, []int{0, 1, 2, 3}},
		{[]string{"name=rrdash.requests", "route=GET:/g*"}, []int{0, 1}},
		{[]string{"name=rrdash.requests", "status_code!=200"}, []int{1, 3}},
		{[]string{"route=~GET:"}, []int{0, 1, 2}},
		{[]string{"route=~(GET|POST):/api"}, []int{3}},
		{[]string{"route!=~GET"}, []int{3, 4, 5, 6}},
		{[]string{"status_code=20?"}, []int{0, 2, 3}},
		{[]string{"name=*.requests", "route=GET:/"}, []int{2}},
		{[]string{"host="}, []int{0, 1, 2, 3, 4, 6}},
		{[]string{"host!="}, []int{5}},
		{[]string{"name=tracelog.*"}, []int{6}},
		{[]string{"seriesByTag('name=rrdash.requests', \"status_code=~4\")"}, []int{1}},
		{[]string{"name=~rrdash", "error_code=not_found"}, []int{4}},
		{[]string{"route=GET:/g/{id}"}, []int{0, 1}},
	}
	for _, tc := range tests {
		exprs, err := ParseTagQuery(tc.query)
		if err != nil {
			t.Fatalf("%v: %v", tc.query, err)
		}
		var got []int
		for i, n := range names {
			if MatchTags(n, exprs) {
				got = append(got, i)
			}
		}
		if fmtInts(got) != fmtInts(tc.want) {
			t.Errorf("%v matched %v, want %v", tc.query, got, tc.want)
		}
	}
}

func fmtInts(v []int) string {
	var b strings.Builder
	for i, n := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

func TestTagQueryErrors(t *testing.T) {
	t.Parallel()
	for _, q := range []string{"", "=x", "route", "route!x", "route=~(", "a b=c", "seriesByTag(", "seriesByTag()",
		"seriesByTag('a=b'", "seriesByTag('a=b',)", "seriesByTag('a=b') x", "seriesByTag(a=b)", "seriesByTag('a=b' 'c=d')", "seriesByTag('x')"} {
		if _, err := ParseTagQuery([]string{q}); err == nil {
			t.Errorf("%q: no error", q)
		} else if !strings.Contains(err.Error(), "tag expression") && !strings.Contains(err.Error(), "seriesByTag") {
			t.Errorf("%q: error %q does not say what", q, err)
		}
	}
}

func FuzzTagQuery(f *testing.F) {
	for _, s := range []string{"name=rrdash.requests", "route=GET:/g*", "status_code!=200", "route=~GET:/(g|u)/", "x!=~a|b",
		"seriesByTag('a=b', \"c!=d\")", "a=", "a!=", "a=?*?", "seriesByTag('"} {
		f.Add(s, "rrdash.requests;route=GET:/g/{id};status_code=200")
	}
	f.Fuzz(func(t *testing.T, q, name string) {
		exprs, err := ParseTagQuery([]string{q})
		if err != nil {
			return
		}
		all := MatchTags(name, exprs)
		// A negated expression matches exactly when its positive form does not.
		for _, e := range exprs {
			neg := e
			switch e.Op {
			case TagEq:
				neg.Op = TagNotEq
			case TagNotEq:
				neg.Op = TagEq
			case TagMatch:
				neg.Op = TagNotMatch
			case TagNotMatch:
				neg.Op = TagMatch
			}
			p, tags := SplitTags(name)
			if e.Match(p, tags) == neg.Match(p, tags) {
				t.Fatalf("%q and its negation agree on %q", q, name)
			}
		}
		for _, e := range exprs {
			p, tags := SplitTags(name)
			if all && !e.Match(p, tags) {
				t.Fatalf("%q: every expression must hold for a match on %q", q, name)
			}
		}
	})
}
