package carbonconf

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"rrdash/store"
	"rrdash/tools/testdeps"
)

const schemasConf = `# storage-schemas.conf
[carbon]
pattern = ^carbon\.
retentions = 60:90d

[stats]
pattern: ^stats\.
retentions = 10s:6h,1min:7d,10min:5y

[default]
pattern = .*
retentions = 60s:1d,5m:30d,1h:3y
`

const aggregationConf = `; storage-aggregation.conf
[min]
pattern = \.min$
xFilesFactor = 0.1
aggregationMethod = min

[max]
pattern = \.max$
xFilesFactor = 0.1
aggregationMethod = max

[count]
pattern = \.count$
xFilesFactor = 0
aggregationMethod = max

[lower]
pattern = \.lower$
aggregationMethod = LAST

[default_average]
pattern = .*
xFilesFactor = 0.5
aggregationMethod = average
`

// carbonChoice is what carbon picks for a name: the first schema and,
// separately, the first aggregation rule whose pattern is found in it.
func carbonChoice(t *testing.T, schemas, aggs []Section, name string) (retentions, cf string, xff float64) {
	t.Helper()
	for _, s := range schemas {
		if regexp.MustCompile(s.Keys["pattern"]).MatchString(name) {
			retentions = s.Keys["retentions"]
			break
		}
	}
	cf, xff = "AVERAGE", 0.5
	for i := range aggs {
		if regexp.MustCompile(aggs[i].Keys["pattern"]).MatchString(name) {
			a, err := aggregationOf(&aggs[i], "agg")
			if err != nil {
				t.Fatal(err)
			}
			cf, xff = a.cf, a.xff
			break
		}
	}
	return retentions, cf, xff
}

// checkEquivalent translates, prints, reads the TOML back as serve would
// and checks that every name gets carbon's pair.
func checkEquivalent(t *testing.T, schemas, aggs string, names []string) string {
	t.Helper()
	var agg *strings.Reader
	if aggs != "" {
		agg = strings.NewReader(aggs)
	}
	var rules []store.RetentionRule
	var comments []string
	var err error
	if agg != nil {
		rules, comments, err = Translate(strings.NewReader(schemas), "schemas", agg, "agg")
	} else {
		rules, comments, err = Translate(strings.NewReader(schemas), "schemas", nil, "")
	}
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := WriteTOML(&out, rules, comments); err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Retention []store.RetentionRule `toml:"retention"`
	}
	md, err := toml.Decode(out.String(), &cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if und := md.Undecoded(); len(und) > 0 {
		t.Fatalf("undecoded %v", und)
	}
	r, err := store.CompileRetention(cfg.Retention)
	if err != nil {
		t.Fatal(err)
	}
	ss, _ := ParseINI(strings.NewReader(schemas), "schemas")
	var as []Section
	if aggs != "" {
		as, _ = ParseINI(strings.NewReader(aggs), "agg")
	}
	tmpl := store.DefaultTemplate()
	for _, n := range names {
		ret, cf, xff := carbonChoice(t, ss, as, n)
		spec, meta, err := r.Apply(n, tmpl, nil)
		if err != nil {
			t.Fatal(err)
		}
		step, arch, _ := store.ParseCarbonRetentions(ret)
		if spec.Step != step || len(spec.RRA) != len(arch) || meta[store.MetaModel] != store.ModelGraphite || meta[store.MetaLate] != store.LateOverwrite {
			t.Errorf("%s: rule %s: step %d, %d archives, meta %v; carbon: %s", n, meta[store.MetaRule], spec.Step, len(spec.RRA), meta, ret)
			continue
		}
		for i, a := range spec.RRA {
			if a.Steps != arch[i][0] || a.Rows != arch[i][1] || a.CF.String() != cf || a.XFF != xff {
				t.Errorf("%s: rule %s archive %d: %+v; carbon: %s %s xff %v", n, meta[store.MetaRule], i, a, ret, cf, xff)
			}
		}
	}
	return out.String()
}

var testNames = []string{"carbon.agents.a.cpu", "carbon.x.min", "stats.timers.a.lower", "stats.timers.a.count", "stats.a.max",
	"servers.web1.cpu.min", "servers.web1.cpu", "x.count", "a.b.lower", "statsx.min", "app.min;dc=eu", "carbon"}

func TestTranslate(t *testing.T) {
	t.Parallel()
	out := checkEquivalent(t, schemasConf, aggregationConf, testNames)
	for _, want := range []string{"name = 'carbon/min'\nregex = ['^carbon\\.', '\\.min$']\nretentions = '60:90d'\ncf = ['MIN']\nxff = 0.9\nmodel = 'graphite'\nlate = 'overwrite'",
		"name = 'default/count'\nregex = ['\\.count$']\nretentions = '60s:1d,5m:30d,1h:3y'\ncf = ['MAX']\nxff = 0.999999",
		"name = 'default/default_average'\nretentions = '60s:1d,5m:30d,1h:3y'\ncf = ['AVERAGE']\nxff = 0.5"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks\n%s\n---\n%s", want, out)
		}
	}
	if strings.Count(out, "\n[[retention]]") != 15 {
		t.Errorf("%d rules, want 15 (3 schemas × 5 aggregations)\n%s", strings.Count(out, "\n[[retention]]"), out)
	}
	// schemas alone: carbon's default aggregation
	out = checkEquivalent(t, schemasConf, "", testNames)
	if strings.Count(out, "\n[[retention]]") != 3 || !strings.Contains(out, "cf = ['AVERAGE']\nxff = 0.5") {
		t.Errorf("schemas only:\n%s", out)
	}
}

// TestTranslateDebianExamples translates the files Debian's graphite-carbon
// ships (make deps-test installs it).
func TestTranslateDebianExamples(t *testing.T) {
	t.Parallel()
	sp := testdeps.File(t, "graphite-carbon's storage-schemas.conf", "/etc/carbon/storage-schemas.conf")
	ap := testdeps.File(t, "graphite-carbon's storage-aggregation.conf example", "/usr/share/doc/graphite-carbon/examples/storage-aggregation.conf.example")
	s, err := os.ReadFile(sp)
	if err != nil {
		t.Fatal(err)
	}
	a, err := os.ReadFile(ap)
	if err != nil {
		t.Fatal(err)
	}
	out := checkEquivalent(t, string(s), string(a), testNames)
	t.Logf("%s", out)
	if ex, err := os.ReadFile("/usr/share/doc/graphite-carbon/examples/storage-schemas.conf.example"); err == nil {
		checkEquivalent(t, string(ex), string(a), testNames)
	}
}

func TestTranslateErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ schemas, agg, err string }{
		{"[a]\npattern = .*\n", "", "schemas:1: [a]: no retentions"},
		{"[a]\nretentions = 60:1d\n", "", "no pattern"},
		{"[a]\npattern = (\nretentions = 60:1d\n", "", "schemas:2: [a] pattern"},
		{"[a]\npattern = .*\nretentions = 60:1q\n", "", "schemas:3: [a] retentions"},
		{"[a]\npattern = .*\nretentions = 60:1d\nfoo = 1\n", "", "schemas:4: [a] foo: unknown key"},
		{"pattern = .*\n", "", "key before any [section]"},
		{"[a\n", "", "bad section header"},
		{"[a]\njunk\n", "", "want key = value"},
		{"[a]\npattern = x\npattern = y\n", "", "already set"},
		{"[a]\npattern=.*\nretentions=60:1d\n[a]\n", "", "already defined"},
		{"# nothing\n", "", "no schema sections"},
		{"[a]\npattern = .*\nretentions = 60:1d\n", "[s]\npattern = .*\naggregationMethod = sum\n", "agg:3: [s] aggregationmethod: \"sum\" has no rrdtool"},
		{"[a]\npattern = .*\nretentions = 60:1d\n", "[s]\npattern = .*\nxFilesFactor = 2\n", "want a number from 0 to 1"},
	} {
		var agg *strings.Reader
		var err error
		if tc.agg != "" {
			agg = strings.NewReader(tc.agg)
			_, _, err = Translate(strings.NewReader(tc.schemas), "schemas", agg, "agg")
		} else {
			_, _, err = Translate(strings.NewReader(tc.schemas), "schemas", nil, "")
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q %q: error %v, want %q", tc.schemas, tc.agg, err, tc.err)
		}
	}
}

// FuzzTranslate: any input gives an error or rules whose TOML reads back
// into the same rules and compiles.
func FuzzTranslate(f *testing.F) {
	f.Add(schemasConf, aggregationConf)
	f.Add("[a]\npattern = 'x\"\\\\\nretentions = 1:1\n", "")
	f.Add("[a]\npattern = \\.\tb\nretentions = 60:2,120:3\n", "[b]\npattern = c$\naggregationMethod = last\nxFilesFactor = 0.25\n")
	f.Fuzz(func(t *testing.T, schemas, agg string) {
		var ar *strings.Reader
		var rules []store.RetentionRule
		var comments []string
		var err error
		if agg != "" {
			ar = strings.NewReader(agg)
			rules, comments, err = Translate(strings.NewReader(schemas), "s", ar, "a")
		} else {
			rules, comments, err = Translate(strings.NewReader(schemas), "s", nil, "")
		}
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := WriteTOML(&out, rules, comments); err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			Retention []store.RetentionRule `toml:"retention"`
		}
		if _, err := toml.Decode(out.String(), &cfg); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		if len(cfg.Retention) != len(rules) {
			t.Fatalf("%d rules read back, want %d", len(cfg.Retention), len(rules))
		}
		for i, r := range rules {
			g := cfg.Retention[i]
			if g.Name != r.Name || strings.Join(g.Regex, "\x00") != strings.Join(r.Regex, "\x00") || g.Retentions != r.Retentions || *g.XFF != *r.XFF {
				t.Fatalf("rule %d read back as %+v, want %+v", i, g, r)
			}
		}
		if _, err := store.CompileRetention(cfg.Retention); err != nil {
			t.Fatal(err)
		}
	})
}
