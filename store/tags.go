package store

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// SplitTags splits a Graphite-style tagged name "path;k1=v1;k2=v2" into
// its path and tags. Parts without '=' are kept as a tag with an empty
// name so that no part of a name is silently ignored by a match.
func SplitTags(name string) (path string, tags map[string]string) {
	path, rest, ok := strings.Cut(name, ";")
	if !ok {
		return path, nil
	}
	tags = map[string]string{}
	for _, p := range strings.Split(rest, ";") {
		k, v, _ := strings.Cut(p, "=")
		tags[k] = v
	}
	return path, tags
}

// TagOp is a tag expression's operator.
type TagOp int

// Tag expression operators, as Graphite's seriesByTag.
const (
	TagEq       TagOp = iota // tag=value (or a glob with * and ?)
	TagNotEq                 // tag!=value (or glob)
	TagMatch                 // tag=~regexp
	TagNotMatch              // tag!=~regexp
)

// TagExpr is one seriesByTag-like filter on a tagged series name. The tag
// "name" is the name's path (before the first ';').
//
//	tag=value    the tag is value; with * (any run of characters, '/' and
//	             ':' included) or ? (one character) value is a glob
//	tag!=value   the tag is not value (or glob); a series without the tag
//	             matches
//	tag=~re      the tag matches the regular expression re (RE2), anchored
//	             at the start as in Graphite
//	tag!=~re     the tag does not match re
//	tag=         the series has no such tag (or an empty one); tag!= : it has
type TagExpr struct {
	Tag   string
	Op    TagOp
	Value string
	re    *regexp.Regexp // regexps and globs
}

// ParseTagExpr parses one expression.
func ParseTagExpr(s string) (TagExpr, error) {
	if !utf8.ValidString(s) {
		return TagExpr{}, fmt.Errorf("tag expression %q is not valid UTF-8", s)
	}
	i := strings.IndexAny(s, "!=")
	if i <= 0 {
		return TagExpr{}, fmt.Errorf("tag expression %q: want tag=value, tag!=value, tag=~regexp or tag!=~regexp", s)
	}
	e := TagExpr{Tag: s[:i]}
	rest := s[i:]
	switch {
	case strings.HasPrefix(rest, "!=~"):
		e.Op, e.Value = TagNotMatch, rest[3:]
	case strings.HasPrefix(rest, "=~"):
		e.Op, e.Value = TagMatch, rest[2:]
	case strings.HasPrefix(rest, "!="):
		e.Op, e.Value = TagNotEq, rest[2:]
	case strings.HasPrefix(rest, "="):
		e.Op, e.Value = TagEq, rest[1:]
	default:
		return TagExpr{}, fmt.Errorf("tag expression %q: '!' must be followed by '='", s)
	}
	if strings.ContainsAny(e.Tag, "=!;~ ") {
		return TagExpr{}, fmt.Errorf("tag expression %q: invalid tag name %q", s, e.Tag)
	}
	var err error
	switch e.Op {
	case TagMatch, TagNotMatch:
		if e.re, err = regexp.Compile("^(?:" + e.Value + ")"); err != nil {
			return TagExpr{}, fmt.Errorf("tag expression %q: %w", s, err)
		}
	default:
		if strings.ContainsAny(e.Value, "*?") {
			e.re = globRegexp(e.Value)
		}
	}
	return e, nil
}

// globRegexp turns a glob with * and ? (no classes) into an anchored regexp.
func globRegexp(g string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for _, part := range strings.SplitAfter(g, "") {
		switch part {
		case "*":
			b.WriteString("(?s:.*)")
		case "?":
			b.WriteString("(?s:.)")
		default:
			b.WriteString(regexp.QuoteMeta(part))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String()) // quoted input: always valid
}

// Match reports whether a series with the given path and tags passes.
func (e TagExpr) Match(path string, tags map[string]string) bool {
	v, has := tags[e.Tag]
	if e.Tag == "name" {
		v, has = path, true
	}
	var eq bool
	switch {
	case e.re != nil:
		eq = has && e.re.MatchString(v)
	case e.Value == "":
		eq = !has || v == ""
	default:
		eq = has && v == e.Value
	}
	if e.Op == TagNotEq || e.Op == TagNotMatch {
		return !eq
	}
	return eq
}

// ParseTagQuery parses a list of expressions; each element is one
// expression or a whole seriesByTag('expr', 'expr', …) call.
func ParseTagQuery(args []string) ([]TagExpr, error) {
	var out []TagExpr
	for _, a := range args {
		exprs := []string{a}
		if inner, ok := strings.CutPrefix(strings.TrimSpace(a), "seriesByTag("); ok {
			var err error
			if exprs, err = splitSeriesByTag(inner); err != nil {
				return nil, err
			}
		}
		for _, s := range exprs {
			e, err := ParseTagExpr(s)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// splitSeriesByTag reads "'a', \"b\")": quoted strings separated by
// commas, then the closing parenthesis. No escapes, as in Graphite.
func splitSeriesByTag(s string) ([]string, error) {
	var out []string
	s = strings.TrimSpace(s)
	for {
		if s == "" {
			return nil, fmt.Errorf("seriesByTag: missing ')'")
		}
		if s[0] == ')' {
			if strings.TrimSpace(s[1:]) != "" {
				return nil, fmt.Errorf("seriesByTag: unexpected %q after ')'", s[1:])
			}
			if len(out) == 0 {
				return nil, fmt.Errorf("seriesByTag: no expressions")
			}
			return out, nil
		}
		q := s[0]
		if q != '\'' && q != '"' {
			return nil, fmt.Errorf("seriesByTag: want a quoted expression at %q", s)
		}
		end := strings.IndexByte(s[1:], q)
		if end < 0 {
			return nil, fmt.Errorf("seriesByTag: unterminated string %q", s)
		}
		out = append(out, s[1:1+end])
		s = strings.TrimSpace(s[2+end:])
		if strings.HasPrefix(s, ",") {
			s = strings.TrimSpace(s[1:])
			if strings.HasPrefix(s, ")") {
				return nil, fmt.Errorf("seriesByTag: ',' before ')'")
			}
		} else if !strings.HasPrefix(s, ")") {
			return nil, fmt.Errorf("seriesByTag: want ',' or ')' at %q", s)
		}
	}
}

// MatchTags reports whether a series name passes every expression.
func MatchTags(name string, exprs []TagExpr) bool {
	if len(exprs) == 0 {
		return true
	}
	path, tags := SplitTags(name)
	for _, e := range exprs {
		if !e.Match(path, tags) {
			return false
		}
	}
	return true
}
