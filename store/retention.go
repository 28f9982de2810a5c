package store

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Retention rules choose the layout of series created on first sight
// (EnsureWithMeta: pushes, Graphite, statsd, collectd, remote_write, OTLP,
// Kinesis, monitors, self-monitoring). Series made by Create or Import keep
// the spec they are given. The first rule that matches a name wins; with
// no match the caller's template stays as it is.

// Meta keys a series' rule-made settings are kept under (info shows them).
const (
	MetaRule  = "retention_rule" // the rule that made the series
	MetaModel = "model"          // "graphite" for Graphite's data model; absent: rrdtool's
	MetaLate  = "late"           // "overwrite" for whisper's late-point rule; absent: refused
)

// Data models (the MetaModel values).
const (
	ModelRRDtool  = "rrdtool"
	ModelGraphite = "graphite"
)

// Late-point modes (the MetaLate values).
const (
	LateDrop      = "drop"
	LateOverwrite = "overwrite"
)

// RetentionRule is one [[retention]] table of the configuration.
type RetentionRule struct {
	// Name is what info reports as the rule that made a series; default
	// "retention[N]" (1-based, in file order).
	Name string `toml:"name"`
	// Pattern is a Graphite glob (* ? [a-z] {a,b}; * stays within a node)
	// matched against the whole name without its tags.
	Pattern string `toml:"pattern"`
	// Regex are RE2 regular expressions each searched for anywhere in the
	// whole name, tags included (carbon's storage-schemas.conf and
	// storage-aggregation.conf patterns); all must be found.
	Regex []string `toml:"regex"`
	// Tags are seriesByTag expressions ("dc=eu", "host=~web.*") that must
	// all hold.
	Tags []string `toml:"tags"`
	// Retentions is carbon's syntax: "60s:7d,5m:30d,1h:2y" — each
	// archive's precision and how long it keeps (a bare number there is a
	// count of points). The first precision is the step; every other is a
	// whole multiple of it.
	Retentions string `toml:"retentions"`
	// CF lists the consolidation functions each archive gets (AVERAGE,
	// MIN, MAX, LAST); default the template's.
	CF []string `toml:"cf"`
	// XFF is rrdtool's xfiles factor: the fraction of a consolidated row
	// that may be unknown (carbon's xFilesFactor is 1 − XFF). Default the
	// template's.
	XFF *float64 `toml:"xff"`
	// DSType is the data source type (GAUGE, COUNTER, DERIVE, ABSOLUTE);
	// default the template's (a source may choose one per series).
	DSType string `toml:"ds_type"`
	// Heartbeat in seconds; default the template's ratio of heartbeat to
	// step applied to the rule's step.
	Heartbeat int64 `toml:"heartbeat"`
	// Model is "graphite" (points stored in their step slot, gaps stay
	// gaps) or "rrdtool"; default: Graphite-like sources (plaintext,
	// pickle, statsd) make graphite series, the others rrdtool series.
	Model string `toml:"model"`
	// Late is "overwrite" (a point for a past slot within the finest
	// archive replaces it, as whisper does; model graphite only) or
	// "drop" (the default: refused as late).
	Late string `toml:"late"`
}

// Retention is a compiled, ordered list of rules. The zero value and nil
// match nothing.
type Retention struct {
	rules []compiledRule
}

type compiledRule struct {
	RetentionRule
	glob    *regexp.Regexp
	re      []*regexp.Regexp
	tags    []TagExpr
	step    int64
	archive [][2]int64 // steps, rows
	cfs     []CF
	dsType  DSType
}

// CompileRetention checks rules and returns them ready to match. Errors
// name the rule by its position and name.
func CompileRetention(rules []RetentionRule) (*Retention, error) {
	r := &Retention{}
	seen := map[string]int{}
	for i, rule := range rules {
		if rule.Name == "" {
			rule.Name = fmt.Sprintf("retention[%d]", i+1)
		}
		where := fmt.Sprintf("retention rule %d (%s)", i+1, rule.Name)
		if j, dup := seen[rule.Name]; dup {
			return nil, fmt.Errorf("%s: name already used by rule %d", where, j+1)
		}
		seen[rule.Name] = i
		c, err := compileRule(rule)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		r.rules = append(r.rules, c)
	}
	return r, nil
}

func compileRule(rule RetentionRule) (compiledRule, error) {
	c := compiledRule{RetentionRule: rule}
	var err error
	if rule.Pattern != "" {
		if c.glob, err = graphiteGlob(rule.Pattern); err != nil {
			return c, fmt.Errorf("pattern %q: %w", rule.Pattern, err)
		}
	}
	for _, x := range rule.Regex {
		re, err := regexp.Compile(x)
		if err != nil {
			return c, fmt.Errorf("regex %q: %w", x, err)
		}
		c.re = append(c.re, re)
	}
	for _, t := range rule.Tags {
		e, err := ParseTagExpr(t)
		if err != nil {
			return c, fmt.Errorf("tags: %w", err)
		}
		c.tags = append(c.tags, e)
	}
	if rule.Retentions == "" {
		return c, errors.New("retentions is required (e.g. \"60s:7d,5m:30d\")")
	}
	if c.step, c.archive, err = ParseCarbonRetentions(rule.Retentions); err != nil {
		return c, fmt.Errorf("retentions %q: %w", rule.Retentions, err)
	}
	for _, s := range rule.CF {
		cf, err := ParseCF(strings.ToUpper(s))
		if err != nil {
			return c, fmt.Errorf("cf: %w", err)
		}
		if slices.Contains(c.cfs, cf) {
			return c, fmt.Errorf("cf: %s listed twice", cf)
		}
		c.cfs = append(c.cfs, cf)
	}
	if rule.XFF != nil && (!(*rule.XFF >= 0) || *rule.XFF >= 1) {
		return c, fmt.Errorf("xff %v: want 0 ≤ xff < 1", *rule.XFF)
	}
	if rule.DSType != "" {
		if c.dsType, err = ParseDSType(strings.ToUpper(rule.DSType)); err != nil {
			return c, fmt.Errorf("ds_type: %w", err)
		}
	}
	if rule.Heartbeat < 0 {
		return c, fmt.Errorf("heartbeat %d: must be positive", rule.Heartbeat)
	}
	switch rule.Model {
	case "", ModelRRDtool, ModelGraphite:
	default:
		return c, fmt.Errorf("model %q: want %q or %q", rule.Model, ModelGraphite, ModelRRDtool)
	}
	switch rule.Late {
	case "", LateDrop:
	case LateOverwrite:
		if rule.Model != ModelGraphite {
			return c, errors.New(`late = "overwrite" needs model = "graphite" (rrdtool's model cannot rewrite a past step)`)
		}
	default:
		return c, fmt.Errorf("late %q: want %q or %q", rule.Late, LateOverwrite, LateDrop)
	}
	if rule.Model == ModelGraphite && c.dsType != 0 && c.dsType != Gauge {
		return c, fmt.Errorf("ds_type %s: model graphite stores values as given (GAUGE)", c.dsType)
	}
	return c, nil
}

// Rules returns the rules as configured (names filled in).
func (r *Retention) Rules() []RetentionRule {
	if r == nil {
		return nil
	}
	out := make([]RetentionRule, len(r.rules))
	for i, c := range r.rules {
		out[i] = c.RetentionRule
	}
	return out
}

func (c *compiledRule) match(name string) bool {
	path, tags := SplitTags(name)
	if c.glob != nil && !c.glob.MatchString(path) {
		return false
	}
	for _, re := range c.re {
		if !re.MatchString(name) {
			return false
		}
	}
	for _, e := range c.tags {
		if !e.Match(path, tags) {
			return false
		}
	}
	return true
}

// Match returns the name of the first rule matching name, or "".
func (r *Retention) Match(name string) string {
	if c := r.first(name); c != nil {
		return c.Name
	}
	return ""
}

func (r *Retention) first(name string) *compiledRule {
	if r == nil {
		return nil
	}
	for i := range r.rules {
		if r.rules[i].match(name) {
			return &r.rules[i]
		}
	}
	return nil
}

// Apply returns the spec and metadata a new series name gets: the first
// matching rule's layout over tmpl, and meta with the rule's name, model
// and late mode added. meta[MetaModel] on input is the source's choice
// (Graphite-like sources ask for "graphite"); a rule's model overrides
// it. meta is not modified.
func (r *Retention) Apply(name string, tmpl Spec, meta map[string]string) (Spec, map[string]string, error) {
	out := cloneMeta(meta)
	spec := cloneSpec(tmpl)
	if c := r.first(name); c != nil {
		spec = c.layout(tmpl)
		out[MetaRule] = c.Name
		if c.Model != "" {
			out[MetaModel] = c.Model
		}
		if c.Late != "" {
			out[MetaLate] = c.Late
		}
	}
	if out[MetaModel] == ModelRRDtool || out[MetaModel] == "" {
		delete(out, MetaModel) // rrdtool's model is the default: no key
	}
	if out[MetaLate] == LateDrop {
		delete(out, MetaLate)
	}
	if out[MetaModel] == ModelGraphite && len(spec.DS) != 1 {
		// Graphite's model is one value per slot: series of several data
		// sources (trace logs, monitor runs) keep rrdtool's
		delete(out, MetaModel)
	}
	if out[MetaModel] != ModelGraphite {
		delete(out, MetaLate)
	}
	if out[MetaModel] == ModelGraphite {
		if err := graphiteSpec(&spec); err != nil {
			where := "Graphite-like source"
			if rn := out[MetaRule]; rn != "" {
				where = "retention rule " + rn
			}
			return Spec{}, nil, fmt.Errorf("series %s: %s: %w", name, where, err)
		}
	}
	if len(out) == 0 {
		out = nil
	}
	return spec, out, nil
}

func cloneMeta(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+3)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// layout is tmpl with the rule's step, archives, CFs, xff, type and heartbeat.
func (c *compiledRule) layout(tmpl Spec) Spec {
	s := cloneSpec(tmpl)
	s.Step = c.step
	for i := range s.DS {
		d := &s.DS[i]
		switch {
		case c.Heartbeat > 0:
			d.Heartbeat = c.Heartbeat
		case tmpl.Step > 0:
			d.Heartbeat = max(1, d.Heartbeat*c.step/tmpl.Step)
		}
		if c.dsType != 0 && c.dsType != d.Type {
			d.Type = c.dsType
			if c.dsType == Counter || c.dsType == Derive {
				d.Min = 0 // a counter that goes down was reset: unknown, not a wrap
			}
		}
	}
	cfs, xff := c.cfs, 0.5
	if len(tmpl.RRA) > 0 {
		xff = tmpl.RRA[0].XFF
	}
	if len(cfs) == 0 {
		for _, r := range tmpl.RRA {
			if !slices.Contains(cfs, r.CF) {
				cfs = append(cfs, r.CF)
			}
		}
		if len(cfs) == 0 {
			cfs = []CF{Average}
		}
	}
	if c.XFF != nil {
		xff = *c.XFF
	}
	s.RRA = s.RRA[:0:0]
	for _, a := range c.archive {
		for _, cf := range cfs {
			s.RRA = append(s.RRA, RRA{CF: cf, XFF: xff, Steps: a[0], Rows: a[1]})
		}
	}
	return s
}

// graphiteSpec adjusts a spec of one data source for Graphite's data
// model: GAUGE (carbon stores values as given, a counter's too), a
// heartbeat of at least the step (the engine sees an update exactly one
// step after the slot's start), a start on a step boundary; and checks
// for a finest archive of one step per row.
func graphiteSpec(s *Spec) error {
	s.DS[0].Type = Gauge
	if !slices.ContainsFunc(s.RRA, func(r RRA) bool { return r.Steps == 1 }) {
		return errors.New("model graphite needs an archive of one step per row (its points)")
	}
	s.DS[0].Heartbeat = max(s.DS[0].Heartbeat, s.Step)
	s.Start -= mod(s.Start, s.Step)
	return nil
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// carbonUnits are carbon's retention units (storage-schemas.conf): a year
// is 365 days there, unlike rrdtool's 366.
var carbonUnits = map[string]int64{
	"s": 1, "sec": 1, "second": 1, "seconds": 1,
	"m": 60, "min": 60, "minute": 60, "minutes": 60,
	"h": 3600, "hour": 3600, "hours": 3600,
	"d": 86400, "day": 86400, "days": 86400,
	"w": 604800, "week": 604800, "weeks": 604800,
	"y": 31536000, "year": 31536000, "years": 31536000,
}

func carbonSeconds(s string) (n int64, unit bool, err error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, false, fmt.Errorf("%q: want a number with an optional unit", s)
	}
	v, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil || v <= 0 {
		return 0, false, fmt.Errorf("%q: want a positive number", s)
	}
	if i == len(s) {
		return v, false, nil
	}
	m, ok := carbonUnits[strings.ToLower(s[i:])]
	if !ok {
		return 0, false, fmt.Errorf("%q: unknown unit %q (want s, m, h, d, w or y)", s, s[i:])
	}
	if v > math.MaxInt64/m {
		return 0, false, fmt.Errorf("%q is too large", s)
	}
	return v * m, true, nil
}

// ParseCarbonRetentions parses carbon's retention list, e.g.
// "10s:6h,1m:7d,10m:5y": precision:duration pairs, finest first. A bare
// precision is seconds; a bare duration a count of points. It returns
// the step (the first precision) and each archive's steps per row and
// rows.
func ParseCarbonRetentions(s string) (step int64, archives [][2]int64, err error) {
	var prev int64
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		p, d, ok := strings.Cut(part, ":")
		if !ok {
			return 0, nil, fmt.Errorf("%q: want precision:duration", part)
		}
		prec, _, err := carbonSeconds(strings.TrimSpace(p))
		if err != nil {
			return 0, nil, fmt.Errorf("precision %w", err)
		}
		dur, unit, err := carbonSeconds(strings.TrimSpace(d))
		if err != nil {
			return 0, nil, fmt.Errorf("duration %w", err)
		}
		rows := dur
		if unit {
			rows = dur / prec
		}
		if rows < 1 {
			return 0, nil, fmt.Errorf("%q: the duration is shorter than the precision", part)
		}
		if step == 0 {
			step = prec
		}
		switch {
		case prec%step != 0:
			return 0, nil, fmt.Errorf("%q: precision %ds is not a multiple of the first, %ds", part, prec, step)
		case prec <= prev:
			return 0, nil, fmt.Errorf("%q: precisions must grow (%ds after %ds)", part, prec, prev)
		case prev > 0 && prec%prev != 0:
			return 0, nil, fmt.Errorf("%q: precision %ds is not a multiple of the previous, %ds", part, prec, prev)
		}
		prev = prec
		archives = append(archives, [2]int64{prec / step, rows})
	}
	return step, archives, nil
}

// graphiteGlob compiles a Graphite path glob to an anchored regexp: * and
// ? stay within a node, [..] is a class, {a,b} an alternative.
func graphiteGlob(g string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^(?:")
	depth := 0
	for i := 0; i < len(g); i++ {
		switch ch := g[i]; ch {
		case '*':
			b.WriteString(`[^.]*`)
		case '?':
			b.WriteString(`[^.]`)
		case '[':
			j := strings.IndexByte(g[i+1:], ']')
			if j < 0 {
				return nil, errors.New("unterminated [")
			}
			cls := g[i+1 : i+1+j]
			if cls == "" {
				return nil, errors.New("empty []")
			}
			neg := strings.HasPrefix(cls, "!") || strings.HasPrefix(cls, "^")
			if neg {
				cls = cls[1:]
			}
			b.WriteString("[")
			if neg {
				b.WriteString("^.")
			}
			b.WriteString(strings.NewReplacer(`\`, `\\`, `[`, `\[`).Replace(cls))
			b.WriteString("]")
			i += j + 1
		case '{':
			depth++
			b.WriteString("(?:")
		case '}':
			if depth == 0 {
				return nil, errors.New("} without {")
			}
			depth--
			b.WriteString(")")
		case ',':
			if depth > 0 {
				b.WriteString("|")
			} else {
				b.WriteString(",")
			}
		default:
			b.WriteString(regexp.QuoteMeta(string(ch)))
		}
	}
	if depth != 0 {
		return nil, errors.New("unterminated {")
	}
	b.WriteString(")$")
	return regexp.Compile(b.String())
}
