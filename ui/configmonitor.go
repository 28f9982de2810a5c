package ui

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
)

// MonitorSettings configure the code-monitor scheduler.
type MonitorSettings struct {
	Webhooks      []string `toml:"webhooks"`       // URLs POSTed every alert change
	MaxConcurrent int64    `toml:"max_concurrent"` // runs at once
	Jitter        float64  `toml:"jitter"`         // fraction of the interval, [0, 1)
	KeepRuns      int64    `toml:"keep_runs"`      // run records kept per monitor
	Python        string   `toml:"python"`         // interpreter; empty: python3 from PATH
	// Rlimits of every run; 0 leaves a limit as rrdash's own.
	CPUSeconds     int64 `toml:"cpu_seconds"`
	AddressSpaceMB int64 `toml:"address_space_mb"`
	OpenFiles      int64 `toml:"open_files"`
	Processes      int64 `toml:"processes"`
	// Sandbox is "bubblewrap" (the default) or "none" (no filesystem or
	// network isolation; must be chosen explicitly).
	Sandbox    string `toml:"sandbox"`
	SandboxUID int64  `toml:"sandbox_uid"` // unprivileged uid of runs (default 65534)
	SandboxGID int64  `toml:"sandbox_gid"`
	// Cgroup is the parent cgroup of runs, one path element; "none" runs
	// without cgroups (only with sandbox = "none").
	Cgroup      string  `toml:"cgroup"`
	MemoryMaxMB int64   `toml:"memory_max_mb"` // per run; 0 unlimited
	PidsMax     int64   `toml:"pids_max"`
	CPUMax      float64 `toml:"cpu_max"` // cores
	// SecretsKeyFile seals monitor secrets in metadata.db; outside the data
	// directory. Empty keeps them in plain text.
	SecretsKeyFile string `toml:"secrets_key_file"`
	// LeaseTTL is how long a server sharing metadata_url holds a monitor
	// without renewing (Go duration): a killed server's monitors move to
	// another within it.
	LeaseTTL string `toml:"lease_ttl"`
}

// DefaultLeaseTTL is monitors.lease_ttl's default.
const DefaultLeaseTTL = 10 * time.Second

// LeaseTTLDuration returns monitors.lease_ttl.
func (m MonitorSettings) LeaseTTLDuration() (time.Duration, error) {
	if m.LeaseTTL == "" {
		return DefaultLeaseTTL, nil
	}
	d, err := time.ParseDuration(m.LeaseTTL)
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("monitors.lease_ttl %q: want a duration of at least 1s, like 10s", m.LeaseTTL)
	}
	return d, nil
}

// MonitorConfig is one [[monitor]] table. Line is where it starts in the
// file, so cmd can name the place of an invalid definition.
type MonitorConfig struct {
	Name         string              `toml:"name"`
	Owner        string              `toml:"owner"` // user handle allowed to "run now"
	Language     string              `toml:"language"`
	Source       string              `toml:"source"`
	Path         string              `toml:"path"`
	Interval     string              `toml:"interval"`
	Timeout      string              `toml:"timeout"`
	Env          []MonitorEnvConfig  `toml:"env"`
	ExitStatuses []int               `toml:"exit_statuses"`
	MustMatch    string              `toml:"must_match"`
	MustNotMatch string              `toml:"must_not_match"`
	Thresholds   []string            `toml:"thresholds"`
	Alert        *MonitorAlertConfig `toml:"alert"`
	Network      *bool               `toml:"network"` // default true
	MemoryMaxMB  int64               `toml:"memory_max_mb"`
	PidsMax      int64               `toml:"pids_max"`
	CPUMax       float64             `toml:"cpu_max"`
	Line         int                 `toml:"-"`
}

// MonitorEnvConfig is one environment variable of a monitor.
type MonitorEnvConfig struct {
	Name   string `toml:"name"`
	Value  string `toml:"value"`
	Secret bool   `toml:"secret"`
}

// MonitorAlertConfig overrides the alert policy of one monitor.
type MonitorAlertConfig struct {
	Consecutive    int `toml:"consecutive"`
	WindowFailures int `toml:"window_failures"`
	Window         int `toml:"window"`
	Resolve        int `toml:"resolve"`
}

// monitorHeaderRE finds the [[monitor]] table headers, the i-th of which
// starts the i-th monitor. It is compiled when a config is read, not at
// package init, which every CLI process would pay for.
const monitorHeaderRE = `(?m)^[ \t]*\[\[[ \t]*monitor[ \t]*\]\]`

// monitorLines sets the Line of each monitor from its table header.
func monitorLines(text string, ms []MonitorConfig) {
	locs := regexp.MustCompile(monitorHeaderRE).FindAllStringIndex(text, -1)
	for i := range ms {
		if i < len(locs) {
			ms[i].Line = 1 + strings.Count(text[:locs[i][0]], "\n")
		}
	}
}

func (m MonitorSettings) validateSandbox() error {
	switch m.Sandbox {
	case "bubblewrap", "none":
	default:
		return fmt.Errorf(`monitors.sandbox %q: want "bubblewrap" or "none"`, m.Sandbox)
	}
	if m.Cgroup == "none" && m.Sandbox != "none" {
		return errors.New(`monitors.cgroup "none" needs monitors.sandbox = "none"`)
	}
	if m.Cgroup == "" || strings.ContainsAny(m.Cgroup, "/\x00") || m.Cgroup == "." || m.Cgroup == ".." {
		return fmt.Errorf("monitors.cgroup %q: want one path element", m.Cgroup)
	}
	for key, v := range map[string]int64{"memory_max_mb": m.MemoryMaxMB, "pids_max": m.PidsMax, "sandbox_uid": m.SandboxUID, "sandbox_gid": m.SandboxGID} {
		if v < 0 {
			return fmt.Errorf("monitors.%s %d: must not be negative", key, v)
		}
	}
	if m.SandboxUID > 1<<31 || m.SandboxGID > 1<<31 {
		return errors.New("monitors.sandbox_uid/sandbox_gid: out of range")
	}
	if m.CPUMax < 0 || math.IsNaN(m.CPUMax) || math.IsInf(m.CPUMax, 0) {
		return fmt.Errorf("monitors.cpu_max %v: want cores, such as 0.5", m.CPUMax)
	}
	return nil
}
