package push

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"rrdash/ingest/datagram"
	"rrdash/ingest/horizon"
	"rrdash/ingest/listen"
)

// GraphiteUDP receives the Graphite plaintext protocol over UDP (carbon's
// ENABLE_UDP_LISTENER): each datagram holds whole lines. UDP has no
// acknowledgement, so points are queued and written by one writer
// goroutine; when the writer falls MaxPending points behind, new points
// are dropped and counted (Overload), as the kernel drops datagrams when
// the socket buffer is full (KernelDrops).
type GraphiteUDP struct {
	udp  *datagram.Conn
	sink PointWriter
	log  *slog.Logger
	hz   horizon.Horizon
	max  int

	mu      sync.Mutex
	pending []Point
	wake    chan struct{}

	packets, lines, points, bad, future, late, refused, overload, writeErrs atomic.Int64
	logged, logSec                                                          atomic.Int64
}

// GraphiteUDPStats counts what a GraphiteUDP listener did.
type GraphiteUDPStats struct {
	Packets, Lines, Points, Bad, Future, Late, Refused, Overload, WriteErrors, KernelDrops int64
}

// DefaultMaxPending bounds the points waiting for the writer.
const DefaultMaxPending = 1 << 20

// ListenGraphiteUDP listens on addr (UDP).
func ListenGraphiteUDP(addr string, sink PointWriter, hz horizon.Horizon, maxPending int, log *slog.Logger) (*GraphiteUDP, error) {
	if err := hz.Validate(); err != nil {
		return nil, fmt.Errorf("graphite udp: %w", err)
	}
	if maxPending < 0 {
		return nil, fmt.Errorf("graphite udp: negative pending limit %d", maxPending)
	}
	if maxPending == 0 {
		maxPending = DefaultMaxPending
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c, err := datagram.Listen(addr, datagram.Config{Name: "graphite-udp", Logger: log})
	if err != nil {
		return nil, err
	}
	return &GraphiteUDP{udp: c, sink: sink, log: log, hz: hz, max: maxPending, wake: make(chan struct{}, 1)}, nil
}

// Addr is the address listened on.
func (g *GraphiteUDP) Addr() net.Addr { return g.udp.Addr() }

// Status is the listener's state for health checks.
func (g *GraphiteUDP) Status() listen.Status { return g.udp.Status() }

// Stats returns the counters.
func (g *GraphiteUDP) Stats() GraphiteUDPStats {
	return GraphiteUDPStats{Packets: g.packets.Load(), Lines: g.lines.Load(), Points: g.points.Load(), Bad: g.bad.Load(),
		Future: g.future.Load(), Late: g.late.Load(), Refused: g.refused.Load(), Overload: g.overload.Load(),
		WriteErrors: g.writeErrs.Load(), KernelDrops: g.udp.Stats().KernelDrops}
}

// Serve reads datagrams until ctx ends, then writes what was read.
func (g *GraphiteUDP) Serve(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		wctx := context.WithoutCancel(ctx)
		for {
			select {
			case <-g.wake:
			case <-ctx.Done():
				g.writePending(wctx)
				return
			}
			g.writePending(wctx)
		}
	}()
	err := g.udp.Serve(ctx, g.HandlePacket)
	<-done
	return err
}

func (g *GraphiteUDP) writePending(ctx context.Context) {
	g.mu.Lock()
	batch := g.pending
	g.pending = nil
	g.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	res, err := g.sink.Write(ctx, batch)
	g.late.Add(int64(res.Late))
	g.refused.Add(int64(res.Refused))
	if err != nil {
		g.writeErrs.Add(int64(len(batch)))
		g.log.Error("graphite udp: write failed; the points are lost", "points", len(batch), "error", err)
		return
	}
	g.points.Add(int64(res.Accepted))
	if res.Late > 0 || res.Refused > 0 {
		g.log.Warn("graphite udp: points not stored", "late", res.Late, "refused", res.Refused, "first_refusal", res.FirstRefusal)
	}
}

// HandlePacket parses one datagram's lines and queues their points (one
// UDP reader calls it).
func (g *GraphiteUDP) HandlePacket(pkt []byte, from netip.AddrPort) {
	g.packets.Add(1)
	now := time.Now()
	var pts []Point
	for len(pkt) > 0 {
		line := pkt
		if i := bytes.IndexByte(pkt, '\n'); i >= 0 {
			line, pkt = pkt[:i], pkt[i+1:]
		} else {
			pkt = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		g.lines.Add(1)
		p, err := ParseGraphiteLine(line, now)
		if err == nil {
			if err = g.hz.Check(p.Sec, p.Usec); err != nil {
				g.future.Add(1)
			}
		}
		if err != nil {
			g.bad.Add(1)
			g.logBad(from, "bad line", "err", err)
			continue
		}
		pts = append(pts, p)
	}
	if len(pts) == 0 {
		return
	}
	g.mu.Lock()
	if len(g.pending)+len(pts) > g.max {
		g.mu.Unlock()
		g.overload.Add(int64(len(pts)))
		g.logBad(from, "writer behind: points dropped", "points", len(pts))
		return
	}
	g.pending = append(g.pending, pts...)
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

func (g *GraphiteUDP) logBad(from netip.AddrPort, msg string, args ...any) {
	now := time.Now().Unix()
	if g.logSec.Swap(now) != now {
		g.logged.Store(0)
	}
	if g.logged.Add(1) <= 10 {
		g.log.Warn("graphite udp: "+msg, append([]any{"remote", from.String()}, args...)...)
	}
}
