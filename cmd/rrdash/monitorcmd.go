package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"rrdash/ingest/monitor"
	"rrdash/store/meta"
	"rrdash/ui"
)

const monitorUsage = "usage: rrdash monitor run [--lang python|go] [--timeout D] [--env NAME=VALUE]… [--secret NAME=VALUE]… [--threshold 'metric < N']… [--must-match RE] [--must-not-match RE] [--exit-ok N,…] [--json] FILE.py|FILE.go|NAME\n" +
	"  NAME is a monitor of the config file (--config, $RRDASH_CONFIG) or saved in the data directory (--data)."

// runMonitorCmd implements `rrdash monitor run`: one run of a script file
// or of a defined monitor, printed; nothing is stored. The command fails
// when the run is not ok, so it can gate a script before it is added.
func runMonitorCmd(ctx context.Context, dir string, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "run" {
		return usageError{monitorUsage}
	}
	fs := flag.NewFlagSet("monitor run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	lang := fs.String("lang", "", "script language (default: from the file extension)")
	timeout := fs.Duration("timeout", 30*time.Second, "kill the run after this long")
	config := fs.String("config", "", "serve's TOML configuration, to run one of its monitors by name")
	asJSON := fs.Bool("json", false, "print the run record as JSON")
	mustMatch := fs.String("must-match", "", "output must match this regular expression")
	mustNotMatch := fs.String("must-not-match", "", "output must not match this regular expression")
	exitOK := fs.String("exit-ok", "", "exit statuses counted as success, comma separated (default 0)")
	var envs, secrets, thresholds globList
	fs.Var(&envs, "env", "NAME=VALUE for the script (repeatable)")
	fs.Var(&secrets, "secret", "NAME=VALUE for the script, masked in the output (repeatable)")
	fs.Var(&thresholds, "threshold", "metric threshold such as 'latency_ms < 500' (repeatable)")
	// Flags may come before or after the script.
	var positional []string
	for rest := args[1:]; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintln(stdout, monitorUsage)
				fs.SetOutput(stdout)
				fs.PrintDefaults()
				return nil
			}
			return fmt.Errorf("monitor run: %w (%s)", err, monitorUsage)
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(positional) != 1 {
		return usageError{"monitor run: give one script file or monitor name\n" + monitorUsage}
	}
	target := positional[0]
	var d monitor.Definition
	if st, err := os.Stat(target); err == nil && !st.IsDir() {
		d, err = fileDefinition(target, *lang, *timeout)
		if err != nil {
			return fmt.Errorf("monitor run: %w", err)
		}
		for _, kv := range envs {
			if d.Env, err = addEnv(d.Env, kv, false); err != nil {
				return fmt.Errorf("monitor run: --env: %w", err)
			}
		}
		for _, kv := range secrets {
			if d.Env, err = addEnv(d.Env, kv, true); err != nil {
				return fmt.Errorf("monitor run: --secret: %w", err)
			}
		}
		d.Criteria = monitor.Criteria{MustMatch: *mustMatch, MustNotMatch: *mustNotMatch, Thresholds: thresholds}
		if *exitOK != "" {
			for _, f := range strings.Split(*exitOK, ",") {
				var n int
				if _, err := fmt.Sscanf(strings.TrimSpace(f), "%d", &n); err != nil {
					return fmt.Errorf("monitor run: --exit-ok %q: want numbers separated by commas", *exitOK)
				}
				d.Criteria.ExitStatuses = append(d.Criteria.ExitStatuses, n)
			}
		}
	} else {
		if len(envs)+len(secrets)+len(thresholds) > 0 || *mustMatch != "" || *mustNotMatch != "" || *exitOK != "" || *lang != "" {
			return fmt.Errorf("monitor run: %q is not a file; options that define a script apply to files only", target)
		}
		cfgPath := *config
		if cfgPath == "" {
			cfgPath = os.Getenv("RRDASH_CONFIG")
		}
		if d, err = namedDefinition(ctx, target, cfgPath, dir); err != nil {
			return fmt.Errorf("monitor run: %w", err)
		}
	}
	m, err := d.Compile()
	if err != nil {
		return fmt.Errorf("monitor run: %w", err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	r := &monitor.Runner{CacheDir: filepath.Join(cache, "rrdash", "monitor-cache"), Limits: monitor.DefaultLimits(),
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	res := r.Run(ctx, m)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		printResult(stdout, m, res)
	}
	if res.Outcome != monitor.OK {
		return fmt.Errorf("monitor %s: %s: %s", m.Name(), res.Outcome, res.Reason)
	}
	return nil
}

// fileDefinition defines a one-off monitor for a script file.
func fileDefinition(path, lang string, timeout time.Duration) (monitor.Definition, error) {
	if lang == "" {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".py":
			lang = string(monitor.Python)
		case ".go":
			lang = string(monitor.Go)
		default:
			return monitor.Definition{}, fmt.Errorf("%s: cannot tell the language from the extension; give --lang python or --lang go", path)
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return monitor.Definition{}, err
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	name = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, name)
	if len(name) > 64 {
		name = name[:64]
	}
	if name == "" {
		name = "script"
	}
	// The interval only bounds the timeout here: nothing is scheduled.
	return monitor.Definition{Name: name, Language: monitor.Language(lang), Path: abs,
		Interval: max(timeout, monitor.MinInterval), Timeout: timeout}, nil
}

func addEnv(env []monitor.EnvVar, kv string, secret bool) ([]monitor.EnvVar, error) {
	name, value, ok := strings.Cut(kv, "=")
	if !ok || name == "" {
		return env, fmt.Errorf("%q: want NAME=VALUE", kv)
	}
	return append(env, monitor.EnvVar{Name: name, Value: value, Secret: secret}), nil
}

// namedDefinition finds a monitor by name in the config file, then in the
// metadata database of the data directory.
func namedDefinition(ctx context.Context, name, cfgPath, dir string) (monitor.Definition, error) {
	cfg, err := ui.LoadServeConfig(cfgPath, os.Getenv)
	if err != nil {
		return monitor.Definition{}, err
	}
	ms, err := configMonitors(cfgPath, cfg.Monitor)
	if err != nil {
		return monitor.Definition{}, err
	}
	for _, m := range ms {
		if m.Name() == name {
			return m.Def, nil
		}
	}
	if dir != "" {
		cfg.Data = dir
	}
	path := metadataLocation(cfg)
	if !meta.IsPostgresURL(path) {
		if _, err := os.Stat(path); err != nil {
			return monitor.Definition{}, fmt.Errorf("%q is neither a file nor a monitor of the config file, and %s has no metadata database: %w", name, cfg.Data, errNoMonitor)
		}
	}
	md, err := meta.Open(ctx, path)
	if err != nil {
		return monitor.Definition{}, err
	}
	defer md.Close()
	row, err := md.GetMonitor(ctx, name)
	if errors.Is(err, meta.ErrNotFound) {
		return monitor.Definition{}, fmt.Errorf("%q is neither a file nor a monitor of the config file or of %s: %w", name, meta.RedactURL(path), errNoMonitor)
	}
	if err != nil {
		return monitor.Definition{}, err
	}
	var d monitor.Definition
	if err := json.Unmarshal([]byte(row.Definition), &d); err != nil {
		return monitor.Definition{}, fmt.Errorf("saved monitor %s: %w", name, err)
	}
	return d, nil
}

func printResult(w io.Writer, m *monitor.Monitor, res monitor.Result) {
	fmt.Fprintf(w, "monitor:     %s (%s)\n", m.Name(), m.Def.Language)
	fmt.Fprintf(w, "result:      %s\n", res.Outcome)
	if res.Reason != "" {
		fmt.Fprintf(w, "reason:      %s\n", res.Reason)
	}
	fmt.Fprintf(w, "exit status: %d\n", res.ExitStatus)
	fmt.Fprintf(w, "runtime:     %.3fs\n", res.Runtime.Seconds())
	for _, mt := range res.Metrics {
		unit := ""
		if mt.Unit != "" {
			unit = " " + mt.Unit
		}
		fmt.Fprintf(w, "metric:      %s = %g%s\n", mt.Name, mt.Value, unit)
	}
	if res.Truncated {
		fmt.Fprintln(w, "output:      truncated to its tail")
	}
	if res.Stdout != "" {
		fmt.Fprintf(w, "--- stdout\n%s", res.Stdout)
		if !strings.HasSuffix(res.Stdout, "\n") {
			fmt.Fprintln(w)
		}
	}
	if res.Stderr != "" {
		fmt.Fprintf(w, "--- stderr\n%s", res.Stderr)
		if !strings.HasSuffix(res.Stderr, "\n") {
			fmt.Fprintln(w)
		}
	}
}
