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
	"syscall"

	"rrdash/store"
)

const usage = `rrdash — RRD-style time series: store, compute, graph.

Usage: rrdash [--data DIR] COMMAND [ARGS]

Commands (argv as rrdtool's, with a series name where rrdtool takes a file):
  create NAME [--start T] [--step S] [--no-overwrite] DS:… RRA:…
  update NAME [--template a:b] ARG…        ARG: T:v[:v…] or N:v…; "-" reads ARGs from stdin
  fetch NAME CF [--start T] [--end T] [--resolution S] [--align-start] [--json]
  info NAME [--json]
  list [PATTERN]
  import FILE.xml [NAME]                   import an rrdtool dump
  xport [--start T] [--end T] [--step S] [--maxrows N] [--json] DEF:… CDEF:… VDEF:… XPORT:…
  graph FILE|- [rrdtool graph options] DEF:… CDEF:… LINE…:… GPRINT:…   a PNG, as rrdtool graph
  serve [--addr HOST:PORT] [--config FILE]  the web service
  ingest tracelog [--instance NAME] [--tz ZONE] FILE…
  ingest kinesis --endpoint URL --stream NAME …
  monitor run [--timeout D] [--env N=V]… FILE.py|FILE.go|NAME   run a code monitor once and print it
  check [--repair]                         check the journal; --repair recovers a damaged one (check --help)
  -                                        pipe mode: one command per line on stdin, as rrdtool -

The data directory is --data DIR, else $RRDASH_DATA, else ./data.
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
	dir, args := dataDir(args)
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cmd, rest := args[0], args[1:]
	// subcommands accept --data after the command name too
	if d, r := dataDir(rest); len(r) != len(rest) {
		dir, rest = d, r
	}
	switch cmd {
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
	case "create", "update", "fetch", "info", "list", "import", "xport", "graph", "ingest", "last", "-":
	default:
		return usageError{fmt.Sprintf("unknown command %q", cmd)}
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
	db, err := store.Open(dir, store.Options{OneShot: exitAfter})
	if err != nil {
		return err
	}
	if cmd == "-" {
		err := runPipe(ctx, db, stdin, stdout)
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		return err
	}
	err = dispatch(ctx, db, cmd, rest, stdin, stdout, stderr)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}

// dispatch runs one command against an open store.
func dispatch(ctx context.Context, db *store.DB, cmd string, rest []string, stdin io.Reader, stdout, stderr io.Writer) error {
	switch cmd {
	case "create":
		return runCreate(db, rest)
	case "update":
		return runUpdate(ctx, db, rest, stdin, stdout)
	case "fetch":
		return runFetch(db, rest, stdout)
	case "info":
		return runInfo(db, rest, stdout)
	case "last":
		return runLast(db, rest, stdout)
	case "list":
		return runList(db, rest, stdout)
	case "import":
		return runImport(ctx, db, rest, stderr)
	case "xport":
		return runXport(ctx, db, rest, stdout)
	case "graph":
		return runGraph(ctx, db, rest, stdout, stderr)
	case "ingest":
		if len(rest) == 0 {
			return usageError{"ingest needs a source: tracelog or kinesis"}
		}
		switch rest[0] {
		case "tracelog":
			return runIngestTracelog(ctx, db, rest[1:], stdout, stderr)
		case "kinesis":
			return runIngestKinesis(ctx, db, rest[1:], stdout, stderr)
		}
		return usageError{fmt.Sprintf("unknown ingest source %q", rest[0])}
	}
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}
