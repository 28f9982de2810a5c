package graphite

import (
	"fmt"
	"regexp"
	"strings"
)

// A pattern is a Graphite path expression split into nodes at '.', each
// node matched as graphite-web's standard finder does: {a,b} alternatives
// are expanded first (innermost braces, recursively), then each variant is
// an fnmatch pattern (* any run, ? one character, [seq], [!seq]) matched
// against one node. A backslash is dropped, as graphite-web drops it.
type pattern struct {
	nodes []nodeMatcher
}

type nodeMatcher struct {
	literal string         // when re is nil
	re      *regexp.Regexp // for wildcard nodes
}

func (m nodeMatcher) match(s string) bool {
	if m.re == nil {
		return s == m.literal
	}
	return m.re.MatchString(s)
}

// maxBraceVariants bounds {a,b}{c,d}... expansion.
const maxBraceVariants = 4096

func compilePattern(expr string) (*pattern, error) {
	clean := strings.ReplaceAll(expr, `\`, "")
	if clean == "" {
		return nil, fmt.Errorf("empty path expression")
	}
	parts := strings.Split(clean, ".")
	p := &pattern{nodes: make([]nodeMatcher, len(parts))}
	for i, part := range parts {
		if !isPattern(part) {
			p.nodes[i] = nodeMatcher{literal: part}
			continue
		}
		variants, err := expandBraces(part, 0)
		if err != nil {
			return nil, fmt.Errorf("path expression %q node %d: %w", expr, i, err)
		}
		alts := make([]string, len(variants))
		for j, v := range variants {
			alts[j] = fnmatchRegexp(v)
		}
		re, err := regexp.Compile(`^(?s:` + strings.Join(alts, "|") + `)$`)
		if err != nil {
			return nil, fmt.Errorf("path expression %q node %d: %w", expr, i, err)
		}
		p.nodes[i] = nodeMatcher{re: re}
	}
	return p, nil
}

// isPattern is graphite's is_pattern: any of * ? [ {.
func isPattern(s string) bool { return strings.ContainsAny(s, "*?[{") }

// expandBraces expands the first innermost "{...}" group (one without
// braces inside), recursively, as graphite-web's expand_braces.
func expandBraces(s string, depth int) ([]string, error) {
	open := -1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			open = i
		case '}':
			if open >= 0 {
				var out []string
				for _, alt := range strings.Split(s[open+1:i], ",") {
					sub, err := expandBraces(s[:open]+alt+s[i+1:], depth+1)
					if err != nil {
						return nil, err
					}
					out = append(out, sub...)
					if len(out) > maxBraceVariants {
						return nil, fmt.Errorf("more than %d {…} variants", maxBraceVariants)
					}
				}
				return dedup(out), nil
			}
		}
	}
	return []string{s}, nil
}

func dedup(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := in[:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// fnmatchRegexp translates an fnmatch pattern as Python's fnmatch.translate:
// a '[' without a closing ']' is a literal, "[!" negates, a ']' right after
// "[" or "[!" is a member.
func fnmatchRegexp(pat string) string {
	var b strings.Builder
	rs := []rune(pat)
	n := len(rs)
	for i := 0; i < n; {
		c := rs[i]
		i++
		switch c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			j := i
			if j < n && rs[j] == '!' {
				j++
			}
			if j < n && rs[j] == ']' {
				j++
			}
			for j < n && rs[j] != ']' {
				j++
			}
			if j >= n {
				b.WriteString(`\[`)
				continue
			}
			stuff := rs[i:j]
			i = j + 1
			b.WriteByte('[')
			k := 0
			if len(stuff) > 0 && stuff[0] == '!' {
				b.WriteByte('^')
				k = 1
			} else if len(stuff) > 0 && stuff[0] == '^' {
				b.WriteString(`\^`)
				k = 1
			}
			for ; k < len(stuff); k++ {
				switch r := stuff[k]; r {
				case '\\', '[', ']', '^':
					b.WriteByte('\\')
					b.WriteRune(r)
				case '-':
					// a range dash between two members; at either end a literal
					if k == 0 || k == len(stuff)-1 || k == 1 && stuff[0] == '!' {
						b.WriteString(`\-`)
					} else {
						b.WriteByte('-')
					}
				default:
					b.WriteRune(r)
				}
			}
			b.WriteByte(']')
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	return b.String()
}

// matchPath reports whether the first len(nodes) nodes of a path match.
func (p *pattern) matchNodes(nodes []string) bool {
	if len(nodes) != len(p.nodes) {
		return false
	}
	for i, n := range nodes {
		if !p.nodes[i].match(n) {
			return false
		}
	}
	return true
}
