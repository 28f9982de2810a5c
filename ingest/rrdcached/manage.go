package rrdcached

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"rrdash/store"
)

// exists reports whether the series of file exists, or the answer to give.
func exists(s *Server, file string) (string, *reply) {
	name, err := s.names.series(file)
	if err != nil {
		r := accessError(s, file, err)
		return "", &r
	}
	if _, err := s.specOrAdopt(file, name); err != nil {
		var r reply
		if errors.Is(err, store.ErrNotFound) {
			r = errorf("No such file: %s.\n", s.names.shown(file))
		} else {
			r = errorf("RRD Error: %v\n", err)
		}
		return "", &r
	}
	return name, nil
}

// handleFlush: every acknowledged update is durable already, and the
// connection answers FLUSH only after the durability of the updates it
// sent before. For a ".rrd" name it writes the rrdtool image of the series
// there (export.go) before answering: rrdtool's lastupdate and dump read
// that file once FLUSH is answered.
func handleFlush(s *Server, c *conn, args []string) reply {
	if len(args) == 0 {
		return syntaxError(s, "FLUSH")
	}
	s.flushesRx.Add(1)
	file := args[0]
	name, bad := exists(s, file)
	if bad != nil {
		return *bad
	}
	s.mu.Lock()
	_, seen := s.known[name]
	s.mu.Unlock()
	r := ok(fmt.Sprintf("Nothing to flush: %s.\n", s.names.shown(file)), nil)
	if seen {
		r = ok(fmt.Sprintf("Successfully flushed %s.\n", s.names.shown(file)), nil)
	}
	path, err := s.imagePath(file, name)
	if err != nil {
		return errorf("RRD Error: no rrdtool file written: %v\n", err)
	}
	if path == "" {
		return r
	}
	// written by the connection's writer, once the updates answered
	// before are durable, so the image holds at least those
	return reply{late: func() reply {
		if err := s.writeImage(path, name); err != nil {
			return errorf("RRD Error: writing the rrdtool file of %s: %v\n", name, err)
		}
		return r
	}}
}

// handleFlushAll checkpoints the store: every archive file is written and
// synced when it answers.
func handleFlushAll(s *Server, c *conn, args []string) reply {
	if err := s.st.Checkpoint(c.ctx); err != nil {
		return errorf("RRD Error: checkpoint: %v\n", err)
	}
	if err := s.refreshImages(); err != nil {
		return errorf("RRD Error: rrdtool files: %v\n", err)
	}
	return ok("Started flush.\n", nil)
}

func handlePending(s *Server, c *conn, args []string) reply {
	if len(args) == 0 {
		return syntaxError(s, "PENDING")
	}
	return ok("updates pending\n", nil)
}

func handleForget(s *Server, c *conn, args []string) reply {
	if len(args) == 0 {
		return syntaxError(s, "FORGET")
	}
	name, err := s.names.series(args[0])
	if err != nil {
		return accessError(s, args[0], err)
	}
	s.mu.Lock()
	_, seen := s.known[name]
	delete(s.known, name)
	s.mu.Unlock()
	if !seen {
		return errorf("No such file or directory\n")
	}
	return ok("Gone!\n", nil)
}

func handleQueue(s *Server, c *conn, args []string) reply { return ok("in queue.\n", nil) }

func handleStats(s *Server, c *conn, args []string) reply {
	st := s.Stats()
	s.mu.Lock()
	nodes := len(s.known)
	s.mu.Unlock()
	var b bytes.Buffer
	fmt.Fprintf(&b, "QueueLength: 0\nUpdatesReceived: %d\nFlushesReceived: %d\nUpdatesWritten: %d\nDataSetsWritten: %d\n",
		st.UpdatesReceived, st.FlushesReceived, st.UpdatesWritten, st.DataSetsWritten)
	fmt.Fprintf(&b, "TreeNodesNumber: %d\nTreeDepth: 0\nJournalBytes: %d\nJournalRotate: 0\n", nodes, st.JournalBytes)
	return ok("Statistics follow\n", b.Bytes())
}

func handleHelp(s *Server, c *conn, args []string) reply {
	var b bytes.Buffer
	if len(args) > 0 {
		if i, found := lookup(s.table, args[0]); found && (s.table[i].syntax != "" || s.table[i].help != "") {
			d := s.table[i]
			if d.syntax != "" {
				b.WriteString("Usage: " + d.syntax + "\n")
			}
			if d.help != "" {
				b.WriteString(d.help + "\n")
			}
			return ok("Help for "+d.name+"\n", b.Bytes())
		}
	}
	for _, d := range s.table {
		b.WriteString(d.syntax)
	}
	return ok("Command overview\n", b.Bytes())
}

func handlePing(s *Server, c *conn, args []string) reply { return ok("PONG\n", nil) }

// handleCreate creates a series from rrdcached's CREATE arguments. -r and
// -t (data from other files) are refused: rrdash creates from definitions.
func handleCreate(s *Server, c *conn, args []string) reply {
	if len(args) == 0 {
		return syntaxError(s, "CREATE")
	}
	file := args[0]
	name, err := s.names.series(file)
	if err != nil {
		return accessError(s, file, err)
	}
	var step, start int64 = 0, -1
	noOverwrite := false
	var defs []string
	for i := 1; i < len(args); i++ {
		tok := args[i]
		switch {
		case strings.HasPrefix(tok, "-b"), strings.HasPrefix(tok, "-s"):
			if i+1 >= len(args) {
				return syntaxError(s, "CREATE")
			}
			i++
			if strings.HasPrefix(tok, "-b") {
				start = atoi(args[i])
			} else {
				step = atoi(args[i])
			}
		case strings.HasPrefix(tok, "-r"), strings.HasPrefix(tok, "-t"):
			return errorf("RRD Error: rrdash does not create from source files (%s): give DS and RRA definitions\n", tok)
		case strings.HasPrefix(tok, "-O"):
			noOverwrite = true
		case strings.HasPrefix(tok, "DS:"), strings.HasPrefix(tok, "RRA:"):
			defs = append(defs, tok)
		default:
			return syntaxError(s, "CREATE")
		}
	}
	if start != -1 && start < 3600*24*365*10 {
		return errorf("The first entry must be after 1980.\n")
	}
	if step <= 0 {
		step = 300
	}
	if start == -1 {
		start = s.nowUnix() - 10
	}
	spec, err := store.ParseSpecArgs(step, start, defs)
	if err != nil {
		return errorf("RRD Error: %v\n", err)
	}
	if noOverwrite {
		if _, err := s.st.Spec(name); err == nil {
			return errorf("RRD Error: creating '%s': File exists\n", s.names.shown(file))
		}
	}
	c.forget(file) // its data sources may change
	if err := s.st.Create(name, spec, !noOverwrite); err != nil {
		return errorf("RRD Error: %v\n", err)
	}
	return ok("RRD created OK\n", nil)
}

func suspend(s *Server, args []string, cmd string, to bool) reply {
	if len(args) == 0 {
		return syntaxError(s, cmd)
	}
	name, err := s.names.series(args[0])
	if err != nil {
		return accessError(s, args[0], err)
	}
	shown := s.names.shown(args[0])
	s.mu.Lock()
	defer s.mu.Unlock()
	was, seen := s.known[name]
	switch {
	case !seen:
		return errorf("%s - No such file or directory\n", shown)
	case was == to && to:
		return ok(shown+" already suspended\n", nil)
	case was == to:
		return ok(shown+" not suspended\n", nil)
	}
	s.known[name] = to
	if to {
		return ok(shown+" suspended\n", nil)
	}
	return ok(shown+" resumed\n", nil)
}

func handleSuspend(s *Server, c *conn, args []string) reply { return suspend(s, args, "SUSPEND", true) }
func handleResume(s *Server, c *conn, args []string) reply  { return suspend(s, args, "RESUME", false) }

func suspendAll(s *Server, to bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, v := range s.known {
		if v != to {
			s.known[k] = to
			n++
		}
	}
	return n
}

func handleSuspendAll(s *Server, c *conn, args []string) reply {
	return ok(fmt.Sprintf("%d rrds suspend\n", suspendAll(s, true)), nil)
}

func handleResumeAll(s *Server, c *conn, args []string) reply {
	return ok(fmt.Sprintf("%d rrds resumed\n", suspendAll(s, false)), nil)
}
