package push

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"

	"rrdash/ingest/listen"
)

// ListenPickle listens on addr for carbon's pickle protocol (what
// carbon-relay, carbon-aggregator and carbon-client send to carbon-cache's
// port 2004): frames of a 4-byte big-endian length and a pickle of
// [(path, (timestamp, value)), …], decoded by a safe unpickler (pickle.go).
// Points follow the plaintext listener's rules (GraphiteListener): a
// frame's points are durable before the next frame is read, a client that
// half-closes and reads EOF knows every valid point is stored, and bad
// datapoints are counted and logged. A frame that does not decode, or is
// longer than maxFrame (default MaxPickleFrame), ends the connection with
// a reset. Stats count frames as Lines.
func ListenPickle(addr string, sink PointWriter, cfg GraphiteConfig, maxFrame int) (*GraphiteListener, error) {
	if maxFrame < 0 {
		return nil, fmt.Errorf("pickle: negative frame limit %d", maxFrame)
	}
	if maxFrame == 0 {
		maxFrame = MaxPickleFrame
	}
	if err := cfg.Horizon.Validate(); err != nil {
		return nil, fmt.Errorf("pickle: %w", err)
	}
	if cfg.MaxConns < 0 || cfg.IdleTimeout < 0 || cfg.BatchSize < 0 {
		return nil, fmt.Errorf("pickle: negative limit in %+v", cfg)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 10000
	}
	ln, err := listen.Listen(addr, listen.Config{Name: "pickle", MaxConns: cfg.MaxConns, IdleTimeout: cfg.IdleTimeout, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	return &GraphiteListener{ln: ln, sink: sink, log: cfg.Logger, hz: cfg.Horizon, BatchSize: cfg.BatchSize, MaxFrame: maxFrame,
		budget: make(chan struct{}, graphiteBudget)}, nil
}

// servePickleConn reads frames until EOF; true means every point read is
// durable and the client's EOF came at a frame boundary.
func (g *GraphiteListener) servePickleConn(ctx context.Context, c net.Conn) bool {
	remote := c.RemoteAddr().String()
	wctx := context.WithoutCancel(ctx)
	r := bufio.NewReaderSize(c, 64<<10)
	var batch []Point
	var frames, bad int64
	var buf []byte
	flush := func() bool {
		if len(batch) == 0 {
			return true
		}
		res, err := g.sink.Write(wctx, batch)
		batch = batch[:0]
		g.late.Add(int64(res.Late))
		g.refused.Add(int64(res.Refused))
		if err != nil {
			g.log.Error("pickle: write failed; resetting the connection", "remote", remote, "err", err)
			return false
		}
		if res.Late > 0 || res.Refused > 0 {
			g.log.Warn("pickle: points not stored", "remote", remote, "late", res.Late, "refused", res.Refused, "first_refusal", res.FirstRefusal)
		}
		return true
	}
	for {
		var hdr [4]byte
		_, err := io.ReadFull(r, hdr[:])
		if err != nil {
			eof := errors.Is(err, io.EOF) // at a frame boundary
			switch {
			case eof:
			case isTimeout(err) && ctx.Err() == nil:
				g.log.Info("pickle: idle connection reset", "remote", remote, "frames", frames)
			case !errors.Is(err, net.ErrClosed) && !isTimeout(err):
				g.log.Warn("pickle: read", "remote", remote, "frame", frames+1, "err", err)
			}
			ok := flush()
			if bad > maxLoggedBadLines {
				g.log.Warn("pickle: bad datapoints on the connection", "remote", remote, "bad", bad)
			}
			return ok && eof
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if int64(n) > int64(g.MaxFrame) {
			g.log.Warn("pickle: frame too long; resetting the connection", "remote", remote, "frame", frames+1, "bytes", n, "max", g.MaxFrame)
			flush()
			return false
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			g.log.Warn("pickle: frame cut short; resetting the connection", "remote", remote, "frame", frames+1, "err", err)
			flush()
			return false
		}
		frames++
		g.lines.Add(1)
		pts, badPts, err := PicklePoints(buf)
		if err != nil {
			// the stream may still be in step, but a frame that is not
			// carbon's is not to be guessed at
			g.bad.Add(1)
			g.log.Warn("pickle: frame does not decode; resetting the connection", "remote", remote, "frame", frames, "err", err)
			flush()
			return false
		}
		for _, e := range badPts {
			bad++
			g.bad.Add(1)
			if bad <= maxLoggedBadLines {
				g.log.Warn("pickle: bad datapoint", "remote", remote, "frame", frames, "err", e)
			}
		}
		for _, p := range pts {
			if herr := g.hz.Check(p.Sec, p.Usec); herr != nil {
				g.future.Add(1)
				bad++
				g.bad.Add(1)
				if bad <= maxLoggedBadLines {
					g.log.Warn("pickle: bad datapoint", "remote", remote, "frame", frames, "series", p.Series, "err", herr)
				}
				continue
			}
			batch = append(batch, p)
			g.points.Add(1)
		}
		if len(batch) >= g.BatchSize || r.Buffered() == 0 {
			if !flush() {
				return false
			}
		}
	}
}
