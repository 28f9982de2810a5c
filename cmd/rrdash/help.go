package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"rrdash/ingest/kinesis"
)

// dispatchedCommands are the commands runCommand knows (help covers each).
func dispatchedCommands() []string {
	return []string{"create", "update", "updatev", "fetch", "info", "last", "first", "lastupdate", "list", "import", "restore", "xport", "graph", "graphv", "serve", "ingest", "monitor", "check", "version", "import-carbon-config", "delete", "rename", "backup", "restore-backup", "rotate-key", "dump", "tune", "resize", "annotate", "annotations", "flushcached", "-"}
}

const dataDirNote = "The data directory is --data DIR, else $RRDASH_DATA, else ./data."

// commandHelp is the usage of the commands whose arguments are rrdtool's.
func commandHelp(name string) (string, bool) {
	h, ok := map[string]string{
		"create": "usage: rrdash create NAME [--start T] [--step S] [--no-overwrite] [--template|-t OLD] [--source|-r OLD]… DS:… RRA:…\n" +
			"  Creates series NAME, as rrdtool create does (a series name where rrdtool takes a file);\n" +
			"  --template takes the step, DS and RRAs of series OLD first; --source fills the rows from series (or rrdtool files) OLD… as rrdtool\n" +
			"  does (DS:new=old[i]:… maps a DS to another name, of the i-th source). DS:name:COMPUTE:rpn computes a DS from the others.",
		"update": "usage: rrdash update NAME [--template a:b] [--skip-past-updates] [--locking try|block] ARG…\n" +
			"  ARG: T:v[:v…] or N:v…; a single \"-\" reads ARGs from stdin, one a line, and prints \"OK n\" once line n is durable.\n" +
			"  --skip-past-updates (-s) passes over ARGs at or before the last update instead of stopping there.\n" +
			"  --locking (-L) try (default; or $RRD_LOCKING) gives up when another process holds the data directory, block waits for it; none is refused.",
		"updatev": "usage: rrdash updatev NAME [--template a:b] [--skip-past-updates] ARG…\n" +
			"  Updates as update does and prints rrdtool updatev's report: return_value and the values written to each archive.",
		"fetch": "usage: rrdash fetch NAME CF [--start T] [--end T] [--resolution S] [--align-start] [--json]\n" +
			"  Prints the consolidated data points of NAME, as rrdtool fetch does.",
		"info": "usage: rrdash info NAME [--json] [--noflush|-F]\n  Prints the header and state of series NAME, as rrdtool info does (--noflush: nothing is held back to flush, the same answer).",
		"last": "usage: rrdash last NAME\n  Prints the time of the last update of series NAME.",
		"first": "usage: rrdash first NAME [--rraindex N]\n" +
			"  Prints the time of the oldest row of archive N (default 0) of series NAME, as rrdtool first does.",
		"flushcached": "usage: rrdash flushcached NAME…\n" +
			"  As rrdtool flushcached; rrdash holds no updates back (each is durable and visible when acknowledged), so it only checks the names.",
		"lastupdate": "usage: rrdash lastupdate NAME\n" +
			"  Prints the DS names of series NAME, then the time of its last update and the last value given to each DS, as rrdtool lastupdate does.",
		"list": "usage: rrdash list [PATTERN]\n       rrdash list [--recursive] [--noflush] DIR\n" +
			"  Lists the series whose names match the glob PATTERN (all without one); with a DIR (no glob characters),\n" +
			"  as rrdtool list: the series and directories in DIR (\"/\" is the level in names), or every series under it with --recursive.",
		"import": "usage: rrdash import [--force] FILE.xml|FILE.rrd [NAME]\n       rrdash import --tree DIR [--prefix P] [--force]\n" +
			"  Imports an rrdtool dump or an rrdtool file (x86-64, versions 0001-0005) as series NAME (default: the file's base name);\n" +
			"  --tree imports every .rrd file under DIR as P + its relative path without .rrd, skipping series already there unless --force.",
		"restore": "usage: rrdash restore [--force-overwrite|-f] FILE.xml|FILE.rrd NAME\n" +
			"  Imports an rrdtool dump (or file) as series NAME, as rrdtool restore makes a file (import with rrdtool's arguments); --range-check (-r) stores values outside the DS limits as unknown.",
		"tune": "usage: rrdash tune NAME [--heartbeat|-h ds:hb] [--minimum|-i ds:min] [--maximum|-a ds:max] [--data-source-type|-d ds:TYPE]\n" +
			"       [--data-source-rename|-r old:new] [--aberrant-reset|-b ds] [--step|-t S] [DEL:ds] [DS:name:TYPE:hb:min:max] [DELRRA:i]\n" +
			"       [RRA#i:=|+|-rows] [RRA:CF:xff:steps:rows]\n" +
			"  Changes series NAME as rrdtool tune changes a file; the DS:/DEL:/DELRRA:/RRA#/RRA: forms rewrite its archives as\n" +
			"  rrd_modify does (added rows and archives filled from the others); --step S (dividing the step) goes with one of them.\n" +
			"  Holt-Winters options: [--alpha|-x a] [--beta|-y b] [--gamma|-z g] [--gamma-deviation|-v g] [--smoothing-window|-s f]\n" +
			"       [--smoothing-window-deviation|-S f] [--deltapos|-p d] [--deltaneg|-n d] [--failure-threshold|-f n] [--window-length|-w n].",
		"resize": "usage: rrdash resize NAME RRA-NUM GROW|SHRINK ROWS\n" +
			"  Grows or shrinks archive RRA-NUM by ROWS rows as rrdtool resize does, in place (rrdtool writes ./resize.rrd).",
		"dump": "usage: rrdash dump [--header|-h {none,xsd,dtd}] [--no-header|-n] NAME [FILE.xml]\n" +
			"  Writes series NAME as rrdtool dump's XML (to FILE.xml, else stdout), as rrdtool dump does.",
		"xport": "usage: rrdash xport [--start T] [--end T] [--step S] [--maxrows N] [--json] [--showtime|-t] [--enumds] DEF:… CDEF:… VDEF:… XPORT:…\n" +
			"  rrdtool xport's arguments with series names where rrdtool takes files; rrdtool's XML, or its JSON with --json.",
		"graph": "usage: rrdash graph FILE|- [rrdtool graph options] DEF:… CDEF:… LINE…:… GPRINT:…\n" +
			"  Renders a PNG (SVG or PDF with --imgformat) as rrdtool graph does (to stdout with -),\n" +
			"  then prints its size and the PRINT lines.",
		"graphv": "usage: rrdash graphv FILE|- [rrdtool graph options] DEF:… CDEF:… LINE…:… GPRINT:…\n" +
			"  As graph, printing rrdtool graphv's key = value lines (print[i], graph_*, image_*, value_min/max,\n" +
			"  legend[i], coords[i]; with - the image follows as image = BLOB_SIZE:n).",
		"ingest": "usage: rrdash ingest tracelog [flags] FILE…\n       rrdash ingest kinesis --stream NAME [flags]\n" +
			"  See rrdash ingest tracelog --help and rrdash ingest kinesis --help.",
		"version":              versionUsage,
		"import-carbon-config": importCarbonUsage,
		"delete":               deleteUsage,
		"rename":               renameUsage,
		"cd":                   "usage (pipe mode only): cd DIR\n  changes the current directory of series names (rrdash - [DIR]), as rrdtool's remote command.",
		"pwd":                  "usage (pipe mode only): pwd\n  prints the current directory of series names, / being the session's DIR.",
		"mkdir":                "usage (pipe mode only): mkdir DIR\n  makes a directory of series names for the session (it lasts once a series is in it).",
		"ls":                   "usage (pipe mode only): ls\n  lists the current directory: \"d NAME\" per directory, \"- NAME.rrd\" per series.",
		"quit":                 "usage (pipe mode only): quit\n  ends the pipe-mode session.",
		"-":                    "usage: rrdash - [DIR]\n  pipe mode: one command per line on stdin (as rrdtool - [DIR]), each answered by its output and \"OK u:… s:… r:…\" or \"ERROR: …\".\n  cd, pwd, mkdir, ls and quit move in the series directories (a/b/c is c.rrd in a/b), confined to DIR; file names are relative to the current directory.",
	}[name]
	return h, ok
}

// helpTopic tells whether args (after a leading --data) ask for help, and
// about which command: `help [CMD [SUB]]`, or -h, -help or --help among a
// command's arguments (before "--"; for graph, where -h is --height, -h
// only as its first argument).
func helpTopic(args []string) (topic []string, ok bool) {
	if len(args) == 0 {
		return nil, true
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		return args[1:], true
	}
	topic, rest := args[:1], args[1:]
	if (args[0] == "ingest" || args[0] == "monitor") && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		topic, rest = args[:2], rest[1:]
	}
	for i, a := range rest {
		if a == "--" {
			break
		}
		// -h is graph's --height, dump's --header and tune's --heartbeat:
		// help only where it cannot be those
		hIsHelp := topic[0] != "graph" && topic[0] != "graphv" && topic[0] != "dump" && topic[0] != "tune" || (topic[0] == "graph" || topic[0] == "graphv") && i == 0 ||
			(topic[0] == "dump" || topic[0] == "tune") && len(rest) == 1
		if a == "--help" || a == "-help" || a == "-h" && hIsHelp {
			return topic, true
		}
	}
	return nil, false
}

// printHelp prints the usage of topic to stdout; it opens no data directory.
func printHelp(ctx context.Context, topic []string, stdout io.Writer) error {
	if len(topic) == 0 {
		fmt.Fprint(stdout, usage)
		return nil
	}
	name := strings.Join(topic, " ")
	switch name {
	case "serve":
		return runServe(ctx, []string{"-h"}, stdout, io.Discard)
	case "monitor", "monitor run":
		return runMonitorCmd(ctx, "", []string{"run", "-h"}, stdout, io.Discard)
	case "ingest kinesis":
		kinesis.PrintUsage(stdout)
		fmt.Fprintln(stdout, dataDirNote)
		return nil
	case "ingest tracelog":
		return ingestTracelog(ctx, nil, []string{"-h"}, stdout, io.Discard)
	case "check":
		fmt.Fprint(stdout, checkUsage)
		return nil
	case "backup":
		fmt.Fprint(stdout, backupUsage)
		return nil
	case "restore-backup":
		fmt.Fprint(stdout, restoreBackupUsage)
		return nil
	case "rotate-key":
		fmt.Fprint(stdout, rotateKeyUsage)
		return nil
	case "annotate":
		fmt.Fprint(stdout, annotateUsage)
		return nil
	case "annotations":
		fmt.Fprint(stdout, annotationsUsage)
		return nil
	}
	h, ok := commandHelp(name)
	if !ok || len(topic) > 1 {
		if slices.Contains(dispatchedCommands(), topic[0]) {
			return usageError{fmt.Sprintf("no help for %q: %s has no such subcommand", name, topic[0])}
		}
		return usageError{fmt.Sprintf("unknown command %q", topic[0])}
	}
	fmt.Fprintf(stdout, "%s\n%s\n", h, dataDirNote)
	return nil
}
