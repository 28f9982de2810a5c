package ui

import (
	"math"
	"strings"
	"testing"
)

func TestMonitorSandboxSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mod  func(*MonitorSettings)
		want string // "" valid
	}{
		{"defaults", func(*MonitorSettings) {}, ""},
		{"none", func(m *MonitorSettings) { m.Sandbox, m.Cgroup = "none", "none" }, ""},
		{"unknown sandbox", func(m *MonitorSettings) { m.Sandbox = "firejail" }, `monitors.sandbox "firejail"`},
		{"empty sandbox", func(m *MonitorSettings) { m.Sandbox = "" }, `monitors.sandbox ""`},
		{"no cgroup needs no sandbox", func(m *MonitorSettings) { m.Cgroup = "none" }, `needs monitors.sandbox = "none"`},
		{"cgroup path", func(m *MonitorSettings) { m.Cgroup = "a/b" }, "one path element"},
		{"cgroup dotdot", func(m *MonitorSettings) { m.Cgroup = ".." }, "one path element"},
		{"negative memory", func(m *MonitorSettings) { m.MemoryMaxMB = -1 }, "monitors.memory_max_mb -1"},
		{"negative pids", func(m *MonitorSettings) { m.PidsMax = -1 }, "monitors.pids_max -1"},
		{"negative uid", func(m *MonitorSettings) { m.SandboxUID = -1 }, "monitors.sandbox_uid -1"},
		{"huge uid", func(m *MonitorSettings) { m.SandboxUID = 1 << 40 }, "out of range"},
		{"negative cpu", func(m *MonitorSettings) { m.CPUMax = -0.5 }, "monitors.cpu_max"},
		{"NaN cpu", func(m *MonitorSettings) { m.CPUMax = math.NaN() }, "monitors.cpu_max"},
	}
	for _, tc := range tests {
		cfg := DefaultServeConfig()
		tc.mod(&cfg.Monitors)
		err := cfg.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
