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
	// makes the command's updates durable. An error replaces the answer.
	wait func() error
	quit bool
	// deferred: the command joined the batch's chunk of updates; its
	// answer comes when the chunk is applied.
	deferred bool
}

func errorf(format string, a ...any) reply { return reply{err: true, msg: fmt.Sprintf(format, a...)} }

func ok(msg string, body []byte) reply { return reply{msg: msg, body: body} }

// batchErr is an error line of a BATCH answer.
type batchErr struct {
	n   int
	msg string
}

// conn is one client connection.
type conn struct {
	s     *Server
	ctx   context.Context
	nc    net.Conn
	perms Permissions
	w     *bufio.Writer

	pending []reply // answers waiting for the end of the input read so far

	batch     bool
	batchCmd  int
	batchErrs []batchErr
	batchWait func() error // the newest wait: it covers every earlier one
	waitCmds  []int        // commands of the batch whose answer needs it

	// Single-value UPDATEs of a batch are applied together, in chunks:
	// one store call and journal record for many commands.
	chunk     []store.Update
	chunkCmds []int
	chunkLen  int // bytes of the chunk's request lines
	names     map[string]fileInfo
}

// fileInfo caches what a connection learnt about a file name.
type fileInfo struct {
	name string
	nds  int
	tmpl []int // the data sources an UPDATE gives (nil: all; not COMPUTE ones)
}

// maxChunk bounds the updates applied in one store call.
const maxChunk = 1024

// flushChunk applies the chunk of batched updates.
func (c *conn) flushChunk() {
	if len(c.chunk) == 0 {
		return
	}
	s := c.s
	res, wait, err := s.st.ApplyAsync(c.ctx, store.Batch{Updates: c.chunk})
	if err != nil {
		for _, n := range c.chunkCmds {
			c.batchErrs = append(c.batchErrs, batchErr{n, fmt.Sprintf("RRD Error: %v\n", err)})
		}
	} else {
		for _, ue := range res.Errors {
			msg := fmt.Sprintf("RRD Error: %v\n", ue)
			if errors.Is(ue, store.ErrTooOld) {
				u := c.chunk[ue.Index]
				msg = tooOld(s, u.Series, float64(u.Time)+float64(u.Usec)/1e6).msg
			}
			c.batchErrs = append(c.batchErrs, batchErr{c.chunkCmds[ue.Index], msg})
		}
		c.batchWait = wait
		c.waitCmds = append(c.waitCmds, c.chunkCmds...)
		s.written.Add(int64(res.Applied))
		s.dataSets.Add(int64(res.Applied))
		s.jbytes.Add(int64(c.chunkLen))
		last := ""
		for _, u := range c.chunk {
			if u.Series != last {
				s.touch(u.Series)
				last = u.Series
			}
		}
	}
	clear(c.chunk)
	c.chunk, c.chunkCmds, c.chunkLen = c.chunk[:0], c.chunkCmds[:0], 0
}

func (s *Server) serveConn(ctx context.Context, nc net.Conn, perms Permissions) {
	c := &conn{s: s, ctx: ctx, nc: nc, perms: perms, w: bufio.NewWriterSize(nc, 32<<10)}
	r := bufio.NewReaderSize(nc, s.cfg.MaxLine)
	for {
		if r.Buffered() == 0 {
			// answer what was asked before blocking for more
			if err := c.flush(); err != nil {
				s.log.Debug("rrdcached: write", "remote", remote(nc), "error", err)
				return
			}
			if ctx.Err() != nil {
				return
			}
			nc.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
		}
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// an oversized line: skip it, answer, go on
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			if err != nil {
				c.flush()
				return
			}
			if c.batch {
				c.batchCmd++
			}
			c.answer(errorf("Command too long: a request line may hold at most %d bytes\n", s.cfg.MaxLine))
			continue
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrDeadlineExceeded) {
				s.log.Debug("rrdcached: read", "remote", remote(nc), "error", err)
			}
			// a partial last line is not a command; finish what was read
			// (rrdcached applies the commands of an unfinished batch)
			c.flushChunk()
			c.flush()
			return
		}
		if quit := c.handle(string(line[:len(line)-1])); quit {
			c.flushChunk()
			c.flush()
			return
		}
	}
}

func remote(nc net.Conn) string {
	if a := nc.RemoteAddr(); a != nil && a.String() != "" {
		return a.String()
	}
	return "unix"
}

// handle runs one request line; it reports whether to close.
func (c *conn) handle(line string) bool {
	cmd, parsed := ParseCommand(line)
	if c.batch {
		c.batchCmd++
	}
	i, found := lookup(c.s.table, cmd.Name)
	switch {
	case !found:
		c.answer(errorf("Unknown command: %s\n", cmd.Name))
		return false
	case !c.perms.allows(cmd.Name, i):
		c.answer(errorf("Permission denied.\n"))
		return false
	}
	def := &c.s.table[i]
	if def.name != "UPDATE" {
		c.flushChunk()
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
		c.pending = append(c.pending, r)
		return
	}
	if r.wait != nil {
		c.batchWait = r.wait
		c.waitCmds = append(c.waitCmds, c.batchCmd)
	}
	if r.err {
		c.batchErrs = append(c.batchErrs, batchErr{c.batchCmd, r.msg})
	}
}

func (c *conn) startBatch() {
	c.batch, c.batchCmd, c.batchErrs, c.batchWait, c.waitCmds = true, 0, nil, nil, nil
}

// endBatch answers a BATCH: "N errors" and one line per failed command,
// once every update of the batch is durable.
func (c *conn) endBatch() {
	c.flushChunk()
	// errors of chunks come when the chunk is applied: order them
	sort.SliceStable(c.batchErrs, func(a, b int) bool { return c.batchErrs[a].n < c.batchErrs[b].n })
	if c.batchWait != nil {
		if err := c.batchWait(); err != nil {
			msg := fmt.Sprintf("RRD Error: not durable: %v\n", err)
			failed := map[int]bool{}
			for _, e := range c.batchErrs {
				failed[e.n] = true
			}
			for _, n := range c.waitCmds {
				if !failed[n] {
					c.batchErrs = append(c.batchErrs, batchErr{n, msg})
				}
			}
			sort.SliceStable(c.batchErrs, func(a, b int) bool { return c.batchErrs[a].n < c.batchErrs[b].n })
		}
	}
	var body bytes.Buffer
	for _, e := range c.batchErrs {
		body.WriteString(strconv.Itoa(e.n))
		body.WriteByte(' ')
		body.WriteString(e.msg)
	}
	c.batch, c.batchErrs, c.batchWait, c.waitCmds = false, nil, nil, nil
	c.pending = append(c.pending, ok("errors\n", body.Bytes()))
}

// flush waits until the updates of the queued answers are durable, then
// writes the answers.
func (c *conn) flush() error {
	if len(c.pending) == 0 {
		return nil
	}
	for _, r := range c.pending {
		if r.wait != nil {
			if err := r.wait(); err != nil {
				r = errorf("RRD Error: not durable: %v\n", err)
			}
		}
		c.write(r)
	}
	clear(c.pending)
	c.pending = c.pending[:0]
	c.nc.SetWriteDeadline(time.Now().Add(time.Minute))
	return c.w.Flush()
}

func (c *conn) write(r reply) {
	switch {
	case r.err:
		c.w.WriteString("-1 ")
	case r.bin:
	default:
		c.w.WriteString(strconv.Itoa(bytes.Count(r.body, []byte{'\n'})))
		c.w.WriteByte(' ')
	}
	c.w.WriteString(r.msg)
	if !r.err {
		c.w.Write(r.body)
	}
}
