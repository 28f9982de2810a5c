package monitor

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func validDef() Definition {
	return Definition{Name: "payments", Language: Python, Source: "print(1)", Interval: time.Minute, Timeout: 10 * time.Second}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mod  func(*Definition)
		want string
	}{
		{func(d *Definition) { d.Name = "" }, "name must be"},
		{func(d *Definition) { d.Name = "a.b" }, "name must be"},
		{func(d *Definition) { d.Language = "ruby" }, `language "ruby"`},
		{func(d *Definition) { d.Path = "/x.py" }, "exactly one of source and path"},
		{func(d *Definition) { d.Source = "" }, "exactly one of source and path"},
		{func(d *Definition) { d.Interval = 9 * time.Second }, "interval 9s is below the minimum 10s"},
		{func(d *Definition) { d.Timeout = 0 }, "timeout 0s must be positive"},
		{func(d *Definition) { d.Timeout = 2 * time.Minute }, "at most the interval"},
		{func(d *Definition) { d.Env = []EnvVar{{Name: "A=B"}} }, "env[0]: invalid variable name"},
		{func(d *Definition) { d.Env = []EnvVar{{Name: "A"}, {Name: "A"}} }, "env A: set twice"},
		{func(d *Definition) { d.Env = []EnvVar{{Name: "A", Value: "x\x00"}} }, "NUL"},
		{func(d *Definition) { d.Criteria.ExitStatuses = []int{256} }, "exit status 256 out of range"},
		{func(d *Definition) { d.Criteria.MustMatch = "(" }, "must_match: error parsing regexp"},
		{func(d *Definition) { d.Criteria.MustNotMatch = "[" }, "must_not_match: error parsing regexp"},
		{func(d *Definition) { d.Criteria.Thresholds = []string{"a < 1", "b <> 2"} }, `thresholds[1]: threshold "b <> 2": position 4`},
	}
	for _, tc := range tests {
		d := validDef()
		tc.mod(&d)
		_, err := d.Compile()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", d, err, tc.want)
		}
	}
	if _, err := validDef().Compile(); err != nil {
		t.Errorf("valid definition: %v", err)
	}
}

func TestSecretsMasked(t *testing.T) {
	t.Parallel()
	d := validDef()
	d.Env = []EnvVar{{Name: "API_TOKEN", Value: "hunter2", Secret: true}, {Name: "REGION", Value: "eu-west"}}
	var logBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("loaded", "monitor", d, "var", d.Env[0])
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("loaded", "monitor", d)
	outputs := map[string]string{
		"String": d.String(),
		"%v":     fmt.Sprintf("%v", d),
		"%+v":    fmt.Sprintf("%+v", d),
		"%#v":    fmt.Sprintf("%#v", d),
		"env %v": fmt.Sprintf("%v", d.Env),
		"slog":   logBuf.String(),
	}
	for name, s := range outputs {
		if strings.Contains(s, "hunter2") {
			t.Errorf("%s leaks the secret: %s", name, s)
		}
		if !strings.Contains(s, "eu-west") {
			t.Errorf("%s hides a non-secret value: %s", name, s)
		}
	}
}

func TestScriptFromPath(t *testing.T) {
	t.Parallel()
	d := validDef()
	d.Source, d.Path = "", "testdata/scripts/does-not-exist.py"
	m, err := d.Compile()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.script(); err == nil || !strings.Contains(err.Error(), "does-not-exist.py") {
		t.Errorf("error %v, want one naming the file", err)
	}
	d.Path = "testdata/scripts/pass.py"
	m, _ = d.Compile()
	if src, err := m.script(); err != nil || !strings.Contains(src, "METRIC latency_ms") {
		t.Errorf("script %q %v", src, err)
	}
}
