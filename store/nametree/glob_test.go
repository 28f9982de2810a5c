package nametree

import (
	"regexp"
	"strings"
	"testing"
)

// fnmatchRegexp is the straight translation of Python's fnmatch.translate
// to a regexp (what this package used before its own matcher): the
// reference FuzzGlobAgainstRegexp holds the matcher to.
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

func FuzzGlobAgainstRegexp(f *testing.F) {
	for _, s := range []string{"a*b", "[a-c]x", "[!a-c]*", "x[", "[]x]", "*?*", "ä?[ö-ü]", "[^a]", "a**b*c", "[a-]", "[!]]"} {
		f.Add(s, "abc")
		f.Add(s, "äöü")
	}
	f.Fuzz(func(t *testing.T, pat, s string) {
		if strings.ContainsAny(pat, "{}\\") {
			return // braces are expanded and backslashes dropped before
		}
		re, rerr := regexp.Compile(`^(?s:` + fnmatchRegexp(pat) + `)$`)
		toks, err := parseGlob(pat)
		if (rerr != nil) != (err != nil) {
			t.Fatalf("pattern %q: regexp error %v, glob error %v", pat, rerr, err)
		}
		if err != nil {
			return
		}
		if got, want := matchToks(toks, s), re.MatchString(s); got != want {
			t.Fatalf("pattern %q on %q: %v, regexp says %v", pat, s, got, want)
		}
	})
}
