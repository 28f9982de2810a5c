package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	"rrdash/store"
	"rrdash/ui"
)

// reopenFile is the log file of --log-file: Reopen (SIGHUP) closes it and
// opens the path again, so logrotate can move it away and signal.
type reopenFile struct {
	mu   sync.Mutex
	path string
	f    *os.File
}

func openLogFile(path string) (*reopenFile, error) {
	r := &reopenFile{path: path}
	if err := r.Reopen(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *reopenFile) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f.Write(b)
}

// Reopen opens the path (appending, creating it) and only then closes the
// old file: a failure leaves logging where it was.
func (r *reopenFile) Reopen() error {
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	r.mu.Lock()
	old := r.f
	r.f = f
	r.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

func (r *reopenFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f.Close()
}

// liveKeys are the configuration keys SIGHUP applies to the running
// server (by their TOML names); a change to any other key is logged as
// needing a restart and the running value is kept.
var liveKeys = []string{"log_level", "monitor", "allowed_hosts", "retention", "monitors.webhooks"}

// reloader applies the configuration file again on SIGHUP.
type reloader struct {
	path     string                         // the config file ("" for none)
	pinned   []string                       // keys the command line set: they keep the running value
	cur      ui.ServeConfig                 // what runs
	level    *slog.LevelVar                 // the logger's level
	logFile  *reopenFile                    // nil without --log-file
	monitors func([]ui.MonitorConfig) error // replaces the config file's monitors
	hosts    func([]string) error           // replaces allowed_hosts
	// retention replaces the [[retention]] rules of series created from
	// now on; webhooks the [monitors] webhooks.
	retention func(*store.Retention)
	webhooks  func([]string)
	log       *slog.Logger
}

// reload reopens the log file, reads the configuration again, applies the
// keys that can change live, and logs every other change as refused. A
// file that does not load or validate changes nothing but the log file.
func (r *reloader) reload(ctx context.Context) {
	if r.logFile != nil {
		if err := r.logFile.Reopen(); err != nil {
			r.log.Error("SIGHUP: reopening the log file failed; logging goes on to the old file", "file", r.logFile.path, "error", err)
		} else {
			r.log.Info("SIGHUP: log file reopened", "file", r.logFile.path)
		}
	}
	next, err := ui.LoadServeConfig(r.path, os.Getenv)
	if err == nil {
		keep(&next, r.cur, r.pinned)
		err = next.Validate()
	}
	if err != nil {
		r.log.Error("SIGHUP: configuration not reloaded; the running one is kept", "config", r.path, "error", err)
		return
	}
	var applied, refused []string
	for _, key := range changedKeys(r.cur, next) {
		switch key {
		case "log_level":
			var lv slog.Level
			if err := lv.UnmarshalText([]byte(next.LogLevel)); err != nil {
				r.log.Error("SIGHUP: log_level not applied", "log_level", next.LogLevel, "error", err)
				continue
			}
			r.level.Set(lv)
			r.cur.LogLevel = next.LogLevel
			applied = append(applied, key)
		case "monitor":
			if err := r.monitors(next.Monitor); err != nil {
				r.log.Error("SIGHUP: [[monitor]] tables not applied; the running monitors are kept", "error", err)
				continue
			}
			r.cur.Monitor = next.Monitor
			applied = append(applied, key)
		case "allowed_hosts":
			if err := r.hosts(next.AllowedHosts); err != nil {
				r.log.Error("SIGHUP: allowed_hosts not applied; the running list is kept", "error", err)
				continue
			}
			r.cur.AllowedHosts = next.AllowedHosts
			applied = append(applied, key)
		case "retention":
			rules, err := store.CompileRetention(next.Retention)
			if err != nil {
				r.log.Error("SIGHUP: [[retention]] tables not applied; the running rules are kept", "error", err)
				continue
			}
			r.retention(rules)
			r.cur.Retention = next.Retention
			applied = append(applied, key)
		case "monitors":
			// webhooks change live; the other [monitors] settings shape the
			// scheduler and its sandbox, built once at start
			if !slices.Equal(r.cur.Monitors.Webhooks, next.Monitors.Webhooks) {
				r.webhooks(next.Monitors.Webhooks)
				r.cur.Monitors.Webhooks = next.Monitors.Webhooks
				applied = append(applied, "monitors.webhooks")
			}
			if !reflect.DeepEqual(r.cur.Monitors, next.Monitors) {
				refused = append(refused, key)
			}
		default:
			refused = append(refused, key)
		}
	}
	if len(refused) > 0 {
		r.log.Warn("SIGHUP: these settings changed but need a restart; the running values are kept",
			"keys", strings.Join(refused, ", "), "live", strings.Join(liveKeys, ", "))
	}
	r.log.Info("SIGHUP: configuration reloaded", "config", r.path, "applied", strings.Join(applied, ", "))
}

// flagToKey maps serve's flags to the configuration keys they set.
var flagToKey = map[string]string{
	"addr": "addr", "data": "data", "tracelog": "tracelog", "graphite": "graphite_addr", "monitoring-sinks": "monitoring",
	"allowed-host": "allowed_hosts", "rrdcached": "rrdcached_addr", "max-future": "max_future", "statsd": "statsd",
	"statsd-tcp": "statsd", "collectd": "collectd", "max-conns": "listen", "eval-budget": "eval_budget", "eval-timeout": "eval_timeout",
}

// flagKeys lists the configuration keys the command line set: the
// command line wins over the file, at start and at every reload.
func flagKeys(fs *flag.FlagSet) []string {
	var out []string
	fs.Visit(func(f *flag.Flag) {
		if k, ok := flagToKey[f.Name]; ok {
			out = append(out, k)
		}
	})
	return out
}

// keep copies the top-level keys named from cur into next.
func keep(next *ui.ServeConfig, cur ui.ServeConfig, keys []string) {
	vn, vc := reflect.ValueOf(next).Elem(), reflect.ValueOf(cur)
	t := vn.Type()
	for i := range t.NumField() {
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ",")
		if slices.Contains(keys, key) {
			vn.Field(i).Set(vc.Field(i))
		}
	}
}

// changedKeys names the top-level configuration keys (TOML names) whose
// values differ, sorted. [[monitor]] tables are compared without their
// line numbers: moving a table in the file changes nothing.
func changedKeys(a, b ui.ServeConfig) []string {
	var out []string
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	t := va.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if key == "" || key == "-" {
			key = f.Name
		}
		x, y := va.Field(i).Interface(), vb.Field(i).Interface()
		if key == "monitor" {
			x, y = withoutLines(a.Monitor), withoutLines(b.Monitor)
		}
		if !reflect.DeepEqual(x, y) {
			out = append(out, key)
		}
	}
	sort.Strings(out)
	return out
}

func withoutLines(ms []ui.MonitorConfig) []ui.MonitorConfig {
	out := make([]ui.MonitorConfig, len(ms))
	for i, m := range ms {
		m.Line = 0
		out[i] = m
	}
	return out
}

// logOutput is where serve logs: the --log-file (reopened on SIGHUP), else w.
func logOutput(w io.Writer, path string) (io.Writer, *reopenFile, error) {
	if path == "" {
		return w, nil, nil
	}
	f, err := openLogFile(path)
	if err != nil {
		return nil, nil, err
	}
	return f, f, nil
}
