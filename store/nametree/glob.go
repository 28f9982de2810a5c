// Package nametree indexes series names as a tree of their dot-separated
// nodes and matches Graphite path globs against it, so that a find over a
// million names walks the few branches a pattern can reach instead of
// every name.
package nametree

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// A Pattern is a Graphite path expression split into nodes at '.', each
// node matched as graphite-web's standard finder matches one directory
// entry: {a,b} alternatives are expanded first (innermost braces,
// recursively), then each variant is an fnmatch pattern (* any run, ? one
// character, [seq], [!seq]). A backslash is dropped, as graphite-web drops
// it.
type Pattern struct {
	nodes []matcher
}

// Len is the number of nodes the pattern matches.
func (p *Pattern) Len() int { return len(p.nodes) }

type matchKind uint8

const (
	mLiteral matchKind = iota // s == lit
	mAll                      // "*"
	mPrefix                   // lit*
	mGlob                     // any of globs
)

type matcher struct {
	kind  matchKind
	lit   string
	globs [][]tok
}

func (m *matcher) match(s string) bool {
	switch m.kind {
	case mLiteral:
		return s == m.lit
	case mAll:
		return true
	case mPrefix:
		return strings.HasPrefix(s, m.lit)
	}
	for _, g := range m.globs {
		if matchToks(g, s) {
			return true
		}
	}
	return false
}

// maxBraceVariants bounds {a,b}{c,d}... expansion.
const maxBraceVariants = 4096

// Compile parses a Graphite path expression.
func Compile(expr string) (*Pattern, error) {
	clean := strings.ReplaceAll(expr, `\`, "")
	if clean == "" {
		return nil, fmt.Errorf("empty path expression")
	}
	parts := strings.Split(clean, ".")
	p := &Pattern{nodes: make([]matcher, len(parts))}
	for i, part := range parts {
		switch {
		case !IsPattern(part):
			p.nodes[i] = matcher{kind: mLiteral, lit: part}
			continue
		case part == "*":
			p.nodes[i] = matcher{kind: mAll}
			continue
		case strings.IndexAny(part, "*?[{") == len(part)-1 && part[len(part)-1] == '*':
			p.nodes[i] = matcher{kind: mPrefix, lit: part[:len(part)-1]}
			continue
		}
		variants, err := expandBraces(part, 0)
		if err != nil {
			return nil, fmt.Errorf("path expression %q node %d: %w", expr, i, err)
		}
		m := matcher{kind: mGlob, globs: make([][]tok, len(variants))}
		for j, v := range variants {
			if m.globs[j], err = parseGlob(v); err != nil {
				return nil, fmt.Errorf("path expression %q node %d: %w", expr, i, err)
			}
		}
		p.nodes[i] = m
	}
	return p, nil
}

// IsPattern is graphite's is_pattern: any of * ? [ {.
func IsPattern(s string) bool { return strings.ContainsAny(s, "*?[{") }

// MatchNode reports whether node i of the pattern matches s.
func (p *Pattern) MatchNode(i int, s string) bool { return p.nodes[i].match(s) }

// MatchNodes reports whether nodes (a path split at '.') match the
// pattern, node for node.
func (p *Pattern) MatchNodes(nodes []string) bool {
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

// Match reports whether a whole name matches the pattern.
func (p *Pattern) Match(name string) bool {
	for i := range p.nodes {
		seg, rest, more := strings.Cut(name, ".")
		if !p.nodes[i].match(seg) {
			return false
		}
		if more != (i < len(p.nodes)-1) {
			return false
		}
		name = rest
	}
	return true
}

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

// A tok is one element of an fnmatch pattern.
type tok struct {
	kind  tokKind
	r     rune
	class *charClass
}

type tokKind uint8

const (
	tLit tokKind = iota
	tAny
	tStar
	tClass
)

// charClass is a [seq]: its ASCII members in a table (the common case),
// other runes through the regexp Python's fnmatch.translate makes of it.
type charClass struct {
	ascii [128]bool
	re    *regexp.Regexp
}

func (c *charClass) has(r rune) bool {
	if r >= 0 && r < 128 {
		return c.ascii[r]
	}
	return c.re.MatchString(string(r))
}

// parseGlob reads an fnmatch pattern as Python's fnmatch.translate does:
// a '[' without a closing ']' is a literal, "[!" negates, a ']' right after
// "[" or "[!" is a member, a '-' between two members is a range.
func parseGlob(pat string) ([]tok, error) {
	var out []tok
	rs := []rune(pat)
	n := len(rs)
	for i := 0; i < n; {
		c := rs[i]
		i++
		switch c {
		case '*':
			if len(out) == 0 || out[len(out)-1].kind != tStar {
				out = append(out, tok{kind: tStar})
			}
		case '?':
			out = append(out, tok{kind: tAny})
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
				out = append(out, tok{kind: tLit, r: '['})
				continue
			}
			cls, err := compileClass(rs[i:j])
			if err != nil {
				return nil, err
			}
			i = j + 1
			out = append(out, tok{kind: tClass, class: cls})
		default:
			out = append(out, tok{kind: tLit, r: c})
		}
	}
	return out, nil
}

func compileClass(stuff []rune) (*charClass, error) {
	var b strings.Builder
	b.WriteString("^(?s:[")
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
	b.WriteString("])$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("[%s]: %w", string(stuff), err)
	}
	c := &charClass{re: re}
	for r := range c.ascii {
		c.ascii[r] = re.MatchString(string(rune(r)))
	}
	return c, nil
}

// matchToks matches a whole string, a '*' backtracking to the last star
// only (enough: a later star subsumes an earlier one's choices).
func matchToks(toks []tok, s string) bool {
	ti, si := 0, 0
	starT, starS := -1, 0
	for si < len(s) {
		r, size := utf8.DecodeRuneInString(s[si:])
		if ti < len(toks) {
			switch t := &toks[ti]; t.kind {
			case tStar:
				starT, starS = ti, si
				ti++
				continue
			case tAny:
				ti, si = ti+1, si+size
				continue
			case tLit:
				if r == t.r {
					ti, si = ti+1, si+size
					continue
				}
			case tClass:
				if t.class.has(r) {
					ti, si = ti+1, si+size
					continue
				}
			}
		}
		if starT < 0 {
			return false
		}
		_, size = utf8.DecodeRuneInString(s[starS:])
		starS += size
		ti, si = starT+1, starS
	}
	for ti < len(toks) && toks[ti].kind == tStar {
		ti++
	}
	return ti == len(toks)
}
