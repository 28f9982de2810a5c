package store

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestParseCarbonRetentions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		step int64
		arch [][2]int64
		err  string
	}{
		{in: "60s:7d,5m:30d", step: 60, arch: [][2]int64{{1, 10080}, {5, 8640}}},
		{in: "10s:6h,1min:7d,10min:5y", step: 10, arch: [][2]int64{{1, 2160}, {6, 10080}, {60, 262800}}},
		{in: "60:1440", step: 60, arch: [][2]int64{{1, 1440}}},                                         // seconds, point count
		{in: " 1m:2d , 1h:1y ", step: 60, arch: [][2]int64{{1, 2880}, {60, 8760}}},                     // spaces, y = 365 d
		{in: "1h:30d,1d:5y", step: 3600, arch: [][2]int64{{1, 720}, {24, 1825}}},                       // carbon's years
		{in: "15s:1w,1m:21d,15m:5y", step: 15, arch: [][2]int64{{1, 40320}, {4, 30240}, {60, 175200}}}, // Debian's example
		{in: "60s", err: "precision:duration"},
		{in: "60s:7d,90s:30d", err: "not a multiple of the first"},
		{in: "60s:7d,120s:1d,180s:30d", err: "not a multiple of the previous"},
		{in: "5m:7d,1m:30d", err: "not a multiple of the first"},
		{in: "1m:7d,1m:30d", err: "must grow"},
		{in: "1m:30s", err: "shorter than the precision"},
		{in: "1q:1d", err: "unknown unit"},
		{in: "0s:1d", err: "positive"},
		{in: "", err: "precision:duration"},
		{in: "99999999999999999y:1d", err: "too large"},
	} {
		step, arch, err := ParseCarbonRetentions(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want one containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || step != tc.step || !reflect.DeepEqual(arch, tc.arch) {
			t.Errorf("%q: %d %v %v, want %d %v", tc.in, step, arch, err, tc.step, tc.arch)
		}
	}
}

func TestRetentionRuleErrors(t *testing.T) {
	t.Parallel()
	half, bad := 0.5, 1.0
	for _, tc := range []struct {
		rule RetentionRule
		err  string
	}{
		{RetentionRule{Pattern: "a.*"}, "retentions is required"},
		{RetentionRule{Retentions: "1m:1d", Pattern: "a.{b"}, "unterminated {"},
		{RetentionRule{Retentions: "1m:1d", Pattern: "a.[b"}, "unterminated ["},
		{RetentionRule{Retentions: "1m:1d", Regex: []string{"a("}}, "regex"},
		{RetentionRule{Retentions: "1m:1d", Tags: []string{"=x"}}, "tags"},
		{RetentionRule{Retentions: "1m:1d", CF: []string{"SUM"}}, "unknown consolidation function"},
		{RetentionRule{Retentions: "1m:1d", CF: []string{"max", "MAX"}}, "listed twice"},
		{RetentionRule{Retentions: "1m:1d", XFF: &bad}, "xff 1"},
		{RetentionRule{Retentions: "1m:1d", DSType: "gauges"}, "ds_type"},
		{RetentionRule{Retentions: "1m:1d", Model: "whisper"}, "model"},
		{RetentionRule{Retentions: "1m:1d", Late: "overwrite"}, "needs model"},
		{RetentionRule{Retentions: "1m:1d", Late: "keep"}, "late"},
		{RetentionRule{Retentions: "1m:1d", Model: "graphite", DSType: "COUNTER"}, "GAUGE"},
		{RetentionRule{Retentions: "1m:1d", Heartbeat: -1}, "heartbeat"},
		{RetentionRule{Retentions: "1m:1d", XFF: &half, Name: "ok"}, ""},
	} {
		_, err := CompileRetention([]RetentionRule{tc.rule})
		if tc.err == "" {
			if err != nil {
				t.Errorf("%+v: %v", tc.rule, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "retention rule 1") {
			t.Errorf("%+v: error %v, want one naming the rule and containing %q", tc.rule, err, tc.err)
		}
	}
	if _, err := CompileRetention([]RetentionRule{{Name: "a", Retentions: "1m:1d"}, {Name: "a", Retentions: "1m:1d"}}); err == nil || !strings.Contains(err.Error(), "already used") {
		t.Errorf("duplicate names: %v", err)
	}
}

func TestRetentionFirstMatchWins(t *testing.T) {
	t.Parallel()
	xff := 0.0
	r, err := CompileRetention([]RetentionRule{
		{Name: "carbon", Regex: []string{`^carbon\.`}, Retentions: "60:90d"},
		{Name: "web", Pattern: "servers.{web1,web2}.*", Retentions: "10s:1d,1m:7d", CF: []string{"AVERAGE", "MAX"}, XFF: &xff, Model: "graphite", Late: "overwrite"},
		{Name: "eu", Tags: []string{"dc=eu*"}, Retentions: "1m:2d", DSType: "COUNTER", Heartbeat: 300},
		{Name: "classes", Pattern: "servers.[a-d]?1.*", Retentions: "5m:1d"},
		{Name: "default", Retentions: "1m:1d", Model: "rrdtool"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, rule string }{
		{"carbon.agents.a.cpu", "carbon"},
		{"servers.web1.cpu", "web"},
		{"servers.web2.load", "web"},
		{"servers.web1.cpu.user", "default"}, // * stays within a node
		{"servers.web3.cpu", "default"},
		{"app.req;dc=eu-west;host=a", "eu"},
		{"app.req;dc=us", "default"},
		{"servers.db1.cpu", "classes"},
		{"servers.db2.cpu", "default"},
		{"xcarbon.a", "default"},
	} {
		if got := r.Match(tc.name); got != tc.rule {
			t.Errorf("%s: rule %q, want %q", tc.name, got, tc.rule)
		}
	}
	tmpl := DefaultTemplate()
	tmpl.Start = 1000
	spec, meta, err := r.Apply("servers.web1.cpu", tmpl, map[string]string{"units": "s"})
	if err != nil {
		t.Fatal(err)
	}
	want := Spec{Step: 10, Start: 1000, DS: []DS{{Name: "value", Type: Gauge, Heartbeat: 100, Min: math.NaN(), Max: math.NaN()}},
		RRA: []RRA{{CF: Average, XFF: 0, Steps: 1, Rows: 8640}, {CF: Max, XFF: 0, Steps: 1, Rows: 8640}, {CF: Average, XFF: 0, Steps: 6, Rows: 10080}, {CF: Max, XFF: 0, Steps: 6, Rows: 10080}}}
	if specText(spec) != specText(want) {
		t.Errorf("spec\n%s\nwant\n%s", specText(spec), specText(want))
	}
	if !reflect.DeepEqual(meta, map[string]string{"units": "s", MetaRule: "web", MetaModel: "graphite", MetaLate: "overwrite"}) {
		t.Errorf("meta %v", meta)
	}
	spec, meta, err = r.Apply("app.req;dc=eu", tmpl, nil)
	if err != nil || spec.DS[0].Type != Counter || spec.DS[0].Min != 0 || spec.DS[0].Heartbeat != 300 || len(spec.RRA) != 4 || spec.RRA[0].XFF != 0.5 {
		t.Errorf("eu: %v %v", specText(spec), err)
	}
	if !reflect.DeepEqual(meta, map[string]string{MetaRule: "eu"}) {
		t.Errorf("eu meta %v", meta)
	}
	// a rule's model overrides the source's choice
	if _, meta, _ = r.Apply("other", tmpl, map[string]string{MetaModel: ModelGraphite}); meta[MetaModel] != "" || meta[MetaRule] != "default" {
		t.Errorf("default rule over a Graphite source: %v", meta)
	}
	// no rule: the template as it is, the source's model kept
	var none *Retention
	spec, meta, err = none.Apply("x", tmpl, map[string]string{MetaModel: ModelGraphite})
	aligned := tmpl
	aligned.Start = 960 // a Graphite series starts on a step boundary
	if err != nil || specText(spec) != specText(aligned) || meta[MetaModel] != ModelGraphite || meta[MetaRule] != "" {
		t.Errorf("no rules: %v %v %v", specText(spec), meta, err)
	}
	multi := tmpl
	multi.DS = append(multi.DS, DS{Name: "b", Type: Gauge, Heartbeat: 600, Min: math.NaN(), Max: math.NaN()})
	// two data sources (a monitor's run series): the rule's layout, rrdtool's model
	if spec, meta, err := r.Apply("servers.web1.x", multi, nil); err != nil || spec.Step != 10 || len(spec.DS) != 2 || !reflect.DeepEqual(meta, map[string]string{MetaRule: "web"}) {
		t.Errorf("graphite rule over two data sources: %v %v %v", specText(spec), meta, err)
	}
	// a counter from a Graphite-like rule is stored as given
	ctr := tmpl
	ctr.DS = []DS{{Name: "value", Type: Counter, Heartbeat: 600, Min: 0, Max: math.NaN()}}
	if spec, _, err := r.Apply("servers.web2.c", ctr, nil); err != nil || spec.DS[0].Type != Gauge {
		t.Errorf("counter under a graphite rule: %v %v", specText(spec), err)
	}
	noFine := tmpl
	noFine.RRA = []RRA{{CF: Average, XFF: 0.5, Steps: 5, Rows: 10}}
	if _, _, err := none.Apply("x", noFine, map[string]string{MetaModel: ModelGraphite}); err == nil || !strings.Contains(err.Error(), "one step per row") {
		t.Errorf("graphite model without a one-step archive: %v", err)
	}
}

func TestEnsureAppliesRetentionRules(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r, err := CompileRetention([]RetentionRule{{Name: "fine", Pattern: "fine.*", Retentions: "10s:1h,1m:1d", CF: []string{"MAX"}}})
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(dir, Options{Retention: r})
	if err != nil {
		t.Fatal(err)
	}
	tmpl := DefaultTemplate()
	tmpl.Start = 6000
	for _, n := range []string{"fine.a", "coarse.a"} {
		if created, err := db.EnsureWithMeta(n, tmpl, map[string]string{"units": "B"}); err != nil || !created {
			t.Fatal(n, created, err)
		}
	}
	// explicit creation never goes through the rules
	if err := db.Create("fine.explicit", tmpl, false); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	in, err := db.Info("fine.a")
	if err != nil {
		t.Fatal(err)
	}
	if in.Step != 10 || len(in.RRA) != 2 || in.RRA[1].Steps != 6 || in.RRA[1].Rows != 1440 || in.RRA[0].CF != "MAX" || in.Meta[MetaRule] != "fine" || in.Meta["units"] != "B" {
		t.Errorf("fine.a: %+v", in)
	}
	for _, n := range []string{"coarse.a", "fine.explicit"} {
		in, err := db.Info(n)
		if err != nil {
			t.Fatal(err)
		}
		if in.Step != 60 || len(in.RRA) != 16 || in.Meta[MetaRule] != "" {
			t.Errorf("%s: step %d, %d archives, meta %v", n, in.Step, len(in.RRA), in.Meta)
		}
	}
}

// specText prints a spec for comparison (NaN bounds compare equal as text).
func specText(s Spec) string { return fmt.Sprintf("%+v", s) }

// SetRetention (SIGHUP) lays out series created after it by the new rules
// and leaves existing series as they were created.
func TestSetRetentionAppliesToNewSeriesOnly(t *testing.T) {
	t.Parallel()
	first, err := CompileRetention([]RetentionRule{{Name: "old", Pattern: "app.*", Retentions: "10s:1h"}})
	if err != nil {
		t.Fatal(err)
	}
	next, err := CompileRetention([]RetentionRule{{Name: "new", Pattern: "app.*", Retentions: "30s:2h,5m:1d"}})
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(t.TempDir(), Options{Retention: first})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tmpl := DefaultTemplate()
	tmpl.Start = 6000
	if _, err := db.EnsureWithMeta("app.before", tmpl, nil); err != nil {
		t.Fatal(err)
	}
	db.SetRetention(next)
	for _, n := range []string{"app.before", "app.after"} {
		if _, err := db.EnsureWithMeta(n, tmpl, nil); err != nil {
			t.Fatal(n, err)
		}
	}
	db.SetRetention(nil)
	if _, err := db.EnsureWithMeta("app.untouched", tmpl, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		step int64
		rras int
		rule string
	}{
		{"app.before", 10, 4, "old"},
		{"app.after", 30, 8, "new"},
		{"app.untouched", 60, 16, ""},
	} {
		in, err := db.Info(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if in.Step != tc.step || len(in.RRA) != tc.rras || in.Meta[MetaRule] != tc.rule {
			t.Errorf("%s: step %d, %d archives, rule %q; want %d, %d, %q", tc.name, in.Step, len(in.RRA), in.Meta[MetaRule], tc.step, tc.rras, tc.rule)
		}
	}
}
