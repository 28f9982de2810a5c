package rrdcached

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"time"

	"rrdash/store"
)

// reply is the answer to one command.
type reply struct {
	err  bool   // a "-1 …" answer (in a BATCH: an error line)
	msg  string // the status message, ending in "\n"
	body []byte // lines after the status line, each ending in "\n"
	// bin marks FETCHBIN's answer: msg carries its own line count and
	// body is not made of lines.
	bin bool
	// wait, when set, must return nil before the answer may be sent: it
	// makes the command's updates durable. An error replaces the answer
	// (notDurable, when set, makes the replacement).
	wait       func() error
	notDurable func(error) reply
	// late, when set, makes the answer once the group commit has applied
	// the command's updates (the writer calls it first).
	late func() reply
	// ready, when set, reports that late and wait would not block: the
	// writer flushes the answers it holds before one that would (nil:
	// it might)
	ready func() bool
	// raw, when set, is written as it is: complete answers (chunkAnswers)
	raw  []byte
	quit bool
	// deferred: the command joined the connection's chunk of updates;
	// its answer comes when the chunk is applied.
	deferred bool
}

func errorf(format string, a ...any) reply { return reply{err: true, msg: fmt.Sprintf(format, a...)} }

func ok(msg string, body []byte) reply { return reply{msg: msg, body: body} }

// batchErr is an error line of a BATCH answer.
type batchErr struct {
	n   int
	msg string
}

// conn is one client connection. Its reader (serveConn) parses and applies
// commands and hands their answers, in order, to its writer goroutine,
// which waits for each answer's durability before it writes it: a client
// that pipelines commands (BATCH after BATCH, or UPDATE after UPDATE
// without reading answers) keeps the reader busy while earlier updates
// are committed, and one journal fsync acknowledges all the updates
// applied meanwhile, on every connection.
type conn struct {
	s     *Server
	ctx   context.Context
	nc    net.Conn
	perms Permissions

	out chan reply // answers, in order, to the writer

	batch        bool
	batchCmd     int
	batchErrs    []batchErr
	batchWaits   []func() error // waits of the batch's updates outside chunks
	waitCmds     []int          // their command numbers
	batchTickets []batchTicket

	// Single-value UPDATEs (in a BATCH or not) are applied together, in
	// chunks: one store call and journal record for many commands. The
	// chunk is applied when full, before any other command, and whenever
	// the reader has no more input buffered (so a client waiting for an
	// answer gets it).
	chunk     []store.Update
	chunkKeys []int32   // the series' number of each (fileInfo.key)
	chunkNums []float64 // the room of the chunk's numbers (hotArena.fill)
	chunkCmds cmdRuns   // in a BATCH: the command numbers
	chunkLen  int       // bytes of the chunk's request lines
	vals      []string
	// arena holds the value text of the chunk's fast-path updates until
	// the chunk is handed over
	arena store.UpdateArena
	rx    int64 // fast-path UPDATEs not yet counted in the server's stats
	names map[string]fileInfo
	// the file of the newest fast-path UPDATE (a key of names)
	lastFile  string
	lastFI    fileInfo
	mayUpdate bool // the permissions allow UPDATE
	// streak: the last UPDATE fastUpdate took named lastFile, as the one
	// before it did (hotLines may take the next lines)
	streak bool
	hot    hotArena // hotLines' value text
}

// fileInfo caches what a connection learnt about a file name.
type fileInfo struct {
	file string // the name in the command (the key of conn.names)
	name string
	key  int32 // the series' number (Server.seriesKey); -1: none
	nds  int
	tmpl []int // the data sources an UPDATE gives (nil: all; not COMPUTE ones)
}

// maxChunk bounds the updates applied in one store call.
const maxChunk = 4096

// maxQueued bounds the answers waiting for the writer: beyond, the reader
// stops reading (back pressure on a client that never reads its answers).
const maxQueued = 256

// flushChunk submits the chunk of single-value updates to the group
// commit and queues their answers (outside a BATCH) or keeps the ticket
// for the BATCH's answer.
func (c *conn) flushChunk() {
	if len(c.chunk) == 0 {
		return
	}
	c.arena.Fill(c.chunk)
	c.chunkNums = c.hot.fill(c.chunk, c.chunkNums)
	c.s.updatesRx.Add(c.rx)
	c.rx = 0
	t := c.s.commit.submit(c.chunk, c.chunkKeys, c.chunkNums)
	c.s.jbytes.Add(int64(c.chunkLen))
	if c.batch {
		c.batchTickets = append(c.batchTickets, batchTicket{t, slices.Clone(c.chunkCmds)})
	} else {
		// one queued reply answers every command of the chunk
		n := len(c.chunk)
		c.queue(reply{late: func() reply { return chunkAnswers(t, n) }, ready: t.ready})
	}
	// the group commit owns the submitted chunk and its value strings; it
	// hands applied chunks back for reuse (fresh 4096-update slices were
	// most of the connection's garbage)
	room := c.s.commit.newChunk()
	c.chunk, c.chunkKeys, c.chunkNums = room.ups, room.keys, room.nums
	c.chunkCmds, c.chunkLen, c.vals = c.chunkCmds[:0], 0, make([]string, 0, cap(c.vals))
}

// chunkAnswers are the answers to n single-value UPDATEs outside a BATCH
// (a chunk), once applied: one line each, in order.
func chunkAnswers(t *ticket, n int) reply {
	t.await()
	lines := func(notDurable error) []byte {
		var b bytes.Buffer
		for i := range n {
			msg, bad := t.errs[i]
			switch {
			case t.fail != "":
				b.WriteString("-1 " + t.fail)
			case bad:
				b.WriteString("-1 " + msg)
			case notDurable != nil:
				fmt.Fprintf(&b, "-1 RRD Error: not durable: %v\n", notDurable)
			default:
				b.WriteString("0 errors, enqueued 1 value(s).\n")
			}
		}
		return b.Bytes()
	}
	r := reply{raw: lines(nil)}
	if t.fail == "" {
		r.wait = t.wait
		r.notDurable = func(err error) reply { return reply{raw: lines(err)} }
	}
	return r
}

// sync submits the chunk and has every submitted update applied: the next
// command sees them (their durability is still awaited by their answers).
func (c *conn) sync() {
	c.flushChunk()
	c.s.commit.applyNow()
}

// batchTicket is a chunk of a BATCH in the group commit.
type batchTicket struct {
	t    *ticket
	cmds cmdRuns // the command number of each update
}

// cmdRuns are the BATCH command numbers of a chunk's updates, in order,
// as runs of consecutive numbers: a BATCH of plain UPDATEs is one run,
// where a number per update was the batch's largest allocation.
type cmdRuns []cmdRun

// cmdRun is n consecutive command numbers from first.
type cmdRun struct{ first, n int }

// add appends the next update's command number.
func (r cmdRuns) add(n int) cmdRuns {
	if k := len(r) - 1; k >= 0 && r[k].first+r[k].n == n {
		r[k].n++
		return r
	}
	return append(r, cmdRun{n, 1})
}

// at is the command number of the i-th update.
func (r cmdRuns) at(i int) int {
	for _, run := range r {
		if i < run.n {
			return run.first + i
		}
		i -= run.n
	}
	panic("rrdcached: command index out of range")
}

// each calls f with every command number, in order.
func (r cmdRuns) each(f func(n int)) {
	for _, run := range r {
		for k := range run.n {
			f(run.first + k)
		}
	}
}

func (s *Server) serveConn(ctx context.Context, nc net.Conn, perms Permissions) {
	c := &conn{s: s, ctx: ctx, nc: nc, perms: perms, out: make(chan reply, maxQueued)}
	if i, found := lookup(s.table, "UPDATE"); found {
		c.mayUpdate = perms.allows("UPDATE", i)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.writer()
	}()
	defer func() {
		// a partial last line is not a command; finish what was read
		// (rrdcached applies the commands of an unfinished batch)
		c.sync()
		close(c.out)
		<-done
	}()
	r := bufio.NewReaderSize(nc, s.cfg.MaxLine)
	for {
		if r.Buffered() == 0 {
			// answer what was asked before blocking for more
			c.flushChunk()
			if ctx.Err() != nil {
				return
			}
			nc.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
		}
		if c.streak {
			if buf, _ := r.Peek(r.Buffered()); len(buf) > 0 {
				if n := c.hotLines(buf); n > 0 {
					r.Discard(n)
					continue
				}
			}
		}
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// an oversized line: skip it, answer, go on
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			if err != nil {
				return
			}
			c.flushChunk()
			if c.batch {
				c.batchCmd++
			}
			c.answer(errorf("Command too long: a request line may hold at most %d bytes\n", s.cfg.MaxLine))
			continue
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, net.ErrClosed) {
				s.log.Debug("rrdcached: read", "remote", remote(nc), "error", err)
			}
			return
		}
		if quit := c.handle(line[:len(line)-1]); quit {
			return
		}
	}
}

// writer writes the answers in order, each once its updates are durable,
// and flushes the socket whenever no further answer is ready. After a
// failed write it drains the queue (the reader stops at its next read:
// the connection is closed).
func (c *conn) writer() {
	w := bufio.NewWriterSize(c.nc, 32<<10)
	broken := false
	flush := func() {
		c.nc.SetWriteDeadline(time.Now().Add(time.Minute))
		if err := w.Flush(); err != nil {
			c.s.log.Debug("rrdcached: write", "remote", remote(c.nc), "error", err)
			broken = true
			c.nc.SetReadDeadline(time.Now())
		}
	}
	for r := range c.out {
		if broken {
			continue
		}
		// the answers held go before one that waits: held behind it, a
		// pipelining client's window of BATCHes was answered only once
		// all of it was durable, and it sent nothing meanwhile (its reader
		// and the group commit then took turns instead of overlapping)
		if (r.late != nil || r.wait != nil) && w.Buffered() > 0 && (r.ready == nil || !r.ready()) {
			if flush(); broken {
				continue
			}
		}
		if r.late != nil {
			r = r.late()
		}
		if r.wait != nil {
			if err := r.wait(); err != nil {
				if r.notDurable != nil {
					r = r.notDurable(err)
				} else {
					r = errorf("RRD Error: not durable: %v\n", err)
				}
			}
		}
		c.write(w, r)
		if len(c.out) == 0 || w.Buffered() > 16<<10 {
			flush()
		}
	}
	if !broken {
		w.Flush()
	}
}

func remote(nc net.Conn) string {
	if a := nc.RemoteAddr(); a != nil && a.String() != "" {
		return a.String()
	}
	return "unix"
}

// handle runs one request line (without its "\n"); it reports whether to
// close. The line's bytes are only valid during the call.
func (c *conn) handle(line []byte) bool {
	if c.fastUpdate(line) {
		return false
	}
	cmd, parsed := ParseCommand(string(line))
	if c.batch {
		c.batchCmd++
	}
	i, found := lookup(c.s.table, cmd.Name)
	switch {
	case !found:
		c.sync()
		c.answer(errorf("Unknown command: %s\n", cmd.Name))
		return false
	case !c.perms.allows(cmd.Name, i):
		c.sync()
		c.answer(errorf("Permission denied.\n"))
		return false
	}
	def := &c.s.table[i]
	switch def.name {
	case "UPDATE":
	case ".", "BATCH", "QUIT", "PING", "HELP":
		// they read no series: the chunk joins the group commit, which
		// applies it with the other connections' updates
		c.flushChunk()
	default:
		c.sync()
	}
	ctxBit := inClient
	if c.batch {
		ctxBit = inBatch
	}
	if def.context&ctxBit == 0 {
		c.answer(errorf("Can't use '%s' here.\n", cmd.Name))
		return false
	}
	switch {
	case def.name == "QUIT":
		return true
	case def.name == ".":
		c.endBatch()
		return false
	case def.name == "BATCH":
		c.answer(ok("Go ahead.  End with dot '.' on its own line.\n", nil))
		c.startBatch()
		return false
	case !parsed:
		c.answer(errorf("Usage: %s", def.syntax))
		return false
	}
	r := def.handle(c.s, c, cmd.Args)
	c.answer(r)
	return r.quit
}

// answer queues an answer; in a BATCH only errors are kept, numbered.
func (c *conn) answer(r reply) {
	if r.deferred {
		return
	}
	if !c.batch {
		// the chunk's answers come first: an UPDATE refused before it
		// reached the chunk (no such file) overtook them
		c.flushChunk()
		c.queue(r)
		return
	}
	if r.wait != nil {
		c.batchWaits = append(c.batchWaits, r.wait)
		c.waitCmds = append(c.waitCmds, c.batchCmd)
	}
	if r.err {
		c.batchErrs = append(c.batchErrs, batchErr{c.batchCmd, r.msg})
	}
}

// queue hands an answer to the writer.
func (c *conn) queue(r reply) { c.out <- r }

func (c *conn) startBatch() {
	c.batch, c.batchCmd, c.batchErrs, c.batchWaits, c.waitCmds, c.batchTickets = true, 0, nil, nil, nil, nil
}

// endBatch answers a BATCH: "N errors" and one line per failed command,
// once every update of the batch is durable (the writer waits).
func (c *conn) endBatch() {
	c.flushChunk()
	errs, waits, waitCmds, tickets := c.batchErrs, c.batchWaits, c.waitCmds, c.batchTickets
	c.batch, c.batchErrs, c.batchWaits, c.waitCmds, c.batchTickets = false, nil, nil, nil, nil
	storeWaits := len(waits) > 0 // the store's own waits: their readiness is unknown
	ready := func() bool {
		if storeWaits {
			return false
		}
		for _, bt := range tickets {
			if !bt.t.ready() {
				return false
			}
		}
		return true
	}
	c.queue(reply{ready: ready, late: func() reply {
		for _, bt := range tickets {
			bt.t.await()
			if bt.t.fail != "" {
				bt.cmds.each(func(n int) { errs = append(errs, batchErr{n, bt.t.fail}) })
				continue
			}
			for i, msg := range bt.t.errs {
				errs = append(errs, batchErr{bt.cmds.at(i), msg})
			}
			waits = append(waits, bt.t.wait)
		}
		r := batchReply(errs)
		if len(waits) == 0 {
			return r
		}
		r.wait = func() error {
			for _, w := range waits {
				if err := w(); err != nil {
					return err
				}
			}
			return nil
		}
		r.notDurable = func(err error) reply {
			msg := fmt.Sprintf("RRD Error: not durable: %v\n", err)
			failed := map[int]bool{}
			for _, e := range errs {
				failed[e.n] = true
			}
			notDurable := func(n int) {
				if !failed[n] {
					errs = append(errs, batchErr{n, msg})
				}
			}
			for _, n := range waitCmds {
				notDurable(n)
			}
			for _, bt := range tickets {
				if bt.t.fail == "" {
					bt.cmds.each(notDurable)
				}
			}
			return batchReply(errs)
		}
		return r
	}})
}

// batchReply is the answer to a BATCH with these errors.
func batchReply(errs []batchErr) reply {
	// errors of chunks come when the chunk is applied: order them
	sort.SliceStable(errs, func(a, b int) bool { return errs[a].n < errs[b].n })
	var body bytes.Buffer
	for _, e := range errs {
		body.WriteString(strconv.Itoa(e.n))
		body.WriteByte(' ')
		body.WriteString(e.msg)
	}
	return ok("errors\n", body.Bytes())
}

func (c *conn) write(w *bufio.Writer, r reply) {
	switch {
	case r.raw != nil:
		w.Write(r.raw)
		return
	case r.err:
		w.WriteString("-1 ")
	case r.bin:
	default:
		w.WriteString(strconv.Itoa(bytes.Count(r.body, []byte{'\n'})))
		w.WriteByte(' ')
	}
	w.WriteString(r.msg)
	if !r.err {
		w.Write(r.body)
	}
}
