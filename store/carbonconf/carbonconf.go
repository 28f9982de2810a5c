// Package carbonconf translates carbon's storage-schemas.conf and
// storage-aggregation.conf into rrdash's [[retention]] rules.
//
// Carbon picks a new metric's retentions from the first schema whose
// pattern is found in its name, and, independently, its aggregation
// method and xFilesFactor from the first aggregation rule that matches.
// rrdash's rules carry both, so the translation is the product, in order:
// for each schema, one rule per aggregation rule, each matching both
// patterns; the first that matches a name is carbon's pair for it. Every
// rule has carbon's data model (model = "graphite") and whisper's
// late-point rule (late = "overwrite").
package carbonconf

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	"rrdash/store"
)

// Section is one [name] section of an INI file, with its keys in file
// order.
type Section struct {
	Name string
	Line int
	Keys map[string]string
	kl   map[string]int // line of each key
}

// ParseINI reads carbon's configuration syntax (Python's ConfigParser):
// [section] headers, `key = value` or `key: value`, comments starting
// with # or ;. Keys are case-insensitive (lower-cased). Errors name the
// file and line.
func ParseINI(r io.Reader, file string) ([]Section, error) {
	var out []Section
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' || s[0] == ';' {
			continue
		}
		if s[0] == '[' {
			if !strings.HasSuffix(s, "]") || len(s) < 3 {
				return nil, fmt.Errorf("%s:%d: bad section header %q", file, line, s)
			}
			name := strings.TrimSpace(s[1 : len(s)-1])
			for _, sec := range out {
				if sec.Name == name {
					return nil, fmt.Errorf("%s:%d: section [%s] already defined at line %d", file, line, name, sec.Line)
				}
			}
			out = append(out, Section{Name: name, Line: line, Keys: map[string]string{}, kl: map[string]int{}})
			continue
		}
		i := strings.IndexAny(s, "=:")
		if i <= 0 {
			return nil, fmt.Errorf("%s:%d: want key = value, got %q", file, line, s)
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%s:%d: key before any [section]", file, line)
		}
		k := strings.ToLower(strings.TrimSpace(s[:i]))
		v := strings.TrimSpace(s[i+1:])
		sec := &out[len(out)-1]
		if _, dup := sec.Keys[k]; dup {
			return nil, fmt.Errorf("%s:%d: key %q already set in [%s] at line %d", file, line, k, sec.Name, sec.kl[k])
		}
		sec.Keys[k], sec.kl[k] = v, line
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", file, line+1, err)
	}
	return out, nil
}

func (s *Section) where(file, key string) string {
	if l, ok := s.kl[key]; ok {
		return fmt.Sprintf("%s:%d: [%s] %s", file, l, s.Name, key)
	}
	return fmt.Sprintf("%s:%d: [%s]", file, s.Line, s.Name)
}

func (s *Section) only(file string, keys ...string) error {
	for k := range s.Keys {
		ok := false
		for _, want := range keys {
			ok = ok || k == want
		}
		if !ok {
			return fmt.Errorf("%s: unknown key (want %s)", s.where(file, k), strings.Join(keys, ", "))
		}
	}
	return nil
}

type schema struct {
	name, pattern, retentions string
}

type aggregation struct {
	name, pattern string
	cf            string
	xff           float64
	comment       string
}

// Translate reads storage-schemas.conf (and storage-aggregation.conf when
// agg is not nil) and returns the equivalent rules, in order.
func Translate(schemas io.Reader, schemasFile string, agg io.Reader, aggFile string) ([]store.RetentionRule, []string, error) {
	secs, err := ParseINI(schemas, schemasFile)
	if err != nil {
		return nil, nil, err
	}
	var ss []schema
	for i := range secs {
		s := &secs[i]
		if err := s.only(schemasFile, "pattern", "retentions"); err != nil {
			return nil, nil, err
		}
		p, ok := s.Keys["pattern"]
		if !ok {
			return nil, nil, fmt.Errorf("%s: no pattern", s.where(schemasFile, ""))
		}
		if _, err := regexp.Compile(p); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", s.where(schemasFile, "pattern"), err)
		}
		r, ok := s.Keys["retentions"]
		if !ok {
			return nil, nil, fmt.Errorf("%s: no retentions", s.where(schemasFile, ""))
		}
		if _, _, err := store.ParseCarbonRetentions(r); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", s.where(schemasFile, "retentions"), err)
		}
		ss = append(ss, schema{s.Name, p, r})
	}
	if len(ss) == 0 {
		return nil, nil, fmt.Errorf("%s: no schema sections", schemasFile)
	}
	// carbon's default when no aggregation rule matches
	aggs := []aggregation{{name: "", pattern: ".*", cf: "AVERAGE", xff: 0.5, comment: "carbon's default: average, xFilesFactor 0.5"}}
	if agg != nil {
		asecs, err := ParseINI(agg, aggFile)
		if err != nil {
			return nil, nil, err
		}
		var list []aggregation
		for i := range asecs {
			a, err := aggregationOf(&asecs[i], aggFile)
			if err != nil {
				return nil, nil, err
			}
			list = append(list, a)
		}
		aggs = append(list, aggs...)
	}
	var rules []store.RetentionRule
	var comments []string
	seen := map[string]bool{}
	for _, s := range ss {
		for _, a := range aggs {
			r := store.RetentionRule{Name: s.name, Retentions: s.retentions, CF: []string{a.cf}, Model: store.ModelGraphite, Late: store.LateOverwrite}
			if a.name != "" {
				r.Name = s.name + "/" + a.name
			}
			xff := a.xff
			r.XFF = &xff
			for _, p := range []string{s.pattern, a.pattern} {
				if !matchesAll(p) {
					r.Regex = append(r.Regex, p)
				}
			}
			key := strings.Join(r.Regex, "\x00")
			if seen[key] {
				continue // an earlier rule matches every name this one would
			}
			seen[key] = true
			rules = append(rules, r)
			comments = append(comments, fmt.Sprintf("schema [%s], %s", s.name, a.comment))
			if matchesAll(a.pattern) {
				break // the schema's names all match here: later aggregations never do
			}
		}
		if matchesAll(s.pattern) {
			break // every name has its rule: later schemas never match
		}
	}
	if _, err := store.CompileRetention(rules); err != nil {
		return nil, nil, fmt.Errorf("translated rules: %w", err)
	}
	return rules, comments, nil
}

func matchesAll(p string) bool {
	return p == ".*" || p == "" || p == "^.*" || p == ".*$" || p == "^.*$"
}

// cfs maps carbon's aggregation methods; sum and the rest have no rrdtool
// consolidation function.
var cfs = map[string]string{"average": "AVERAGE", "avg": "AVERAGE", "min": "MIN", "max": "MAX", "last": "LAST"}

func aggregationOf(s *Section, file string) (aggregation, error) {
	if err := s.only(file, "pattern", "xfilesfactor", "aggregationmethod"); err != nil {
		return aggregation{}, err
	}
	a := aggregation{name: s.Name, cf: "AVERAGE", xff: 0.5}
	p, ok := s.Keys["pattern"]
	if !ok {
		return a, fmt.Errorf("%s: no pattern", s.where(file, ""))
	}
	if _, err := regexp.Compile(p); err != nil {
		return a, fmt.Errorf("%s: %w", s.where(file, "pattern"), err)
	}
	a.pattern = p
	method := "average"
	if m, ok := s.Keys["aggregationmethod"]; ok {
		method = strings.ToLower(m)
		cf, ok := cfs[method]
		if !ok {
			return a, fmt.Errorf("%s: %q has no rrdtool consolidation function (average, min, max and last do; rrdash stores no sums)", s.where(file, "aggregationmethod"), m)
		}
		a.cf = cf
	}
	xf := 0.5
	if v, ok := s.Keys["xfilesfactor"]; ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= 0 && f <= 1) {
			return a, fmt.Errorf("%s: %q: want a number from 0 to 1", s.where(file, "xfilesfactor"), v)
		}
		xf = f
	}
	a.xff, a.comment = xffOf(xf), fmt.Sprintf("[%s] %s, xFilesFactor %v", s.Name, method, xf)
	return a, nil
}

// xffOf turns carbon's xFilesFactor (the fraction of known points a
// coarser point needs) into rrdtool's xff (the fraction that may be
// unknown). xFilesFactor 0 — one known point suffices — is the largest
// xff below 1 that still asks for one (rrdtool refuses 1).
func xffOf(xf float64) float64 {
	if xf == 0 {
		return 0.999999
	}
	x := 1 - xf
	// 1 − 0.1 is 0.9 as a user reads it, not 0.8999999999999999
	if r, err := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 12, 64), 64); err == nil {
		x = r
	}
	return math.Max(0, x)
}

// WriteTOML prints rules as [[retention]] tables, each after its comment.
func WriteTOML(w io.Writer, rules []store.RetentionRule, comments []string) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# [[retention]] rules translated from carbon's configuration by rrdash import-carbon-config.")
	fmt.Fprintln(bw, "# First match wins; xff is rrdtool's (the fraction that may be unknown): 1 − xFilesFactor.")
	for i, r := range rules {
		fmt.Fprintln(bw)
		if i < len(comments) {
			fmt.Fprintf(bw, "# %s\n", comments[i])
		}
		fmt.Fprintln(bw, "[[retention]]")
		fmt.Fprintf(bw, "name = %s\n", tomlString(r.Name))
		if len(r.Regex) > 0 {
			parts := make([]string, len(r.Regex))
			for k, x := range r.Regex {
				parts[k] = tomlString(x)
			}
			fmt.Fprintf(bw, "regex = [%s]\n", strings.Join(parts, ", "))
		}
		fmt.Fprintf(bw, "retentions = %s\n", tomlString(r.Retentions))
		cfq := make([]string, len(r.CF))
		for k, c := range r.CF {
			cfq[k] = tomlString(c)
		}
		fmt.Fprintf(bw, "cf = [%s]\n", strings.Join(cfq, ", "))
		if r.XFF != nil {
			fmt.Fprintf(bw, "xff = %s\n", strconv.FormatFloat(*r.XFF, 'f', -1, 64))
		}
		fmt.Fprintf(bw, "model = %s\n", tomlString(r.Model))
		if r.Late != "" {
			fmt.Fprintf(bw, "late = %s\n", tomlString(r.Late))
		}
	}
	return bw.Flush()
}

// tomlString quotes s as a TOML string: a literal string ('…', no
// escapes: regexps read as written) when it can be one, else a basic
// string with escapes.
func tomlString(s string) string {
	literal := !strings.ContainsAny(s, "'\n\r")
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f {
			literal = false
		}
	}
	if literal {
		return "'" + s + "'"
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
