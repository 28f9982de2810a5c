package ui

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"rrdash/auth"
	"rrdash/store"
	"rrdash/store/meta"
)

// ServeConfig is the configuration of `rrdash serve`. Each key can be set
// in the TOML file, overridden by the environment variable RRDASH_<KEY>
// (upper case, sections joined with _, e.g. RRDASH_TRACELOG_GLOBS), and the
// main ones by flags.
type ServeConfig struct {
	Addr    string `toml:"addr"`     // listen address HOST:PORT
	Data    string `toml:"data"`     // data directory (store + metadata.db)
	BaseURL string `toml:"base_url"` // public URL for share links and og:image
	// MetadataURL puts the metadata (users, graphs, monitors, …) in a
	// PostgreSQL database shared by several servers (postgres://…);
	// empty keeps it in DATA/metadata.db (SQLite).
	MetadataURL Secret `toml:"metadata_url"`
	// AllowedHosts are further host names (or IPs) the server answers in
	// the Host header, beside localhost, loopback, the listen address and
	// the hosts of base_url and oidc.redirect_url; others get 421.
	AllowedHosts []string       `toml:"allowed_hosts"`
	LogLevel     string         `toml:"log_level"`  // debug, info, warn, error
	LogFormat    string         `toml:"log_format"` // text or json
	Tracelog     TracelogConfig `toml:"tracelog"`
	// Kinesis makes serve consume a stream (as `rrdash ingest kinesis`).
	Kinesis KinesisConfig `toml:"kinesis"`
	// Cluster makes serve a node of a cluster (clusterconfig.go).
	Cluster ClusterConfig `toml:"cluster"`
	// GraphiteAddr is where the Graphite plaintext listener (TCP) listens;
	// empty (the default) turns it off.
	GraphiteAddr string `toml:"graphite_addr"`
	// PickleAddr is where carbon's pickle protocol listener (TCP, what
	// carbon-relay sends) listens; empty (the default) turns it off.
	PickleAddr string `toml:"pickle_addr"`
	// GraphiteUDPAddr is where the Graphite plaintext protocol is read
	// over UDP (carbon's ENABLE_UDP_LISTENER); empty turns it off.
	GraphiteUDPAddr string `toml:"graphite_udp_addr"`
	// Statsd and Collectd are the UDP ingest listeners (off by default).
	Statsd   StatsdConfig   `toml:"statsd"`
	Collectd CollectdConfig `toml:"collectd"`
	// RrdcachedAddr is an optional TCP listener of the rrdcached protocol
	// (HOST[:PORT], port 42217 by default); empty (the default) turns it
	// off. The UNIX socket RrdcachedSocket is always on.
	RrdcachedAddr string `toml:"rrdcached_addr"`
	// RrdcachedSocket is the rrdcached UNIX socket; default
	// DATA/rrdcached.sock.
	RrdcachedSocket string `toml:"rrdcached_socket"`
	// RrdcachedPermissions are the commands a TCP client may use (rrdcached
	// -P); empty: updates and reads (see the README).
	RrdcachedPermissions []string `toml:"rrdcached_permissions"`
	// MaxFuture refuses points more than this ahead of the server clock
	// on every ingest path (Go duration, default 10m).
	MaxFuture string `toml:"max_future"`
	// Listen limits every TCP listener; Push limits HTTP push ingest.
	Listen ListenConfig `toml:"listen"`
	Push   PushConfig   `toml:"push"`
	// OIDC turns on login through an OpenID Connect provider; without an
	// issuer rrdash runs in the local single-user mode.
	OIDC OIDCConfig `toml:"oidc"`
	// TrustedProxies are reverse proxies (IPs or CIDR prefixes) whose
	// X-Forwarded-For is believed when finding the client IP.
	TrustedProxies []string `toml:"trusted_proxies"`
	// Monitors are the code-monitor settings; Monitor the monitors defined
	// in the file ([[monitor]] tables), read-only in the UI.
	Monitors MonitorSettings `toml:"monitors"`
	Monitor  []MonitorConfig `toml:"monitor"`
	// Monitoring says where rrdash's own request points go.
	Monitoring MonitoringConfig `toml:"monitoring"`
	// EvalBudget is the most work one request's evaluation may do, in
	// row-operations; a request estimated over it is refused with 422.
	// 0 turns the limit off.
	EvalBudget int64 `toml:"eval_budget"`
	// EvalTimeout stops an evaluation running longer (Go duration; 503).
	// "0" turns it off.
	EvalTimeout string `toml:"eval_timeout"`
	// MaxOpenFiles bounds the archive files the store holds open at once
	// (store.Options.MaxOpenFiles); 0: half the descriptor limit, at most
	// 4,096.
	MaxOpenFiles int64 `toml:"max_open_files"`
	// Retention are the [[retention]] rules: the layout and data model of
	// series created on first sight, first match wins (docs/STORE.md).
	Retention []store.RetentionRule `toml:"retention"`
	// SeriesAdmin says who may delete and rename series (web UI and API;
	// seriesperm.go).
	SeriesAdmin SeriesAdminConfig `toml:"series_admin"`
}

// MonitoringConfig is the [monitoring] section (see docs/MONITORING.md).
type MonitoringConfig struct {
	// Sinks receive a point per served request: "rrdash" (aggregated into
	// the own store), "influxdb", "otlp". Default ["rrdash"]; "otlp" is
	// added when OTEL_EXPORTER_OTLP_ENDPOINT is set.
	Sinks   []string         `toml:"sinks"`
	Service string           `toml:"service"` // the service tag (default rrdash)
	Influx  InfluxSinkConfig `toml:"influxdb"`
}

// InfluxSinkConfig is the [monitoring.influxdb] section.
type InfluxSinkConfig struct {
	URL             string `toml:"url"`
	Database        string `toml:"database"` // InfluxDB 1.x
	RetentionPolicy string `toml:"retention_policy"`
	Username        string `toml:"username"`
	Password        Secret `toml:"password"`
	PasswordFile    string `toml:"password_file"`
	Bucket          string `toml:"bucket"` // InfluxDB 2.x
	Org             string `toml:"org"`
	Token           Secret `toml:"token"`
	TokenFile       string `toml:"token_file"`
	Gzip            bool   `toml:"gzip"`
	Timeout         string `toml:"timeout"`        // per write, Go duration (default 10s)
	FlushInterval   string `toml:"flush_interval"` // Go duration (default 10s)
	BatchSize       int64  `toml:"batch_size"`     // points per write (default 5000)
	QueueSize       int64  `toml:"queue_size"`     // points waiting at most (default 50000)
}

// MonitoringSinks are the sink names [monitoring] sinks may list.
var monitoringSinks = []string{"rrdash", "influxdb", "otlp"}

// Durations returns the influxdb sink's timeout and flush interval (zero:
// default).
func (c InfluxSinkConfig) Durations() (timeout, flush time.Duration, err error) {
	for _, d := range []struct {
		key, v string
		out    *time.Duration
	}{{"monitoring.influxdb.timeout", c.Timeout, &timeout}, {"monitoring.influxdb.flush_interval", c.FlushInterval, &flush}} {
		if d.v == "" {
			continue
		}
		if *d.out, err = time.ParseDuration(d.v); err != nil || *d.out <= 0 {
			return 0, 0, fmt.Errorf("%s %q: want a positive duration like 10s", d.key, d.v)
		}
	}
	return timeout, flush, nil
}

func (c MonitoringConfig) validate() error {
	seen := map[string]bool{}
	for _, s := range c.Sinks {
		if !slices.Contains(monitoringSinks, s) {
			return fmt.Errorf("monitoring.sinks: unknown sink %q (want %s)", s, strings.Join(monitoringSinks, ", "))
		}
		if seen[s] {
			return fmt.Errorf("monitoring.sinks: %q listed twice", s)
		}
		seen[s] = true
	}
	if strings.ContainsAny(c.Service, "\n\r") {
		return fmt.Errorf("monitoring.service %q: no line breaks", c.Service)
	}
	in := c.Influx
	if !seen["influxdb"] {
		if in.URL != "" || in.Database != "" || in.Bucket != "" {
			return errors.New(`monitoring.influxdb is set but "influxdb" is not in monitoring.sinks`)
		}
		return nil
	}
	if in.URL == "" {
		return errors.New("monitoring.influxdb.url: required with the influxdb sink")
	}
	if in.Password != "" && in.PasswordFile != "" {
		return errors.New("monitoring.influxdb: set password or password_file, not both")
	}
	if in.Token != "" && in.TokenFile != "" {
		return errors.New("monitoring.influxdb: set token or token_file, not both")
	}
	if in.BatchSize < 0 || in.QueueSize < 0 {
		return errors.New("monitoring.influxdb: batch_size and queue_size must not be negative")
	}
	_, _, err := in.Durations()
	return err
}

// ListenConfig is the [listen] section: limits of every TCP listener
// (HTTP, Graphite).
type ListenConfig struct {
	MaxConns int64 `toml:"max_conns"` // open connections per listener
	// IdleTimeout closes a Graphite connection silent this long (Go
	// duration); HTTP keeps its own timeouts.
	IdleTimeout string `toml:"idle_timeout"`
}

// StatsdConfig is the [statsd] section: Etsy statsd semantics (see the
// README); an empty address turns that listener off.
type StatsdConfig struct {
	UDPAddr         string    `toml:"udp_addr"`
	TCPAddr         string    `toml:"tcp_addr"`
	Percentiles     []float64 `toml:"percentiles"`       // timer percentiles; default 50, 90, 99
	DeleteIdleStats bool      `toml:"delete_idle_stats"` // statsd's deleteIdleStats
}

// CollectdConfig is the [collectd] section: collectd's binary network
// protocol on UDP; an empty address turns it off.
type CollectdConfig struct {
	Addr          string   `toml:"addr"`
	SecurityLevel string   `toml:"security_level"` // none, sign, encrypt
	AuthFile      string   `toml:"auth_file"`      // lines `user: password`
	TypesDB       []string `toml:"types_db"`       // default /usr/share/collectd/types.db
}

func (c ServeConfig) validateUDPIngest() error {
	for _, a := range []struct{ key, v string }{{"statsd.udp_addr", c.Statsd.UDPAddr}, {"statsd.tcp_addr", c.Statsd.TCPAddr}, {"collectd.addr", c.Collectd.Addr}, {"graphite_udp_addr", c.GraphiteUDPAddr}} {
		if a.v == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.v); err != nil {
			return fmt.Errorf("%s %q: want HOST:PORT: %w", a.key, a.v, err)
		}
	}
	switch strings.ToLower(c.Collectd.SecurityLevel) {
	case "", "none":
	case "sign", "encrypt":
		if c.Collectd.AuthFile == "" {
			return fmt.Errorf("collectd.security_level %q needs collectd.auth_file", c.Collectd.SecurityLevel)
		}
	default:
		return fmt.Errorf("collectd.security_level %q: want none, sign or encrypt", c.Collectd.SecurityLevel)
	}
	return nil
}

// PushConfig is the [push] section: limits of HTTP push ingest.
type PushConfig struct {
	MaxBodyBytes     int64  `toml:"max_body_bytes"`     // per request, after gzip too
	MaxInflightBytes int64  `toml:"max_inflight_bytes"` // all requests at once
	QueueWait        string `toml:"queue_wait"`         // Go duration a request waits for room before 429
}

// Durations are the duration keys of serve's ingest settings, parsed.
type Durations struct {
	MaxFuture, IdleTimeout, QueueWait time.Duration
}

// IngestDurations parses max_future, listen.idle_timeout and
// push.queue_wait.
func (c ServeConfig) IngestDurations() (Durations, error) {
	var d Durations
	for _, k := range []struct {
		key, v string
		out    *time.Duration
	}{{"max_future", c.MaxFuture, &d.MaxFuture}, {"listen.idle_timeout", c.Listen.IdleTimeout, &d.IdleTimeout}, {"push.queue_wait", c.Push.QueueWait, &d.QueueWait}} {
		v, err := time.ParseDuration(k.v)
		if err != nil || v <= 0 {
			return d, fmt.Errorf("%s %q: want a positive duration like 10m or 30s", k.key, k.v)
		}
		*k.out = v
	}
	return d, nil
}

// EvalLimits are the evaluation budget and timeout as Config takes them
// (negative: off).
func (c ServeConfig) EvalLimits() (budget int64, timeout time.Duration, err error) {
	budget = c.EvalBudget
	if budget < 0 {
		return 0, 0, fmt.Errorf("eval_budget %d: must not be negative (0 turns the limit off)", budget)
	}
	if budget == 0 {
		budget = -1
	}
	if timeout, err = time.ParseDuration(c.EvalTimeout); err != nil || timeout < 0 {
		return 0, 0, fmt.Errorf("eval_timeout %q: want a duration like 30s or 2m (0 turns it off)", c.EvalTimeout)
	}
	if timeout == 0 {
		timeout = -1
	}
	return budget, timeout, nil
}

// KinesisConfig makes serve consume one Kinesis stream into the store,
// exactly as `rrdash ingest kinesis` does; each key is that command's flag.
// An empty stream (the default) turns it off.
type KinesisConfig struct {
	Stream   string `toml:"stream"`
	Endpoint string `toml:"endpoint"` // e.g. http://127.0.0.1:4567; empty: AWS's for the region
	Region   string `toml:"region"`
	StartAt  string `toml:"start_at"` // TRIM_HORIZON or LATEST
	Grace    string `toml:"grace"`    // seconds or a duration like 2m
	Step     int64  `toml:"step"`     // step of new series in seconds
	Tags     string `toml:"tags"`     // record fields kept as tags: comma-separated, or *
	// Flags are further `rrdash ingest kinesis` flags, e.g. ["--limit", "500"].
	Flags []string `toml:"flags"`
}

// Args are the `rrdash ingest kinesis` arguments of the section.
func (k KinesisConfig) Args() []string {
	args := []string{"--stream", k.Stream}
	for _, kv := range [][2]string{{"--endpoint", k.Endpoint}, {"--region", k.Region}, {"--start-at", k.StartAt},
		{"--grace", k.Grace}, {"--tags", k.Tags}} {
		if kv[1] != "" {
			args = append(args, kv[0], kv[1])
		}
	}
	if k.Step != 0 {
		args = append(args, "--step", strconv.FormatInt(k.Step, 10))
	}
	return append(args, k.Flags...)
}

// TracelogConfig makes serve tail trace-log directories into the store.
type TracelogConfig struct {
	Globs  []string `toml:"globs"`  // e.g. ["/var/log/zope/*.log"]; empty: no tailing
	Step   int64    `toml:"step"`   // seconds per step of new series
	TZ     string   `toml:"tz"`     // time zone of record timestamps (IANA); empty: local
	Naming string   `toml:"naming"` // instance naming template, e.g. "{host}.{program}"
}

// DefaultServeConfig is used for keys set nowhere.
func DefaultServeConfig() ServeConfig {
	return ServeConfig{Addr: "127.0.0.1:8080", Data: "./data", LogLevel: "info", LogFormat: "text",
		Tracelog: TracelogConfig{Step: 60}, MaxFuture: "10m",
		EvalBudget: DefaultEvalBudget, EvalTimeout: DefaultEvalTimeout.String(),
		Collectd:   CollectdConfig{SecurityLevel: "none", TypesDB: []string{"/usr/share/collectd/types.db"}},
		Listen:     ListenConfig{MaxConns: 1024, IdleTimeout: "5m"},
		Push:       PushConfig{MaxBodyBytes: 32 << 20, MaxInflightBytes: 64 << 20, QueueWait: "1s"},
		Monitoring: MonitoringConfig{Sinks: []string{"rrdash"}, Service: "rrdash", Influx: InfluxSinkConfig{Gzip: true}},
		Monitors: MonitorSettings{MaxConcurrent: 4, Jitter: 0.1, KeepRuns: 1000,
			CPUSeconds: 60, AddressSpaceMB: 4096, OpenFiles: 256, Processes: 4096,
			Sandbox: "bubblewrap", Cgroup: "rrdash-monitors", MemoryMaxMB: 1024, PidsMax: 512, CPUMax: 1}}
}

// LoadServeConfig reads the TOML file (if path is not empty) over the
// defaults, then applies RRDASH_* variables from getenv. Unknown keys in
// the file are errors naming the key and line.
func LoadServeConfig(path string, getenv func(string) string) (ServeConfig, error) {
	cfg := DefaultServeConfig()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(&cfg)
		if err != nil {
			var pe toml.ParseError
			if errors.As(err, &pe) {
				return cfg, fmt.Errorf("config %s:%d: %s", path, pe.Position.Line, pe.Message)
			}
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
		if und := md.Undecoded(); len(und) > 0 {
			return cfg, fmt.Errorf("config %s: unknown key %q", path, und[0].String())
		}
		monitorLines(string(b), cfg.Monitor)
	}
	if err := applyEnv(reflect.ValueOf(&cfg).Elem(), "RRDASH", getenv); err != nil {
		return cfg, err
	}
	if f := cfg.OIDC.ClientSecretFile; f != "" && cfg.OIDC.ClientSecret == "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return cfg, fmt.Errorf("oidc.client_secret_file: %w", err)
		}
		cfg.OIDC.ClientSecret = Secret(strings.TrimSpace(string(b)))
		if cfg.OIDC.ClientSecret == "" {
			return cfg, fmt.Errorf("oidc.client_secret_file %s: empty", f)
		}
		cfg.OIDC.ClientSecretFile = ""
	}
	in := &cfg.Monitoring.Influx
	for _, f := range []struct {
		key, path string
		out       *Secret
	}{{"monitoring.influxdb.password_file", in.PasswordFile, &in.Password}, {"monitoring.influxdb.token_file", in.TokenFile, &in.Token}} {
		if f.path == "" || *f.out != "" {
			continue
		}
		v, err := readSecretFile(f.key, f.path)
		if err != nil {
			return cfg, err
		}
		*f.out = v
	}
	in.PasswordFile, in.TokenFile = "", ""
	return cfg, cfg.Validate()
}

// applyEnv sets fields from PREFIX_KEY variables, recursing into sections.
func applyEnv(v reflect.Value, prefix string, getenv func(string) string) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("toml")
		if tag == "-" || f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() != reflect.String {
			continue // not settable from one variable ([[monitor]] tables)
		}
		key := prefix + "_" + strings.ToUpper(tag)
		fv := v.Field(i)
		if f.Type.Kind() == reflect.Struct {
			if err := applyEnv(fv, key, getenv); err != nil {
				return err
			}
			continue
		}
		val := getenv(key)
		if val == "" {
			continue
		}
		switch f.Type.Kind() {
		case reflect.String:
			fv.SetString(val)
		case reflect.Int64:
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return fmt.Errorf("env %s=%q: not an integer", key, val)
			}
			fv.SetInt(n)
		case reflect.Bool:
			b, err := strconv.ParseBool(val)
			if err != nil {
				return fmt.Errorf("env %s=%q: want true or false", key, val)
			}
			fv.SetBool(b)
		case reflect.Float64:
			x, err := strconv.ParseFloat(val, 64)
			if err != nil {
				return fmt.Errorf("env %s=%q: not a number", key, val)
			}
			fv.SetFloat(x)
		case reflect.Slice: // []string, comma separated
			var parts []string
			for _, p := range strings.Split(val, ",") {
				if p = strings.TrimSpace(p); p != "" {
					parts = append(parts, p)
				}
			}
			fv.Set(reflect.ValueOf(parts))
		default:
			return fmt.Errorf("env %s: unsupported type %s", key, f.Type)
		}
	}
	return nil
}

// Validate checks the values.
func (c ServeConfig) Validate() error {
	_, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("addr %q: want HOST:PORT: %w", c.Addr, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("addr %q: bad port %q", c.Addr, port)
	}
	if c.Data == "" {
		return errors.New("data: the data directory must not be empty")
	}
	if c.MetadataURL != "" && !meta.IsPostgresURL(string(c.MetadataURL)) {
		return errors.New("metadata_url: want a postgres:// or postgresql:// URL (leave it empty for SQLite in the data directory)")
	}
	if c.GraphiteAddr != "" {
		if _, _, err := net.SplitHostPort(c.GraphiteAddr); err != nil {
			return fmt.Errorf("graphite_addr %q: want HOST:PORT: %w", c.GraphiteAddr, err)
		}
	}
	if c.PickleAddr != "" {
		if _, _, err := net.SplitHostPort(c.PickleAddr); err != nil {
			return fmt.Errorf("pickle_addr %q: want HOST:PORT: %w", c.PickleAddr, err)
		}
	}
	if err := c.validateUDPIngest(); err != nil {
		return err
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log_level %q: want debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("log_format %q: want text or json", c.LogFormat)
	}
	if _, err := c.IngestDurations(); err != nil {
		return err
	}
	for key, v := range map[string]int64{"listen.max_conns": c.Listen.MaxConns, "push.max_body_bytes": c.Push.MaxBodyBytes,
		"push.max_inflight_bytes": c.Push.MaxInflightBytes} {
		if v <= 0 {
			return fmt.Errorf("%s %d: must be positive", key, v)
		}
	}
	if c.MaxOpenFiles < 0 {
		return fmt.Errorf("max_open_files %d: must be 0 (default) or more", c.MaxOpenFiles)
	}
	if c.Tracelog.Step <= 0 {
		return fmt.Errorf("tracelog.step %d: must be positive", c.Tracelog.Step)
	}
	if err := c.OIDC.validate(); err != nil {
		return err
	}
	if err := c.Monitoring.validate(); err != nil {
		return err
	}
	if _, err := auth.ParseProxies(c.TrustedProxies); err != nil {
		return fmt.Errorf("trusted_proxies: %w", err)
	}
	for key, v := range map[string]int64{"max_concurrent": c.Monitors.MaxConcurrent, "keep_runs": c.Monitors.KeepRuns,
		"cpu_seconds": c.Monitors.CPUSeconds, "address_space_mb": c.Monitors.AddressSpaceMB,
		"open_files": c.Monitors.OpenFiles, "processes": c.Monitors.Processes} {
		if v < 0 {
			return fmt.Errorf("monitors.%s %d: must not be negative", key, v)
		}
	}
	if err := c.Monitors.validateSandbox(); err != nil {
		return err
	}
	if _, err := c.Monitors.LeaseTTLDuration(); err != nil {
		return err
	}
	if c.Monitors.Jitter < 0 || c.Monitors.Jitter >= 1 {
		return fmt.Errorf("monitors.jitter %v: want a fraction in [0, 1)", c.Monitors.Jitter)
	}
	for _, w := range c.Monitors.Webhooks {
		if !strings.HasPrefix(w, "http://") && !strings.HasPrefix(w, "https://") {
			return fmt.Errorf("monitors.webhooks %q: want an http:// or https:// URL", w)
		}
	}
	if c.BaseURL != "" && (!strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") || auth.HostOf(c.BaseURL) == "") {
		return fmt.Errorf("base_url %q: want an http:// or https:// URL", c.BaseURL)
	}
	if _, _, err := c.EvalLimits(); err != nil {
		return err
	}
	if _, err := auth.ParseHosts(c.AllowedHosts, false); err != nil {
		return fmt.Errorf("allowed_hosts: %w", err)
	}
	if _, err := store.CompileRetention(c.Retention); err != nil {
		return err
	}
	if err := c.SeriesAdmin.Validate(); err != nil {
		return fmt.Errorf("series_admin: %w", err)
	}
	return nil
}
