package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"rrdash/ingest/horizon"
	"rrdash/ingest/kinesis"
	"rrdash/ingest/listen"
	"rrdash/ingest/push"
	"rrdash/ingest/rrdcached"
	"rrdash/ingest/tracelog"
	"rrdash/store"
	"rrdash/store/cluster"
	"rrdash/store/meta"
	"rrdash/ui"
	"rrdash/ui/demo"
	"rrdash/ui/obs"
)

const serveUsage = "usage: rrdash serve [--addr HOST:PORT] [--data DIR] [--config FILE] [--tracelog GLOB]… [--graphite HOST:PORT] [--pickle HOST:PORT] [--graphite-udp HOST:PORT] [--allowed-host HOST]… [--rrdcached HOST[:PORT]] [--statsd HOST:PORT] [--statsd-tcp HOST:PORT] [--collectd HOST:PORT] [--max-future DURATION] [--max-conns N] [--eval-budget N] [--eval-timeout D] [--log-file FILE] [--demo] [--cluster-stream NAME --cluster-group G --cluster-node ID --cluster-advertise-url URL --cluster-lease-table T --cluster-secret-file F …]"

// globList collects a repeatable flag.
type globList []string

func (g *globList) String() string     { return fmt.Sprint(*g) }
func (g *globList) Set(v string) error { *g = append(*g, v); return nil }

// runServe implements `rrdash serve`: the web service over the store in
// the data directory, optionally tailing trace logs into it. It stops
// gracefully on SIGINT/SIGTERM or when ctx ends: HTTP requests drain, the
// tailers stop, and the store is closed (checkpointed).
// servePrealloc is the journal a server keeps zero-filled ahead of its
// records: its group commits' fsyncs then overwrite allocated blocks,
// ~40% quicker than appending (store/journalprealloc.go). 8 MiB is about
// 470,000 one-value updates; a fill writes half of it at a time, in the
// background.
const servePrealloc = 8 << 20

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("addr", "", "listen address HOST:PORT (default 127.0.0.1:8080; env RRDASH_ADDR)")
	data := fs.String("data", "", "data directory (default ./data; env RRDASH_DATA)")
	config := fs.String("config", "", "TOML configuration file (env RRDASH_CONFIG)")
	var globs globList
	fs.Var(&globs, "tracelog", "trace-log file glob to tail (repeatable; env RRDASH_TRACELOG_GLOBS, comma separated)")
	graphiteAddr := fs.String("graphite", "", "Graphite plaintext TCP listen address HOST:PORT (default off; env RRDASH_GRAPHITE_ADDR)")
	graphiteUDP := fs.String("graphite-udp", "", "Graphite plaintext UDP listen address HOST:PORT (default off; env RRDASH_GRAPHITE_UDP_ADDR)")
	pickleAddr := fs.String("pickle", "", "carbon pickle protocol TCP listen address HOST:PORT, what carbon-relay sends (default off; env RRDASH_PICKLE_ADDR)")
	monitoringSinks := fs.String("monitoring-sinks", "", "where request points go: comma-separated rrdash, influxdb, otlp (default rrdash; env RRDASH_MONITORING_SINKS)")
	var allowedHosts globList
	fs.Var(&allowedHosts, "allowed-host", "host name (or name:port) the server answers besides localhost, the listen address and base_url's (repeatable; env RRDASH_ALLOWED_HOSTS, comma separated)")
	rrdcachedAddr := fs.String("rrdcached", "", "rrdcached protocol TCP listen address HOST[:PORT] (default off; port 42217; env RRDASH_RRDCACHED_ADDR)")
	statsdUDP := fs.String("statsd", "", "statsd UDP listen address HOST:PORT (default off; env RRDASH_STATSD_UDP_ADDR)")
	statsdTCP := fs.String("statsd-tcp", "", "statsd TCP listen address HOST:PORT (default off; env RRDASH_STATSD_TCP_ADDR)")
	collectdAddr := fs.String("collectd", "", "collectd network-protocol UDP listen address HOST:PORT (default off; env RRDASH_COLLECTD_ADDR)")
	maxFuture := fs.String("max-future", "", "refuse points more than this ahead of the server clock on every ingest path (default 10m; env RRDASH_MAX_FUTURE)")
	maxConns := fs.Int64("max-conns", 0, "open connections per TCP listener (default 1024; env RRDASH_LISTEN_MAX_CONNS)")
	evalBudget := fs.String("eval-budget", "", "work limit of one request's evaluation in row-operations, 0 for none (default 1000000000; env RRDASH_EVAL_BUDGET)")
	evalTimeout := fs.String("eval-timeout", "", "time limit of one request's evaluation, 0 for none (default 30s; env RRDASH_EVAL_TIMEOUT)")
	logFile := fs.String("log-file", "", "append the log to FILE instead of stderr; SIGHUP reopens it (logrotate) (env RRDASH_LOG_FILE)")
	maxOpenFiles := fs.Int64("max-open-files", 0, "archive files the store holds open at once (default half the descriptor limit, at most half of vm.max_map_count; env RRDASH_MAX_OPEN_FILES)")
	cflags := newClusterFlags(fs)
	demoMode := fs.Bool("demo", false, "write demo trace logs (instances web1, web2: 6 hours of history, then live) into DATA/demo-tracelog and tail them")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, serveUsage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return nil
		}
		return fmt.Errorf("serve: %w (%s)", err, serveUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q (%s)", fs.Arg(0), serveUsage)
	}
	cfgPath := *config
	if cfgPath == "" {
		cfgPath = os.Getenv("RRDASH_CONFIG")
	}
	cfg, err := ui.LoadServeConfig(cfgPath, os.Getenv)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if *addr != "" {
		cfg.Addr = *addr
	}
	if *data != "" {
		cfg.Data = *data
	}
	if len(globs) > 0 {
		cfg.Tracelog.Globs = globs
	}
	if *graphiteAddr != "" {
		cfg.GraphiteAddr = *graphiteAddr
	}
	if *pickleAddr != "" {
		cfg.PickleAddr = *pickleAddr
	}
	if *graphiteUDP != "" {
		cfg.GraphiteUDPAddr = *graphiteUDP
	}
	if *monitoringSinks != "" {
		cfg.Monitoring.Sinks = strings.Split(*monitoringSinks, ",")
	}
	if len(allowedHosts) > 0 {
		cfg.AllowedHosts = allowedHosts
	}
	if *rrdcachedAddr != "" {
		cfg.RrdcachedAddr = *rrdcachedAddr
	}
	if *maxFuture != "" {
		cfg.MaxFuture = *maxFuture
	}
	for _, f := range []struct{ flag, cfg *string }{{statsdUDP, &cfg.Statsd.UDPAddr}, {statsdTCP, &cfg.Statsd.TCPAddr}, {collectdAddr, &cfg.Collectd.Addr}} {
		if *f.flag != "" {
			*f.cfg = *f.flag
		}
	}
	if *maxConns != 0 {
		cfg.Listen.MaxConns = *maxConns
	}
	if *evalBudget != "" {
		if cfg.EvalBudget, err = strconv.ParseInt(*evalBudget, 10, 64); err != nil {
			return fmt.Errorf("serve: --eval-budget %q: want a number of row-operations (0: no limit)", *evalBudget)
		}
	}
	if *evalTimeout != "" {
		cfg.EvalTimeout = *evalTimeout
	}
	if *maxOpenFiles != 0 {
		cfg.MaxOpenFiles = *maxOpenFiles
	}
	cflags.apply(&cfg.Cluster)
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	durs, err := cfg.IngestDurations()
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	hz := horizon.Horizon{MaxFuture: durs.MaxFuture}
	evalBudgetN, evalTimeoutD, err := cfg.EvalLimits()
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if *logFile == "" {
		*logFile = os.Getenv("RRDASH_LOG_FILE")
	}
	logW, reopen, err := logOutput(stderr, *logFile)
	if err != nil {
		return fmt.Errorf("serve: --log-file: %w", err)
	}
	if reopen != nil {
		defer reopen.Close()
	}
	logLevel := new(slog.LevelVar)
	log := newLogger(logW, cfg, logLevel)
	cfgMonitors, err := configMonitors(cfgPath, cfg.Monitor)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if *demoMode {
		if m := demoMonitor(log); m != nil {
			cfgMonitors = append(cfgMonitors, m)
		}
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return fmt.Errorf("serve: data directory: %w", err)
	}
	obsv := &observability{metrics: obs.NewMetrics()}
	obs.RegisterRuntime(obsv.metrics.Registry, obs.ReadBuildInfo(version, commit, commitTime))
	if err := store.CheckRestoreComplete(cfg.Data); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	retention, err := store.CompileRetention(cfg.Retention)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	db, err := store.Open(cfg.Data, store.Options{Observer: obsv.metrics, Logger: log, Retention: retention, MaxOpenFiles: int(cfg.MaxOpenFiles),
		JournalPrealloc: servePrealloc})
	if err != nil {
		return fmt.Errorf("serve: open store %s: %w", cfg.Data, err)
	}
	if n := db.DeferredReplay(); n > 0 {
		// after a crash: the journal's updates of these series are applied
		// on their first use, or here meanwhile
		log.Info("store: replaying the journal into archives in the background", "series", n)
		go func(db *store.DB) {
			if err := db.ReplayDeferred(ctx); err != nil {
				if !errors.Is(err, store.ErrClosed) && !errors.Is(err, context.Canceled) {
					log.Error("store: background replay", "err", err)
				}
				return // Close applies the rest
			}
			log.Info("store: background replay done")
		}(db)
	}
	// writes is the one door of every ingest path; reads what the web
	// service reads: the local store, or in cluster mode the cluster log
	// and the routed reads (cluster.go).
	var writes writeStore = db
	var reads ui.Store = db
	var cnode *clusterNode
	stopCluster := func() {}
	if cfg.Cluster.Stream != "" {
		cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		var cwg sync.WaitGroup
		stopCluster = func() { cancel(); cwg.Wait() }
		if cnode, err = startCluster(cctx, &cwg, cfg.Cluster, db, log); err != nil {
			stopCluster()
			db.Close()
			return fmt.Errorf("serve: %w", err)
		}
		writes, reads = cnode.writes, cnode.reads
	}
	closeStore := func() error {
		stopCluster()
		if db == nil {
			return nil
		}
		err := db.Close()
		db = nil
		if err != nil {
			return fmt.Errorf("serve: close store: %w", err)
		}
		log.Info("store closed", "data", cfg.Data)
		return nil
	}
	defer closeStore()

	md, err := meta.Open(ctx, metadataLocation(cfg))
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer md.Close()
	if md.Engine() != "sqlite" {
		log.Info("metadata in PostgreSQL", "url", meta.RedactURL(string(cfg.MetadataURL)))
	}
	if err := sealMonitorSecrets(ctx, md, cfg.Monitors.SecretsKeyFile, cfg.Data, log); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	// The local single-user mode unless an OIDC issuer is configured.
	localMode := cfg.OIDC.Issuer == ""
	var user ui.UserFunc
	if localMode {
		if user, err = ui.LocalUser(ctx, md); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	}
	sched, err := newScheduler(cfg.Monitors, cfg.Data, writes, log, cfgPath)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	sched.Observer = obsv.metrics
	var leases *monitorLeases
	if md.Engine() == "postgres" {
		// Servers sharing the metadata share the monitors: each runs on
		// one of them at a time.
		ttl, err := cfg.Monitors.LeaseTTLDuration()
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		if leases, err = newMonitorLeases(md, ttl, log); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		sched.Coordinator = leases
		log.Info("code monitors shared through leases in PostgreSQL", "node", leases.node, "lease_ttl", ttl)
	}
	monitors := newMonitorService(md, db, sched, cfgMonitors, int(cfg.Monitors.KeepRuns), log)
	if err := monitors.Load(ctx); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	// The listeners are made below; health asks them only once serving.
	var listeners []*listen.Listener
	var graphite, pickle *push.GraphiteListener
	udpStatuses := func() []listen.Status { return nil }
	sources := func() []ui.SourceStatus {
		var out []ui.SourceStatus
		add := func(st listen.Status) {
			out = append(out, ui.SourceStatus{Name: st.Name, State: string(st.State), Since: st.Since, Error: st.Error, Detail: st})
		}
		for _, l := range listeners {
			add(l.Status())
		}
		if graphite != nil {
			add(graphite.Status())
		}
		if pickle != nil {
			add(pickle.Status())
		}
		for _, st := range udpStatuses() {
			add(st)
		}
		return out
	}
	srv, err := ui.New(ui.Config{BaseURL: cfg.BaseURL, LocalMode: localMode, OIDC: cfg.OIDC, TrustedProxies: cfg.TrustedProxies,
		Monitors: monitors, ListenAddr: cfg.Addr, AllowedHosts: cfg.AllowedHosts, Sources: sources,
		EvalBudget: evalBudgetN, EvalTimeout: evalTimeoutD, SeriesAdmin: cfg.SeriesAdmin}, reads, md, user, log)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if localMode {
		log.Warn("no OIDC issuer configured: single-user mode, every visitor acts as the local user")
	} else {
		log.Info("login through OpenID Connect", "issuer", cfg.OIDC.Issuer, "client_id", cfg.OIDC.ClientID)
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := srv.Discover(dctx); err != nil {
			log.Warn("OIDC provider not reachable yet; retried at the first login", "error", err)
		}
		cancel()
	}

	tailCtx, stopTail := context.WithCancel(context.WithoutCancel(ctx))
	var tails sync.WaitGroup
	var demoSources []tracelog.SourceConfig
	if *demoMode {
		dir := filepath.Join(cfg.Data, "demo-tracelog")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			stopTail()
			return fmt.Errorf("serve: demo: %w", err)
		}
		for i, inst := range []string{"web1", "web2"} {
			path := filepath.Join(dir, inst+".log")
			g := demo.New(path, 4+3*float64(i), 0.01*float64(i+1), uint64(i+1))
			tails.Add(1)
			go func() {
				defer tails.Done()
				if err := g.Run(tailCtx, time.Now); err != nil {
					log.Error("demo trace-log generator stopped", "file", path, "error", err)
				}
			}()
		}
		demoSources = append(demoSources, tracelog.SourceConfig{Glob: filepath.Join(dir, "*.log"), Location: time.UTC})
		log.Info("demo trace logs", "dir", dir)
	}
	if len(cfg.Tracelog.Globs) > 0 || len(demoSources) > 0 {
		tc := tracelog.TailConfig{Step: cfg.Tracelog.Step, Naming: tracelog.Naming(cfg.Tracelog.Naming), Sources: demoSources, MaxFuture: durs.MaxFuture}
		if cfg.Tracelog.TZ != "" {
			if tc.Location, err = time.LoadLocation(cfg.Tracelog.TZ); err != nil {
				stopTail()
				return fmt.Errorf("serve: tracelog.tz %q: %w", cfg.Tracelog.TZ, err)
			}
		}
		for _, g := range cfg.Tracelog.Globs {
			tc.Sources = append(tc.Sources, tracelog.SourceConfig{Glob: g})
		}
		t, err := tracelog.NewTailer(tc, writes, log)
		if err != nil {
			stopTail()
			return fmt.Errorf("serve: %w", err)
		}
		obsv.tracelogSource(t)
		tails.Add(1)
		go func() {
			defer tails.Done()
			if err := t.Run(tailCtx); err != nil {
				log.Error("tracelog tailer stopped", "error", err)
			}
		}()
		log.Info("tailing trace logs", "globs", cfg.Tracelog.Globs)
	}
	if cfg.Kinesis.Stream != "" {
		args := cfg.Kinesis.Args()
		if !slices.Contains(args, "--max-future") && !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--max-future=") }) {
			args = append(args, "--max-future", durs.MaxFuture.String())
		}
		kc, err := kinesis.ParseArgs(args, cfg.Data, io.Discard)
		if err != nil {
			stopTail()
			return fmt.Errorf("serve: [kinesis]: %w", err)
		}
		kc.Credentials = kinesis.EnvCredentials()
		consumer, err := kinesis.New(kc, writes, kinesis.Options{Logger: log, Lookup: kinesis.StoreLookup(writes)})
		if err != nil {
			stopTail()
			return fmt.Errorf("serve: %w", err)
		}
		obsv.kinesisSource(consumer)
		tails.Add(1)
		go func() {
			defer tails.Done()
			if err := consumer.Run(tailCtx); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("kinesis consumer stopped", "stream", kc.Stream, "error", err)
			}
		}()
		log.Info("consuming Kinesis", "stream", kc.Stream, "endpoint", kc.Endpoint)
	}
	stopTailers := func() {
		stopTail()
		tails.Wait()
	}
	defer stopTailers()

	obsv.cluster = cnode
	if err := obsv.start(tailCtx, &tails, cfg.Monitoring, db, md, log); err != nil {
		return fmt.Errorf("serve: %w", err)
	}

	// Push ingest (InfluxDB line protocol, JSON points) sits beside the UI:
	// its bodies are larger than the UI's limit and come from scripts.
	pushWriter, err := push.NewWriter(writes, push.WriterConfig{})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	tails.Add(1)
	go func() {
		defer tails.Done()
		if err := pushWriter.Run(tailCtx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("push writer stopped", "error", err)
		}
		if err := pushWriter.Flush(context.WithoutCancel(tailCtx)); err != nil {
			log.Error("push writer flush", "error", err)
		}
	}()
	pushHandlers, err := push.NewHandlers(pushWriter, push.HandlerConfig{MaxBodyBytes: cfg.Push.MaxBodyBytes,
		MaxInflightBytes: cfg.Push.MaxInflightBytes, QueueWait: durs.QueueWait, Horizon: hz, Logger: log})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if cfg.GraphiteAddr != "" {
		gl, err := push.ListenGraphite(cfg.GraphiteAddr, pushWriter, push.GraphiteConfig{MaxConns: int(cfg.Listen.MaxConns),
			IdleTimeout: durs.IdleTimeout, Horizon: hz, Logger: log})
		if err != nil {
			return fmt.Errorf("serve: graphite: %w", err)
		}
		graphite = gl
		tails.Add(1)
		go func() {
			defer tails.Done()
			// Accept errors are retried; an error here stopped it for good,
			// which /-/healthz reports.
			if err := gl.Serve(tailCtx); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("graphite listener stopped", "error", err)
			}
		}()
		fmt.Fprintf(stdout, "graphite plaintext on %s\n", gl.Addr())
	}
	if cfg.PickleAddr != "" {
		pl, err := push.ListenPickle(cfg.PickleAddr, pushWriter, push.GraphiteConfig{MaxConns: int(cfg.Listen.MaxConns),
			IdleTimeout: durs.IdleTimeout, Horizon: hz, Logger: log}, 0)
		if err != nil {
			return fmt.Errorf("serve: pickle: %w", err)
		}
		pickle = pl
		tails.Add(1)
		go func() {
			defer tails.Done()
			if err := pl.Serve(tailCtx); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("pickle listener stopped", "error", err)
			}
		}()
		fmt.Fprintf(stdout, "carbon pickle on %s\n", pl.Addr())
	}
	obsv.pushSources(pushHandlers, graphite)
	if pickle != nil {
		obsv.metrics.AddIngestSource("pickle", func() obs.IngestCounts {
			st := pickle.Stats()
			return obs.IngestCounts{Records: st.Points + st.Bad, Bad: st.Bad, Late: st.Late}
		})
	}
	if udpStatuses, err = startUDPIngest(tailCtx, &tails, cfg, pushWriter, hz, obsv.metrics, stdout, log); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	var backupMu sync.Mutex // one backup at a time: two would share a stage directory
	backup := func(ctx context.Context, dest string) ([]string, error) {
		if !backupMu.TryLock() {
			return nil, errors.New("a backup is already running on this server")
		}
		defer backupMu.Unlock()
		log.Info("backup started", "dest", dest)
		lines, err := writeBackup(ctx, db, md, dest)
		if err != nil {
			log.Error("backup failed", "dest", dest, "error", err)
		} else {
			log.Info("backup written", "dest", dest, "report", strings.Join(lines, "; "))
		}
		return lines, err
	}
	rls, err := startRrdcached(tailCtx, &tails, cfg, writes, backup, stdout, log)
	listeners = append(listeners, rls...)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	mux := http.NewServeMux()
	// Push needs an API token of scope push (write, admin), or in the
	// single-user mode a write from rrdash's own pages (ui.GuardPush).
	mux.Handle("POST /api/v1/write", srv.GuardPush(http.HandlerFunc(pushHandlers.ServeWrite)))
	mux.Handle("POST /api/v1/points", srv.GuardPush(http.HandlerFunc(pushHandlers.ServePoints)))
	if err := mountHTTPIngest(mux, srv.GuardPush, pushWriter, pushHandlers, obsv, log); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if cnode != nil {
		// peer reads of other nodes, guarded by the cluster secret
		mux.Handle(cluster.PeerPrefix, cnode.peer)
	}
	mux.Handle("/", srv.Handler())

	// net/http retries accept errors itself; the wrapper also bounds the
	// connections and reports its state to health.
	ln, err := listen.Listen(cfg.Addr, listen.Config{Name: "http", MaxConns: int(cfg.Listen.MaxConns), IdleTimeout: -1, Logger: log})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	listeners = append(listeners, ln)
	hs := &http.Server{
		Handler:           srv.CheckHost(obsv.handler(mux)), // /-/metrics too
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Code monitors start once the address for notification links is known.
	sched.LinkBase = cfg.BaseURL
	if sched.LinkBase == "" {
		sched.LinkBase = "http://" + ln.Addr().String()
	}
	sched.LinkBase = strings.TrimRight(sched.LinkBase, "/") + "/monitors/"
	if leases != nil {
		tails.Go(func() { leases.Keep(tailCtx) })
		tails.Go(func() { monitors.syncMonitors(tailCtx, leases.ttl) })
	}
	tails.Add(1)
	go func() {
		defer tails.Done()
		if err := monitors.Run(tailCtx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("code monitors stopped", "error", err)
		}
	}()
	// SIGHUP reopens the log file and applies the configuration again
	// (the keys that can change live: reload.go)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	rl := &reloader{path: cfgPath, pinned: flagKeys(fs), cur: cfg, level: logLevel, logFile: reopen, log: log,
		monitors: func(mc []ui.MonitorConfig) error {
			ms, err := configMonitors(cfgPath, mc)
			if err != nil {
				return err
			}
			return monitors.ReloadConfig(ctx, ms)
		}, hosts: srv.SetAllowedHosts, retention: db.SetRetention, webhooks: monitors.SetWebhooks}
	tails.Go(func() {
		for {
			select {
			case <-tailCtx.Done():
				return
			case <-hup:
				_ = sdNotify("RELOADING=1")
				rl.reload(tailCtx)
				_ = sdNotify("READY=1")
			}
		}
	})
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "rrdash serving on http://%s (data %s)\n", ln.Addr(), cfg.Data)
	log.Info("serving", "addr", ln.Addr().String(), "data", cfg.Data)
	// every listener is bound and the store open: tell systemd (Type=notify)
	if err := sdNotify("READY=1\nSTATUS=serving on " + ln.Addr().String()); err != nil {
		log.Warn("sd_notify", "error", err)
	}

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	if err := sdNotify("STOPPING=1"); err != nil {
		log.Warn("sd_notify", "error", err)
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	var errs []error
	if err := hs.Shutdown(shutCtx); err != nil {
		errs = append(errs, fmt.Errorf("serve: shutdown: %w", err))
	}
	stopTailers()
	if err := closeStore(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func newLogger(w io.Writer, cfg ui.ServeConfig, level *slog.LevelVar) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(cfg.LogLevel))
	level.Set(lv)
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// startRrdcached serves the rrdcached protocol on the UNIX socket (mode
// 0660) and, when configured, on TCP with the configured commands. The
// listeners stop when ctx ends; wg waits for their connections. It
// returns the listeners, for health.
func startRrdcached(ctx context.Context, wg *sync.WaitGroup, cfg ui.ServeConfig, db rrdcached.Store,
	backup func(context.Context, string) ([]string, error), stdout io.Writer, log *slog.Logger) ([]*listen.Listener, error) {
	tcpPerms, err := rrdcached.ParsePermissions(rrdcached.DefaultTCPCommands)
	if len(cfg.RrdcachedPermissions) > 0 {
		tcpPerms, err = rrdcached.ParsePermissions(cfg.RrdcachedPermissions)
	}
	if err != nil {
		return nil, fmt.Errorf("rrdcached_permissions: %w", err)
	}
	srv, err := rrdcached.New(db, rrdcached.Config{Dir: cfg.Data, Logger: log, Backup: backup})
	if err != nil {
		return nil, err
	}
	sock := cfg.RrdcachedSocket
	if sock == "" {
		sock = filepath.Join(cfg.Data, "rrdcached.sock")
	}
	type listener struct {
		ln    net.Listener
		perms rrdcached.Permissions
		name  string
	}
	ul, err := rrdcached.ListenUnix(sock, 0o660)
	if err != nil {
		return nil, err
	}
	lns := []listener{{ul, rrdcached.AllCommands, "unix:" + sock}}
	if cfg.RrdcachedAddr != "" {
		addr, err := rrdcached.TCPAddr(cfg.RrdcachedAddr)
		if err == nil {
			var tl net.Listener
			if tl, err = net.Listen("tcp", addr); err == nil {
				lns = append(lns, listener{tl, tcpPerms, tl.Addr().String()})
			}
		}
		if err != nil {
			ul.Close()
			return nil, fmt.Errorf("rrdcached_addr: %w", err)
		}
	}
	var out []*listen.Listener
	for _, l := range lns {
		ll := srv.Listener(l.ln, "rrdcached "+l.name)
		out = append(out, ll)
		wg.Go(func() {
			if err := srv.Serve(ctx, ll, l.perms); err != nil {
				log.Error("rrdcached listener stopped", "addr", l.name, "error", err)
			}
		})
		fmt.Fprintf(stdout, "rrdcached protocol on %s (commands: %s)\n", l.name, l.perms)
		log.Info("rrdcached protocol", "addr", l.name, "commands", l.perms.String())
	}
	return out, nil
}
