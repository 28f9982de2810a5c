package statsd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"rrdash/ingest/datagram"
	"rrdash/ingest/listen"
	"rrdash/ingest/push"
)

// Config configures a Server; UDPAddr or TCPAddr (or both) must be set.
type Config struct {
	UDPAddr string // e.g. "127.0.0.1:8125"; empty: no UDP
	TCPAddr string // e.g. "127.0.0.1:8125"; empty: no TCP
	Agg     AggConfig
	// MaxConns and IdleTimeout limit the TCP listener (package listen's
	// defaults when 0); MaxLine is the longest TCP line (default 64 KiB).
	MaxConns    int
	IdleTimeout time.Duration
	MaxLine     int
	// ReadBuffer is the UDP socket's receive buffer (default
	// datagram.DefaultReadBuffer).
	ReadBuffer int
	Logger     *slog.Logger
}

// Stats counts what a Server did. Metrics counts values (a line may hold
// several); Bad the bad ones (each also logged, the first few per flush).
type Stats struct {
	Packets, Lines, Metrics, Bad int64
	Conns                        int64 // TCP connections accepted
	Flushes, Points              int64 // points written by the flushes
	Late, Refused, WriteErrors   int64 // points the writer did not store
	NonFinite                    int64 // values not sent: overflowed to ±Inf
	KernelDrops                  int64 // UDP datagrams the kernel dropped (buffer full)
}

// Server receives statsd lines on UDP and TCP, aggregates them and writes
// the aggregates through a PointWriter once per step.
type Server struct {
	w    push.PointWriter
	step time.Duration
	agg  *Aggregator
	log  *slog.Logger
	cfg  Config

	udp *datagram.Conn
	tcp *listen.Listener

	udpParser lineParser // used by the one UDP reader only

	flushMu   sync.Mutex
	lastFlush time.Time // end of the last flushed window, under flushMu

	lines, metrics, bad, conns, flushes, points, late, refused, writeErrs atomic.Int64
	logged                                                                atomic.Int64 // bad lines logged this flush
}

// maxLoggedBad bounds the bad lines logged per flush interval; the rest
// are counted and summed up in one line at the flush.
const maxLoggedBad = 10

// New opens the listeners. Aggregates are written through w every step
// seconds, the step of the series w creates.
func New(w push.PointWriter, step int64, cfg Config) (*Server, error) {
	if cfg.UDPAddr == "" && cfg.TCPAddr == "" {
		return nil, errors.New("statsd: no UDP or TCP address")
	}
	if step <= 0 {
		return nil, fmt.Errorf("statsd: step %d: must be positive", step)
	}
	if cfg.MaxConns < 0 || cfg.IdleTimeout < 0 || cfg.MaxLine < 0 || cfg.ReadBuffer < 0 {
		return nil, fmt.Errorf("statsd: negative limit in %+v", cfg)
	}
	if cfg.MaxLine == 0 {
		cfg.MaxLine = 64 << 10
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	agg, err := NewAggregator(cfg.Agg)
	if err != nil {
		return nil, err
	}
	s := &Server{w: w, step: time.Duration(step) * time.Second, agg: agg, log: cfg.Logger, cfg: cfg, lastFlush: time.Now()}
	if cfg.UDPAddr != "" {
		if s.udp, err = datagram.Listen(cfg.UDPAddr, datagram.Config{Name: "statsd-udp", ReadBuffer: cfg.ReadBuffer, Logger: cfg.Logger}); err != nil {
			return nil, err
		}
	}
	if cfg.TCPAddr != "" {
		if s.tcp, err = listen.Listen(cfg.TCPAddr, listen.Config{Name: "statsd-tcp", MaxConns: cfg.MaxConns, IdleTimeout: cfg.IdleTimeout, Logger: cfg.Logger}); err != nil {
			if s.udp != nil {
				s.udp.Close()
			}
			return nil, err
		}
	}
	return s, nil
}

// UDPAddr and TCPAddr are the addresses listened on (nil when off).
func (s *Server) UDPAddr() net.Addr {
	if s.udp == nil {
		return nil
	}
	return s.udp.Addr()
}

// TCPAddr is the TCP address listened on (nil when off).
func (s *Server) TCPAddr() net.Addr {
	if s.tcp == nil {
		return nil
	}
	return s.tcp.Addr()
}

// Statuses are the listeners' states for health checks.
func (s *Server) Statuses() []listen.Status {
	var out []listen.Status
	if s.udp != nil {
		out = append(out, s.udp.Status())
	}
	if s.tcp != nil {
		out = append(out, s.tcp.Status())
	}
	return out
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	st := Stats{Lines: s.lines.Load(), Metrics: s.metrics.Load(), Bad: s.bad.Load(), Conns: s.conns.Load(),
		Flushes: s.flushes.Load(), Points: s.points.Load(), Late: s.late.Load(), Refused: s.refused.Load(),
		WriteErrors: s.writeErrs.Load(), NonFinite: s.agg.NonFinite()}
	if s.udp != nil {
		u := s.udp.Stats()
		st.Packets, st.KernelDrops = u.Packets, u.KernelDrops
	}
	return st
}

// Run serves UDP and TCP and flushes at every step boundary (Unix time a
// multiple of the step) until ctx ends; it then stops the listeners and
// flushes the partial interval at once, so a clean shutdown loses nothing
// received. The error is a TCP listener's permanent accept error.
func (s *Server) Run(ctx context.Context) error {
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(lctx) }()
	for {
		next := time.Now().Truncate(s.step).Add(s.step)
		t := time.NewTimer(time.Until(next))
		select {
		case <-t.C:
			s.flush(context.WithoutCancel(ctx), next, false)
		case <-ctx.Done():
			t.Stop()
			stop()
			err := <-errc
			s.flush(context.WithoutCancel(ctx), time.Now(), false)
			return err
		}
	}
}

// Serve receives on UDP and TCP without flushing (Run flushes; tests call
// Flush) until ctx ends and the listeners are closed.
func (s *Server) Serve(ctx context.Context) error {
	var wg sync.WaitGroup
	var tcpErr error
	if s.udp != nil {
		wg.Go(func() { s.udp.Serve(ctx, s.handlePacket) })
	}
	if s.tcp != nil {
		wg.Go(func() {
			if tcpErr = s.tcp.Serve(ctx, s.serveConn); tcpErr != nil {
				s.log.Error("statsd: TCP listener stopped", "error", tcpErr)
			}
		})
	}
	wg.Wait()
	return tcpErr
}

// Flush ends the interval now, taken as one whole step long (Run's own
// flushes measure the first and last, partial, intervals), and writes its
// points; it returns once they are durable.
func (s *Server) Flush(ctx context.Context, now time.Time) error {
	return s.flush(ctx, now, true)
}

func (s *Server) flush(ctx context.Context, now time.Time, wholeStep bool) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	window := s.step
	if !wholeStep {
		// A partial interval (the first after start, the last at shutdown)
		// is divided by its own length, at least a second.
		window = min(max(now.Sub(s.lastFlush).Round(time.Second), time.Second), s.step)
	}
	s.lastFlush = now
	pts := s.agg.Flush(now, window)
	s.flushes.Add(1)
	if n := s.logged.Swap(0); n > maxLoggedBad {
		s.log.Warn("statsd: more bad lines than logged", "logged", maxLoggedBad, "total_in_interval", n)
	}
	if len(pts) == 0 {
		return nil
	}
	res, err := s.w.Write(ctx, pts)
	s.late.Add(int64(res.Late))
	s.refused.Add(int64(res.Refused))
	if err != nil {
		s.writeErrs.Add(int64(len(pts)))
		s.log.Error("statsd: writing the flushed points failed; they are lost", "points", len(pts), "time", now.Unix(), "error", err)
		return fmt.Errorf("statsd: flush at %d: %w", now.Unix(), err)
	}
	s.points.Add(int64(res.Accepted))
	if res.Late > 0 || res.Refused > 0 {
		s.log.Warn("statsd: flushed points not stored", "time", now.Unix(), "late", res.Late, "refused", res.Refused, "first_refusal", res.FirstRefusal)
	}
	return nil
}

// handlePacket parses a datagram of lines and aggregates them.
func (s *Server) handlePacket(pkt []byte, from netip.AddrPort) {
	s.handleLines(&s.udpParser, pkt, "udp", from.String())
}

// handleLines parses newline-separated lines; where names the source in logs.
func (s *Server) handleLines(p *lineParser, data []byte, proto, where string) {
	samples := p.samples[:0]
	num := 0
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			continue
		}
		num++
		s.lines.Add(1)
		n0 := len(samples)
		var err error
		samples, err = p.ParseLine(line, samples)
		s.metrics.Add(int64(len(samples) - n0))
		if err != nil {
			var le *LineError
			bad := int64(1)
			if errors.As(err, &le) {
				bad = int64(le.Bad)
			}
			s.metrics.Add(bad)
			s.bad.Add(bad)
			if s.logged.Add(1) <= maxLoggedBad {
				s.log.Warn("statsd: bad line", "proto", proto, "remote", where, "line_in_packet", num, "text", truncate(line, 200), "error", err)
			}
		}
	}
	if len(samples) > 0 {
		s.agg.Add(samples)
	}
	clear(samples) // drop the key strings until next time
	p.samples = samples[:0]
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// lineParser is a Parser with its reused sample slice.
type lineParser struct {
	Parser
	samples []Sample
}

// serveConn reads newline-separated lines from a TCP connection. Nothing
// is acknowledged: the lines are aggregated like UDP datagrams.
func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	s.conns.Add(1)
	remote := c.RemoteAddr().String()
	r := bufio.NewReaderSize(c, max(s.cfg.MaxLine+2, 4096))
	var p lineParser
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			s.bad.Add(1)
			s.log.Warn("statsd: line too long; closing the connection", "proto", "tcp", "remote", remote, "max", s.cfg.MaxLine)
			return
		}
		// The last line before EOF counts even without its newline; a
		// line cut by another error (reset, shutdown) does not.
		if err == nil || errors.Is(err, io.EOF) {
			s.handleLines(&p, line, "tcp", remote)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && ctx.Err() == nil {
				s.log.Info("statsd: connection ended", "remote", remote, "error", err)
			}
			return
		}
	}
}
