package rrdcached

import (
	"fmt"
	"sort"
	"strings"
)

// Where a command may be used, as rrdcached's command contexts.
const (
	inClient = 1 << iota // outside BATCH
	inBatch              // between BATCH and "."
)

type handler func(s *Server, c *conn, args []string) reply

// command is one entry of the command table. The order is rrdcached's: HELP
// lists the commands in it.
type command struct {
	name    string
	handle  handler
	context int
	syntax  string // "" for commands HELP does not list
	help    string
}

// commands is filled by newCommandTable: the handlers refer to the table
// (HELP), so it can't be a package-level initialised variable.
var commandNames = []string{"UPDATE", "WROTE", "FLUSH", "FLUSHALL", "PENDING", "FORGET", "QUEUE", "STATS", "HELP", "PING",
	"BATCH", ".", "FETCH", "FETCHBIN", "INFO", "FIRST", "LAST", "CREATE", "LIST", "SUSPEND", "RESUME", "SUSPENDALL", "RESUMEALL", "QUIT",
	"XCREATE", "XUPDATE", "XFETCH", "XINFO", "XLIST", "XUPDATEV", "XDELETE", "XRENAME", "XBACKUP", "XDUMP", "XTUNE", "XRESIZE"}

func commandTable() []command {
	return []command{
		{"UPDATE", handleUpdate, inClient | inBatch, "UPDATE <filename> <values> [<values> ...]\n",
			"Applies the values to the series of the file. Each <values> is\n" +
				"  <time>:<value>[:<value>[...]]\n" +
				"as for rrdupdate(1); <time> is seconds since the epoch. The answer\n" +
				"comes once the values are durable in rrdash's journal.\n"},
		{"WROTE", nil, 0, "", ""}, // rrdcached's journal-only command: never allowed here
		{"FLUSH", handleFlush, inClient | inBatch, "FLUSH <filename>\n",
			"Returns once every acknowledged update of the file is durable (rrdash\n" +
				"acknowledges only durable updates, so it returns at once).\n"},
		{"FLUSHALL", handleFlushAll, inClient, "FLUSHALL\n",
			"Writes every archive to disk (a checkpoint) and returns when done.\n"},
		{"PENDING", handlePending, inClient, "PENDING <filename>\n",
			"Shows the updates not yet written for a file: none in rrdash.\n"},
		{"FORGET", handleForget, inClient | inBatch, "FORGET <filename>\n",
			"Drops the file from the server's set of files updated since it started.\n"},
		{"QUEUE", handleQueue, inClient, "QUEUE\n",
			"Shows the files waiting to be written, as lines\n" +
				"<num_vals> <filename>\n" +
				"(none in rrdash: updates are written when acknowledged).\n"},
		{"STATS", handleStats, inClient, "STATS\n",
			"Returns the server's counters (see the rrdash README).\n"},
		{"HELP", handleHelp, inClient, "HELP [<command>]\n", ""},
		{"PING", handlePing, inClient, "PING\n", "Answers PONG.\n"},
		{"BATCH", nil, inClient, "BATCH\n",
			"Starts a batch: the following commands are answered together,\n" +
				"errors only, once a line holding only a dot ends the batch:\n" +
				"\n" +
				"    client: BATCH\n" +
				"    server: 0 Go ahead.  End with dot '.' on its own line.\n" +
				"    client: command #1\n" +
				"    client: command #2\n" +
				"    client: .\n" +
				"    server: 1 errors\n" +
				"    server: 2 message for command #2\n"},
		{".", nil, inBatch, "", ""}, // handled by the connection: it ends a BATCH
		{"FETCH", handleFetch, inClient, "FETCH <file> <CF> [<start> [<end>] [<column>...]]\n",
			"Returns the rows of a file's archive as rrdtool fetch does.\n"},
		{"FETCHBIN", handleFetchBin, inClient, "FETCHBIN <file> <CF> [<start> [<end>] [<column>...]]\n",
			"As FETCH, with each column as binary doubles.\n"},
		{"INFO", handleInfo, inClient, "INFO <filename>\n",
			"Returns the definition and state of a file as lines\n" +
				"<key> <type> <value>\n" +
				"(rrdinfo's keys; type 0 a number, 1 a count, 2 a string).\n"},
		{"FIRST", handleFirst, inClient, "FIRST <filename> <rra index>\n",
			"Returns the time of the first row of an archive of a file.\n"},
		{"LAST", handleLast, inClient, "LAST <filename>\n",
			"Returns the last update time of a file, rounded down to its step\n" +
				"as rrdcached does.\n"},
		{"CREATE", handleCreate, inClient | inBatch, "CREATE <filename> [-b start] [-s step] [-O] <DS definitions> <RRA definitions>\n",
			"Creates a file, replacing an existing one unless -O is given. The start\n" +
				"is seconds since the epoch and the step seconds (default 300); DS and\n" +
				"RRA definitions are as for rrdtool create.\n"},
		{"LIST", handleList, inClient, "LIST [RECURSIVE] /[<path>]\n",
			"Lists the files under a path of the data directory (/ is its top);\n" +
				"RECURSIVE lists every file below it.\n"},
		{"SUSPEND", handleSuspend, inClient | inBatch, "SUSPEND <filename>\n",
			"Marks a file suspended. rrdash holds no updates back: they are\n" +
				"durable and written when acknowledged (see the README).\n"},
		{"RESUME", handleResume, inClient | inBatch, "RESUME <filename>\n",
			"Clears the suspended mark of a file.\n"},
		{"SUSPENDALL", handleSuspendAll, inClient | inBatch, "SUSPENDALL\n",
			"Marks every file updated since the server started suspended.\n"},
		{"RESUMEALL", handleResumeAll, inClient | inBatch, "RESUMEALL\n",
			"Clears every suspended mark.\n"},
		{"QUIT", nil, inClient | inBatch, "QUIT\n", "Closes the connection.\n"},
		// rrdash's own commands, for its CLI (package store/remote)
		{"XCREATE", extHandler("XCREATE"), inClient, "XCREATE <series> <step> <start> <overwrite 0|1> <DS:...>... <RRA:...>...\n",
			"Creates a series, as rrdash create does (series names as they are).\n"},
		{"XUPDATE", extHandler("XUPDATE"), inClient, "XUPDATE <series> <time[.usec]:value[:value...]>...\n",
			"Applies updates as rrdash update does; answered once durable.\n"},
		{"XFETCH", extHandler("XFETCH"), inClient, "XFETCH <series> <CF> <start> <end> <resolution> <align-start 0|1>\n",
			"Fetches as rrdash fetch does, with the resolution, exact values.\n"},
		{"XINFO", extHandler("XINFO"), inClient, "XINFO <series>\n",
			"The definition and state of a series, exact values and metadata.\n"},
		{"XLIST", extHandler("XLIST"), inClient, "XLIST [<glob>]\n",
			"The series names matching a glob, quoted, one a line.\n"},
		{"XUPDATEV", extHandler("XUPDATEV"), inClient, "XUPDATEV <series> <time[.usec]:value[:value...]>...\n",
			"Applies updates as rrdash updatev does and reports the rows written; answered once durable.\n"},
		{"XDELETE", extHandler("XDELETE"), inClient, "XDELETE <series>...\n",
			"Deletes series for good, as rrdash delete does.\n"},
		{"XRENAME", extHandler("XRENAME"), inClient, "XRENAME <old> <new>\n",
			"Renames a series, as rrdash rename does.\n"},
		{"XBACKUP", handleBackup, inClient, "XBACKUP <absolute path>\n",
			"Writes a verified backup of the data directory into a new or empty\n" +
				"directory on the server's machine (rrdash backup); answered when done.\n"},
		{"XDUMP", extHandler("XDUMP"), inClient, "XDUMP <series>\n",
			"The definition, state and rows of a series, exact, for rrdash dump.\n"},
		{"XTUNE", extHandler("XTUNE"), inClient, "XTUNE <series> <tune argument>...\n",
			"Changes a series as rrdash tune does.\n"},
		{"XRESIZE", extHandler("XRESIZE"), inClient, "XRESIZE <series> <rra> <GROW|SHRINK> <rows>\n",
			"Resizes an archive of a series in place, as rrdash resize does.\n"},
	}
}

// lookup finds a command by name, without regard to case.
func lookup(table []command, name string) (int, bool) {
	for i := range table {
		if strings.EqualFold(table[i].name, name) {
			return i, true
		}
	}
	return -1, false
}

// Permissions is the set of commands a listener accepts (rrdcached -P).
// HELP and QUIT are always accepted, and "." whenever BATCH is.
type Permissions uint64

// AllCommands accepts every command (the UNIX socket's default).
const AllCommands Permissions = 1<<64 - 1

// DefaultTCPCommands is what a TCP listener accepts unless configured:
// writing updates and reading, but not creating, forgetting or suspending.
var DefaultTCPCommands = []string{"UPDATE", "BATCH", "FLUSH", "FLUSHALL", "PENDING", "QUEUE", "STATS", "PING",
	"FETCH", "FETCHBIN", "INFO", "FIRST", "LAST", "LIST", "XUPDATE", "XFETCH", "XINFO", "XLIST", "XUPDATEV", "XDUMP"}

// ParsePermissions reads a list of command names (rrdcached -P's comma
// separated list; spaces are allowed). Unknown names are an error.
func ParsePermissions(list []string) (Permissions, error) {
	var p Permissions
	for _, n := range list {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		i := -1
		for k, c := range commandNames {
			if strings.EqualFold(c, n) {
				i = k
			}
		}
		if i < 0 || n == "." || strings.EqualFold(n, "WROTE") {
			return 0, fmt.Errorf("unknown rrdcached command %q in permissions (known: %s)", n, strings.Join(permissionNames(), ", "))
		}
		p |= 1 << i
	}
	return p, nil
}

func permissionNames() []string {
	var out []string
	for _, c := range commandNames {
		if c != "." && c != "WROTE" {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

// allows reports whether command i of the table is permitted.
func (p Permissions) allows(name string, i int) bool {
	switch strings.ToUpper(name) {
	case "HELP", "QUIT":
		return true
	case ".":
		i, _ = lookupName("BATCH")
	}
	return p&(1<<i) != 0
}

func lookupName(name string) (int, bool) {
	for i, c := range commandNames {
		if strings.EqualFold(c, name) {
			return i, true
		}
	}
	return -1, false
}

// String lists the permitted commands.
func (p Permissions) String() string {
	var out []string
	for i, c := range commandNames {
		if p&(1<<i) != 0 && c != "." && c != "WROTE" {
			out = append(out, c)
		}
	}
	return strings.Join(out, ",")
}
