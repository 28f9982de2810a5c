package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"rrdash/ingest/monitor"
	"rrdash/store/meta"
	"rrdash/ui"
)

// demoMonitor is the monitor `serve --demo` adds: a Python script from
// fixtures/monitors that reports a latency and fails now and then. It is
// found relative to the working directory (make run starts in the
// repository); elsewhere the demo runs without it.
func demoMonitor(log *slog.Logger) *monitor.Monitor {
	path, err := filepath.Abs(filepath.Join("fixtures", "monitors", "demo_checkout.py"))
	if err == nil {
		_, err = os.Stat(path)
	}
	if err != nil {
		log.Warn("demo monitor skipped: run serve --demo from the repository root", "script", "fixtures/monitors/demo_checkout.py", "err", err)
		return nil
	}
	d := monitor.Definition{Name: "demo-checkout", Owner: "local", Language: monitor.Python, Path: path,
		Interval: 15 * time.Second, Timeout: 10 * time.Second,
		Env:      []monitor.EnvVar{{Name: "DEMO_API_TOKEN", Value: "demo-secret-token", Secret: true}},
		Criteria: monitor.Criteria{Thresholds: []string{"latency_ms < 450"}, MustNotMatch: "(?i)traceback"}}
	m, err := d.Compile()
	if err != nil {
		log.Error("demo monitor", "err", err)
		return nil
	}
	return m
}

// newScheduler builds the scheduler of serve from the [monitors] settings.
// Runs are kept from seeing data and the hide paths (the config file).
func newScheduler(set ui.MonitorSettings, data string, sink monitor.Sink, log *slog.Logger, hide ...string) (*monitor.Scheduler, error) {
	cache := filepath.Join(data, "monitor-cache")
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return nil, fmt.Errorf("monitor cache: %w", err)
	}
	hooks := webhooks(set.Webhooks, log)
	runner := &monitor.Runner{CacheDir: cache, Python: set.Python, Logger: log, Limits: monitor.Limits{
		CPUSeconds: uint64(set.CPUSeconds), AddressSpace: uint64(set.AddressSpaceMB) << 20,
		OpenFiles: uint64(set.OpenFiles), Processes: uint64(set.Processes)}}
	if err := containRuns(runner, set, append([]string{data}, hide...)); err != nil {
		return nil, err
	}
	return &monitor.Scheduler{
		Runner:        runner,
		Sink:          sink,
		Policy:        monitor.DefaultPolicy(),
		MaxConcurrent: int(set.MaxConcurrent),
		Jitter:        set.Jitter,
		Logger:        log,
		Webhooks:      hooks,
	}, nil
}

// webhooks are the [monitors] webhooks, for the scheduler.
func webhooks(urls []string, log *slog.Logger) []*monitor.Webhook {
	var hooks []*monitor.Webhook
	for _, u := range urls {
		hooks = append(hooks, &monitor.Webhook{URL: u, Logger: log})
	}
	return hooks
}

// SetWebhooks replaces the webhooks of the scheduler (SIGHUP).
func (s *monitorService) SetWebhooks(urls []string) { s.sched.SetWebhooks(webhooks(urls, s.log)) }

// SandboxMode says how runs are contained, for /-/healthz.
func (s *monitorService) SandboxMode() string { return s.sched.Runner.SandboxMode() }

// sealMonitorSecrets makes md seal monitor secrets under the key file
// (kept outside the data directory) and seals those still in plain text or
// under a rotated-out key.
func sealMonitorSecrets(ctx context.Context, md *meta.DB, keyFile, data string, log *slog.Logger) error {
	if keyFile == "" {
		log.Warn("monitor secrets are stored in plain text in metadata.db: set [monitors] secrets_key_file")
		return nil
	}
	box, err := meta.LoadSecretBox(keyFile, data)
	if err != nil {
		return err
	}
	md.UseSecretBox(box)
	n, err := md.SealMonitorSecrets(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		log.Info("monitor secrets sealed", "monitors", n, "key_file", keyFile)
	}
	return nil
}

// containRuns gives runner the cgroups and the bubblewrap sandbox of the
// settings; it refuses to start where the machine cannot provide them,
// unless sandbox = "none" was chosen.
func containRuns(r *monitor.Runner, set ui.MonitorSettings, hide []string) error {
	none := set.Sandbox == "none"
	log := r.Logger
	if log == nil {
		log = slog.Default()
	}
	r.CgroupLimits = monitor.CgroupLimits{MemoryMax: uint64(set.MemoryMaxMB) << 20, PidsMax: uint64(set.PidsMax), CPUMax: set.CPUMax}
	if set.Cgroup != "none" {
		cg, err := monitor.OpenCgroups(set.Cgroup, r.CgroupLimits)
		switch {
		case err == nil:
			r.Cgroups = cg
		case none:
			log.Warn("monitors run without cgroups", "err", err)
		default:
			return fmt.Errorf(`monitors: %w (or set [monitors] sandbox = "none" and cgroup = "none")`, err)
		}
	}
	if none {
		log.Warn(`monitors run without a sandbox (sandbox = "none"): scripts can read what rrdash can`)
		return nil
	}
	sb, err := monitor.NewSandbox(hide)
	if err == nil {
		sb.UID, sb.GID = uint32(set.SandboxUID), uint32(set.SandboxGID)
		err = sb.Check(context.Background())
	}
	if err != nil {
		return fmt.Errorf("monitors: %w", err)
	}
	r.Sandbox = sb
	return nil
}
