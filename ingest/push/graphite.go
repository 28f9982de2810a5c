package push

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"rrdash/store"
)

// PointWriter takes points and returns once they are durable; *Writer is one.
type PointWriter interface {
	Write(ctx context.Context, pts []Point) (WriteResult, error)
}

var _ PointWriter = (*Writer)(nil)

// ParseGraphiteLine parses one plaintext-protocol line
// `name value timestamp` (fields separated by spaces or tabs; timestamp in
// epoch seconds, a fraction allowed; -1 means now). Tags in the name
// (`a.b;k=v`) are sorted by key.
func ParseGraphiteLine(line []byte, now time.Time) (Point, error) {
	var p Point
	f := bytes.Fields(line)
	if len(f) != 3 {
		return p, fmt.Errorf("want `name value timestamp`, got %d fields", len(f))
	}
	name, err := seriesWithSortedTags(string(f[0]))
	if err != nil {
		return p, err
	}
	if err := store.ValidSeriesName(name); err != nil {
		return p, err
	}
	if !floatSyntax(f[1]) {
		return p, fmt.Errorf("value %q is not a decimal number", f[1])
	}
	if _, err := strconv.ParseFloat(string(f[1]), 64); err != nil {
		return p, fmt.Errorf("value %q is out of range", f[1])
	}
	if string(f[2]) == "-1" {
		p.Sec, p.Usec = now.Unix(), int64(now.Nanosecond()/1000)
	} else if p.Sec, p.Usec, err = parseEpoch(string(f[2])); err != nil {
		return p, err
	}
	p.Series, p.Value = name, string(f[1])
	return p, nil
}

// GraphiteStats counts what a Graphite listener did.
type GraphiteStats struct {
	Conns, ConnsDone, Lines, Points, Bad, Late, Refused int64
}

// GraphiteListener accepts the Graphite plaintext protocol on TCP and
// writes the points through a PointWriter. Bad lines are counted and
// logged (the first few per connection): the protocol has no replies.
type GraphiteListener struct {
	ln   net.Listener
	sink PointWriter
	log  *slog.Logger

	// MaxLine is the longest line accepted (default 64 KiB); BatchSize
	// the most points written at once (default 10000).
	MaxLine, BatchSize int

	conns, connsDone, lines, points, bad, late, refused atomic.Int64
}

// ListenGraphite listens on addr (e.g. ":2003", or "127.0.0.1:0" in tests).
func ListenGraphite(addr string, sink PointWriter, log *slog.Logger) (*GraphiteListener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("graphite: listen %s: %w", addr, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &GraphiteListener{ln: ln, sink: sink, log: log, MaxLine: 64 << 10, BatchSize: 10000}, nil
}

// Addr is the address listened on.
func (g *GraphiteListener) Addr() net.Addr { return g.ln.Addr() }

// Stats returns the counters.
func (g *GraphiteListener) Stats() GraphiteStats {
	return GraphiteStats{Conns: g.conns.Load(), ConnsDone: g.connsDone.Load(), Lines: g.lines.Load(), Points: g.points.Load(),
		Bad: g.bad.Load(), Late: g.late.Load(), Refused: g.refused.Load()}
}

// Serve accepts connections until ctx ends, then closes the listener,
// interrupts reads, writes what was read and returns.
func (g *GraphiteListener) Serve(ctx context.Context) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	open := map[net.Conn]struct{}{}
	stop := context.AfterFunc(ctx, func() {
		g.ln.Close()
		mu.Lock()
		for c := range open {
			c.SetReadDeadline(time.Now()) // ends the read loop; what was read is still written
		}
		mu.Unlock()
	})
	defer stop()
	var err error
	for {
		c, aerr := g.ln.Accept()
		if aerr != nil {
			if ctx.Err() == nil {
				err = fmt.Errorf("graphite: accept: %w", aerr)
			}
			g.ln.Close()
			break
		}
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			c.Close()
			continue
		}
		open[c] = struct{}{}
		mu.Unlock()
		g.conns.Add(1)
		wg.Go(func() {
			defer func() {
				mu.Lock()
				delete(open, c)
				mu.Unlock()
				c.Close()
				g.connsDone.Add(1)
			}()
			g.serveConn(ctx, c)
		})
	}
	wg.Wait()
	return err
}

const maxLoggedBadLines = 10

func (g *GraphiteListener) serveConn(ctx context.Context, c net.Conn) {
	remote := c.RemoteAddr().String()
	// Writes must finish even while shutting down: the lines were read.
	wctx := context.WithoutCancel(ctx)
	r := bufio.NewReaderSize(c, max(g.MaxLine+2, 4096))
	batch := make([]Point, 0, g.BatchSize)
	var num, bad int64
	flush := func() bool {
		if len(batch) == 0 {
			return true
		}
		res, err := g.sink.Write(wctx, batch)
		batch = batch[:0]
		g.late.Add(int64(res.Late))
		g.refused.Add(int64(res.Refused))
		if err != nil {
			g.log.Error("graphite: write failed; closing the connection", "remote", remote, "err", err)
			return false
		}
		if res.Late > 0 || res.Refused > 0 {
			g.log.Warn("graphite: points not stored", "remote", remote, "late", res.Late, "refused", res.Refused, "first_refusal", res.FirstRefusal)
		}
		return true
	}
	for {
		line, err := readLine(r, g.MaxLine)
		// A line cut by a read error (shutdown, reset) is not parsed: only
		// a complete line, or the last one before EOF, is.
		if err == nil || errors.Is(err, io.EOF) && len(line) > 0 {
			num++
			g.lines.Add(1)
			if len(bytes.TrimSpace(line)) > 0 {
				p, perr := ParseGraphiteLine(line, time.Now())
				if perr != nil {
					bad++
					g.bad.Add(1)
					if bad <= maxLoggedBadLines {
						g.log.Warn("graphite: bad line", "remote", remote, "line", num, "err", perr)
					}
				} else {
					batch = append(batch, p)
					g.points.Add(1)
				}
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isTimeout(err) {
				g.log.Warn("graphite: read", "remote", remote, "line", num+1, "err", err)
			}
			break
		}
		// Write when the batch is full or the sender paused (nothing buffered).
		if len(batch) >= g.BatchSize || r.Buffered() == 0 && len(batch) > 0 {
			if !flush() {
				return
			}
		}
	}
	flush()
	if bad > maxLoggedBadLines {
		g.log.Warn("graphite: bad lines on the connection", "remote", remote, "bad", bad)
	}
}

var errLineTooLong = errors.New("line too long")

// readLine returns a line without its "\n" (or "\r\n"); a line longer than
// max is an error that ends the connection.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) || len(line) > max {
		return nil, fmt.Errorf("%w (more than %d bytes)", errLineTooLong, min(max, r.Size()))
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	return line, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
