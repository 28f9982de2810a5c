// Command rrdash is the rrdash service and its rrdtool-compatible CLI.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"rrdash/store"
)

const usage = `rrdash — RRD-style time series: store, compute, graph.

Usage: rrdash [--data DIR] [--daemon ADDR] COMMAND [ARGS]

Commands (argv as rrdtool's, with a series name where rrdtool takes a file):
  create NAME [--start T] [--step S] [--no-overwrite] [--template OLD] DS:… RRA:…
  update NAME [--template a:b] [--skip-past-updates] [--locking try|block] ARG…
                                           ARG: T:v[:v…] or N:v…; "-" reads ARGs from stdin
  updatev NAME [--template a:b] [--skip-past-updates] ARG…   update, reporting the rows written
  fetch NAME CF [--start T] [--end T] [--resolution S] [--align-start] [--json]
  info NAME [--json] [--noflush]
  last NAME
  first NAME [--rraindex N]                time of the oldest row of an archive
  lastupdate NAME                          last update time and last value of each DS
  flushcached NAME…                        as rrdtool's: nothing is held back, checks the names
  list [PATTERN] | list [--recursive] DIR
  delete NAME…                             delete series for good
  rename OLD NEW                           rename a series (atomic across a crash)
  import FILE.xml|FILE.rrd [NAME]          import an rrdtool dump or rrdtool file
  import --tree DIR [--prefix P] [--force]    import every .rrd file under DIR
  restore [--force-overwrite] FILE.xml|FILE.rrd NAME   import, with rrdtool restore's arguments
  dump [--header dtd|xsd|none] [--no-header] NAME [FILE.xml]   rrdtool dump's XML
  tune NAME [--heartbeat ds:hb] [--minimum ds:min] … [DEL:ds] [DS:…] [DELRRA:i] [RRA#i:=rows]   as rrdtool tune
  resize NAME RRA-NUM GROW|SHRINK ROWS      as rrdtool resize, in place
  xport [--start T] [--end T] [--step S] [--maxrows N] [--json] DEF:… CDEF:… VDEF:… XPORT:…
  graph FILE|- [rrdtool graph options] DEF:… CDEF:… LINE…:… GPRINT:…   a PNG, SVG or PDF, as rrdtool graph
  graphv FILE|- [rrdtool graph options] …   the same, and rrdtool graphv's key = value lines
  serve [--addr HOST:PORT] [--config FILE]  the web service
  ingest tracelog [--instance NAME] [--tz ZONE] FILE…
  ingest kinesis --endpoint URL --stream NAME …
  monitor run [--timeout D] [--env N=V]… FILE.py|FILE.go|NAME   run a code monitor once and print it
  check [--repair]                         check the journal; --repair recovers a damaged one (check --help)
  - [DIR]                                  pipe mode: one command per line on stdin, as rrdtool - [DIR]
  version [--json]                         version, commit and Go version of this binary
  import-carbon-config SCHEMAS [AGGREGATION]   carbon's storage-schemas.conf (and storage-aggregation.conf) as [[retention]] TOML
  backup DEST                              a verified backup, also while serve runs (backup --help)
  restore-backup SRC --data DIR            verify a backup and restore it into an empty DIR
  rotate-key [--drop-old]                  rotate the monitor-secret key and reseal (rotate-key --help)
  annotate --text T [--tag K=V|TAG]… [--time T] [--end T]   add an annotation (annotate --help)
  annotations [--from T] [--to T] [--tag TAG]…   list annotations
  help [COMMAND]                           usage of a command (as COMMAND --help)

The data directory is --data DIR, else $RRDASH_DATA, else ./data. When a
running "rrdash serve" holds it, the series commands (create update fetch
info last first lastupdate list xport graph graphv, and -) run through the server's rrdcached socket
DIR/rrdcached.sock. --daemon ADDR (before or after the command, as rrdtool's
--daemon/-d) or $RRDCACHED_ADDRESS send them to that server instead:
unix:/path, /path, host:port, [v6addr]:port (port 42217 by default).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := runCommand(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, true)
	stop()
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprint(os.Stderr, usage)
		}
		fmt.Fprintf(os.Stderr, "ERROR: %v\n", err)
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// dataDir pulls a leading --data DIR from args; "" when none was given.
func dataDir(args []string) (string, []string) {
	dir := ""
	for len(args) >= 1 {
		switch {
		case args[0] == "--data" && len(args) >= 2:
			dir, args = args[1], args[2:]
			continue
		case len(args[0]) > 7 && args[0][:7] == "--data=":
			dir, args = args[0][7:], args[1:]
			continue
		}
		break
	}
	return dir, args
}

// run runs one command in a process that goes on afterwards (tests).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return runCommand(ctx, args, stdin, stdout, stderr, false)
}

// runCommand runs one command; exitAfter says the process exits next, so
// closing the store may leave to exit what exit does faster.
func runCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, exitAfter bool) error {
	dir, daemon, args, err := globalOptions(args)
	if err != nil {
		return err
	}
	if len(args) > 0 {
		// subcommands accept --data after the command name too
		if d, r := dataDir(args[1:]); len(r) != len(args)-1 {
			dir, args = d, append([]string{args[0]}, r...)
		}
	}
	// Help never opens (or creates) a data directory.
	if topic, ok := helpTopic(args); ok {
		return printHelp(ctx, topic, stdout)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "version":
		return runVersion(rest, stdout)
	case "import-carbon-config":
		return runImportCarbonConfig(rest, stdout)
	case "serve":
		// serve resolves flag > RRDASH_DATA > config file > ./data itself
		if dir != "" {
			rest = append([]string{"--data", dir}, rest...)
		}
		return runServe(ctx, rest, stdout, stderr)
	case "monitor":
		return runMonitorCmd(ctx, dir, rest, stdout, stderr)
	case "check":
		return runCheck(dir, rest, stdout)
	case "backup":
		return runBackup(ctx, dir, daemon, rest, stdout)
	case "restore-backup":
		return runRestoreBackup(ctx, dir, rest, stdout)
	case "rotate-key":
		return runRotateKey(ctx, dir, rest, stdout)
	case "annotate":
		return runAnnotate(ctx, dir, rest, stdout)
	case "annotations":
		return runAnnotations(ctx, dir, rest, stdout)
	case "first", "lastupdate", "flushcached":
		if len(rest) == 0 {
			// as rrdtool 1.7.2: no arguments print the usage and exit 0
			return printHelp(ctx, []string{cmd}, stdout)
		}
	case "create", "update", "updatev", "fetch", "info", "list", "import", "restore", "xport", "graph", "graphv", "ingest", "last", "delete", "rename", "dump", "tune", "resize", "-":
	default: // (dispatchedCommands in help.go lists every case)
		return usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
	if cmd != "ingest" {
		// rrdtool's --daemon/-d is an option of each command; ingest's
		// flags are its own
		d, r, err := daemonOption(rest, cmd == "tune")
		if err != nil {
			return err
		}
		if d != "" {
			daemon, rest = d, r
		}
	}
	if daemon == "" {
		daemon = os.Getenv("RRDCACHED_ADDRESS")
	}
	if dir == "" {
		dir = os.Getenv("RRDASH_DATA")
	}
	if dir == "" {
		dir = "./data"
	}
	if exitAfter && os.Getenv("GOGC") == "" && cmd != "update" && cmd != "-" {
		// A one-shot reading command holds its whole working set to the
		// end (an xport of a million rows: a few columns of 8 MB);
		// collecting at every doubling of it costs a third of the run.
		// Updates keep little alive: there a bigger heap only means
		// fresh pages to fault in (~11 µs each in a VM). GOGC still wins.
		debug.SetGCPercent(400)
	}
	lockBlock, err := lockingMode(cmd, rest, os.Getenv("RRD_LOCKING"), stderr)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, dir, cmd, daemon, exitAfter, lockBlock)
	if err != nil {
		return err
	}
	if cmd == "-" {
		err := runPipeCommand(ctx, db, rest, stdin, stdout)
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		return err
	}
	out := &pendingOutput{w: stdout}
	err = dispatch(ctx, db, cmd, rest, stdin, out, stderr)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, store.ErrNeedsWriter) && !out.wrote && daemon == "" {
		// a reader found an archive only a writer can repair: run the
		// command again as one
		w, oerr := store.Open(dir, store.Options{OneShot: exitAfter})
		if oerr != nil {
			return oerr
		}
		err = dispatch(ctx, w, cmd, rest, stdin, stdout, stderr)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// pendingOutput tells whether a command wrote anything yet.
type pendingOutput struct {
	w     io.Writer
	wrote bool
}

func (p *pendingOutput) Write(b []byte) (int, error) {
	p.wrote = p.wrote || len(b) > 0
	return p.w.Write(b)
}

// globalOptions pulls the leading --data DIR and --daemon ADDR.
func globalOptions(args []string) (dir, daemon string, rest []string, err error) {
	for {
		d, r := dataDir(args)
		if d != "" {
			dir = d
		}
		args = r
		if len(args) == 0 || !(args[0] == "--daemon" || strings.HasPrefix(args[0], "--daemon=")) {
			return dir, daemon, args, nil
		}
		if args[0] == "--daemon" {
			if len(args) < 2 {
				return "", "", nil, usageError{"option --daemon needs an address"}
			}
			daemon, args = args[1], args[2:]
		} else {
			daemon, args = args[0][len("--daemon="):], args[1:]
		}
		if daemon == "" {
			return "", "", nil, usageError{"option --daemon needs an address"}
		}
	}
}

// dispatch runs one command against an open store.
func dispatch(ctx context.Context, db seriesStore, cmd string, rest []string, stdin io.Reader, stdout, stderr io.Writer) error {
	switch cmd {
	case "create":
		return runCreate(db, rest)
	case "update":
		return runUpdate(ctx, db, rest, stdin, stdout)
	case "updatev":
		return runUpdatev(ctx, db, rest, stdout)
	case "fetch":
		return runFetch(db, rest, stdout)
	case "info":
		return runInfo(db, rest, stdout)
	case "last":
		return runLast(db, rest, stdout)
	case "first":
		return runFirst(db, rest, stdout)
	case "lastupdate":
		return runLastUpdate(db, rest, stdout)
	case "flushcached":
		return runFlushcached(db, rest)
	case "list":
		return runList(db, rest, stdout)
	case "delete":
		if len(rest) == 0 {
			return usageError{deleteUsage}
		}
		return db.Delete(rest...)
	case "rename":
		if len(rest) != 2 {
			return usageError{renameUsage}
		}
		return db.Rename(rest[0], rest[1])
	case "import":
		local, err := localOnly(db, cmd)
		if err != nil {
			return err
		}
		return runImport(ctx, local, rest, stdout, stderr)
	case "dump":
		return runDump(db, rest, stdout)
	case "tune":
		return runTune(db, rest)
	case "resize":
		return runResize(db, rest)
	case "restore":
		local, err := localOnly(db, cmd)
		if err != nil {
			return err
		}
		return runRestore(ctx, local, rest, stdout, stderr)
	case "xport":
		return runXport(ctx, db, rest, stdout)
	case "graph":
		return runGraph(ctx, db, rest, stdout, stderr)
	case "graphv":
		return runGraphv(ctx, db, rest, stdout, stderr)
	case "ingest":
		if len(rest) == 0 {
			return usageError{"ingest needs a source: tracelog or kinesis"}
		}
		local, err := localOnly(db, "ingest")
		if err != nil {
			return err
		}
		switch rest[0] {
		case "tracelog":
			return runIngestTracelog(ctx, local, rest[1:], stdout, stderr)
		case "kinesis":
			return runIngestKinesis(ctx, local, rest[1:], stdout, stderr)
		}
		return usageError{fmt.Sprintf("unknown ingest source %q", rest[0])}
	}
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}
