// Package monitor runs code monitors: small Python or Go scripts executed on
// a schedule, whose runtime, exit status and printed metrics are written to
// the store and whose failures drive an alert state machine.
package monitor

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Language is the language a monitor script is written in.
type Language string

// Supported languages.
const (
	Python Language = "python"
	Go     Language = "go"
)

// MinInterval is the shortest schedule a monitor may ask for.
const MinInterval = 10 * time.Second

// EnvVar is one environment variable given to a script. Secret values are
// never shown by String or in logs.
type EnvVar struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Secret bool   `json:"secret,omitempty"`
}

// Criteria decide whether a finished run succeeded.
type Criteria struct {
	// ExitStatuses that count as success; empty means {0}.
	ExitStatuses []int `json:"exit_statuses,omitempty"`
	// MustMatch and MustNotMatch are regular expressions (RE2) applied to the
	// captured stdout and stderr together; empty means no check.
	MustMatch    string `json:"must_match,omitempty"`
	MustNotMatch string `json:"must_not_match,omitempty"`
	// Thresholds like "latency_ms < 500"; every one must hold, and a metric
	// a threshold names must have been reported.
	Thresholds []string `json:"thresholds,omitempty"`
}

// Definition is a monitor as configured by a user.
type Definition struct {
	Name     string        `json:"name"`
	Owner    string        `json:"owner,omitempty"`
	Language Language      `json:"language"`
	Source   string        `json:"source,omitempty"` // script text; exclusive with Path
	Path     string        `json:"path,omitempty"`   // script file, read at every run
	Interval time.Duration `json:"interval"`
	Timeout  time.Duration `json:"timeout"`
	Env      []EnvVar      `json:"env,omitempty"`
	Criteria Criteria      `json:"criteria"`
	// Alert overrides the scheduler's alert policy for this monitor.
	Alert *Policy `json:"alert,omitempty"`
	// Network false runs the script in an empty network namespace (with
	// the bubblewrap sandbox); nil means true, since monitors probe services.
	Network *bool `json:"network,omitempty"`
	// Cgroup limits of this monitor's runs; zero takes the runner's.
	MemoryMaxMB int64   `json:"memory_max_mb,omitempty"`
	PidsMax     int64   `json:"pids_max,omitempty"`
	CPUMax      float64 `json:"cpu_max,omitempty"` // cores
}

// Network reports whether the monitor's runs may use the network.
func (m *Monitor) Network() bool { return m.Def.Network == nil || *m.Def.Network }

// validName accepts monitor names: 1 to 64 of A-Z a-z 0-9 _ -.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// String describes d with secret environment values masked.
func (d Definition) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "monitor %s (%s, every %s, timeout %s", d.Name, d.Language, d.Interval, d.Timeout)
	if d.Path != "" {
		fmt.Fprintf(&b, ", script %s", d.Path)
	} else {
		fmt.Fprintf(&b, ", inline script of %d bytes", len(d.Source))
	}
	for _, e := range d.Env {
		fmt.Fprintf(&b, ", %s=%s", e.Name, e.masked())
	}
	b.WriteString(")")
	return b.String()
}

// GoString keeps %#v from printing secrets.
func (d Definition) GoString() string { return d.String() }

// LogValue keeps slog from printing secrets.
func (d Definition) LogValue() slog.Value {
	env := make([]slog.Attr, 0, len(d.Env))
	for _, e := range d.Env {
		env = append(env, slog.String(e.Name, e.masked()))
	}
	return slog.GroupValue(
		slog.String("name", d.Name),
		slog.String("language", string(d.Language)),
		slog.Duration("interval", d.Interval),
		slog.Duration("timeout", d.Timeout),
		slog.Any("env", slog.GroupValue(env...)),
	)
}

func (e EnvVar) masked() string {
	if e.Secret {
		return "********"
	}
	return strconv.Quote(e.Value)
}

// String shows the variable with a secret value masked.
func (e EnvVar) String() string { return e.Name + "=" + e.masked() }

// LogValue keeps slog from printing a secret value.
func (e EnvVar) LogValue() slog.Value { return slog.StringValue(e.String()) }

// Monitor is a validated Definition with its criteria compiled.
type Monitor struct {
	Def          Definition
	exitOK       []int
	mustMatch    *regexp.Regexp
	mustNotMatch *regexp.Regexp
	thresholds   []Threshold
}

// Compile validates d and compiles its criteria. Errors name the field.
func (d Definition) Compile() (*Monitor, error) {
	fail := func(format string, a ...any) (*Monitor, error) {
		return nil, fmt.Errorf("monitor %q: %s", d.Name, fmt.Sprintf(format, a...))
	}
	if !validName(d.Name) {
		return fail("name must be 1-64 characters of A-Z a-z 0-9 _ -")
	}
	if d.Language != Python && d.Language != Go {
		return fail("language %q: want %q or %q", d.Language, Python, Go)
	}
	if (d.Source == "") == (d.Path == "") {
		return fail("exactly one of source and path must be set")
	}
	if d.Interval < MinInterval {
		return fail("interval %s is below the minimum %s", d.Interval, MinInterval)
	}
	if d.Timeout <= 0 || d.Timeout > d.Interval {
		return fail("timeout %s must be positive and at most the interval %s", d.Timeout, d.Interval)
	}
	if d.MemoryMaxMB < 0 || d.PidsMax < 0 || d.CPUMax < 0 || math.IsNaN(d.CPUMax) || math.IsInf(d.CPUMax, 0) {
		return fail("memory_max_mb %d, pids_max %d, cpu_max %v: must not be negative", d.MemoryMaxMB, d.PidsMax, d.CPUMax)
	}
	seen := map[string]bool{}
	for i, e := range d.Env {
		if e.Name == "" || strings.ContainsAny(e.Name, "=\x00") {
			return fail("env[%d]: invalid variable name %q", i, e.Name)
		}
		if strings.ContainsRune(e.Value, 0) {
			return fail("env %s: value contains a NUL byte", e.Name)
		}
		if seen[e.Name] {
			return fail("env %s: set twice", e.Name)
		}
		seen[e.Name] = true
	}
	if d.Alert != nil {
		if err := d.Alert.Validate(); err != nil {
			return fail("alert: %v", err)
		}
	}
	m := &Monitor{Def: d, exitOK: d.Criteria.ExitStatuses}
	if len(m.exitOK) == 0 {
		m.exitOK = []int{0}
	}
	for _, s := range m.exitOK {
		if s < 0 || s > 255 {
			return fail("exit status %d out of range 0-255", s)
		}
	}
	var err error
	if d.Criteria.MustMatch != "" {
		if m.mustMatch, err = regexp.Compile(d.Criteria.MustMatch); err != nil {
			return fail("must_match: %v", err)
		}
	}
	if d.Criteria.MustNotMatch != "" {
		if m.mustNotMatch, err = regexp.Compile(d.Criteria.MustNotMatch); err != nil {
			return fail("must_not_match: %v", err)
		}
	}
	for i, s := range d.Criteria.Thresholds {
		t, err := ParseThreshold(s)
		if err != nil {
			return fail("thresholds[%d]: %v", i, err)
		}
		m.thresholds = append(m.thresholds, t)
	}
	return m, nil
}

// Name is the monitor's name.
func (m *Monitor) Name() string { return m.Def.Name }

// script returns the script text: the inline source or the file's content.
func (m *Monitor) script() (string, error) {
	if m.Def.Source != "" {
		return m.Def.Source, nil
	}
	b, err := os.ReadFile(m.Def.Path)
	if err != nil {
		return "", fmt.Errorf("monitor %s: reading script: %w", m.Def.Name, err)
	}
	return string(b), nil
}

func sourceHash(src string) string {
	h := sha256.Sum256([]byte(src))
	return hex.EncodeToString(h[:])
}

// judge applies the success criteria to a finished (not timed out) run and
// returns the reason it failed, or "" when it passed.
func (m *Monitor) judge(exit int, output []byte, metrics []Metric) string {
	if !slices.Contains(m.exitOK, exit) {
		return fmt.Sprintf("exit status %d not in %v", exit, m.exitOK)
	}
	if m.mustMatch != nil && !m.mustMatch.Match(output) {
		return fmt.Sprintf("output does not match %q", m.Def.Criteria.MustMatch)
	}
	if m.mustNotMatch != nil {
		if loc := m.mustNotMatch.FindIndex(output); loc != nil {
			return fmt.Sprintf("output matches %q at byte %d", m.Def.Criteria.MustNotMatch, loc[0])
		}
	}
	for _, t := range m.thresholds {
		if why := t.check(metrics); why != "" {
			return why
		}
	}
	return ""
}
