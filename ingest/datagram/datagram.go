// Package datagram is the UDP receive loop the UDP ingest listeners
// (statsd, collectd) share: a socket with a large receive buffer, the
// kernel's count of datagrams it dropped for want of buffer room, and the
// listener's state for health checks.
//
// UDP has no acknowledgement: a datagram the kernel drops because the
// socket's receive buffer is full (the reader fell behind) is lost without
// a trace on the sender's side. On Linux the socket asks for the kernel's
// drop counter (SO_RXQ_OVFL), so those losses are at least counted
// (Stats.KernelDrops) and reported in /-/metrics.
package datagram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"rrdash/ingest/listen"
)

// DefaultReadBuffer is the socket receive buffer asked for (the kernel
// caps it at net.core.rmem_max).
const DefaultReadBuffer = 8 << 20

// MaxDatagram is the largest UDP payload.
const MaxDatagram = 65535

// Config configures a Conn.
type Config struct {
	Name       string // names the listener in logs and health ("statsd-udp")
	ReadBuffer int    // socket receive buffer in bytes (default DefaultReadBuffer)
	Logger     *slog.Logger
}

// Stats counts what a Conn received.
type Stats struct {
	Packets, Bytes int64
	// KernelDrops are datagrams the kernel dropped because the receive
	// buffer was full (Linux; 0 elsewhere).
	KernelDrops int64
}

// Conn is a UDP socket being read.
type Conn struct {
	pc   *net.UDPConn
	cfg  Config
	log  *slog.Logger
	ovfl bool // the kernel reports drops

	packets, bytes, drops atomic.Int64

	mu    sync.Mutex
	state listen.State
	since time.Time
	err   error
}

// Listen opens a UDP socket on addr ("127.0.0.1:8125").
func Listen(addr string, cfg Config) (*Conn, error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listen udp %s: %w", cfg.Name, addr, err)
	}
	if cfg.ReadBuffer <= 0 {
		cfg.ReadBuffer = DefaultReadBuffer
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Conn{pc: pc.(*net.UDPConn), cfg: cfg, log: cfg.Logger.With("listener", cfg.Name), state: listen.Running, since: time.Now()}
	if err := c.pc.SetReadBuffer(cfg.ReadBuffer); err != nil {
		c.log.Warn("cannot set the UDP receive buffer", "bytes", cfg.ReadBuffer, "error", err)
	}
	c.ovfl = enableDropCount(c.pc)
	return c, nil
}

// Addr is the address listened on.
func (c *Conn) Addr() net.Addr { return c.pc.LocalAddr() }

// Stats returns the counters.
func (c *Conn) Stats() Stats {
	return Stats{Packets: c.packets.Load(), Bytes: c.bytes.Load(), KernelDrops: c.drops.Load()}
}

// Status is the listener's state for health checks.
func (c *Conn) Status() listen.Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := listen.Status{Name: c.cfg.Name, Addr: c.pc.LocalAddr().String(), State: c.state, Since: c.since}
	if c.err != nil {
		s.Error = c.err.Error()
	}
	return s
}

func (c *Conn) setState(s listen.State, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == s {
		return
	}
	c.state, c.since, c.err = s, time.Now(), err
}

// Serve reads datagrams and calls handle with each (the slice is reused
// after handle returns) until ctx ends; it then closes the socket and
// returns nil. Read errors other than the close are retried with a
// backoff of 5 ms doubling to 1 s (state "retrying"); Serve never gives up
// on its own, because a UDP socket has no peer that could go away.
func (c *Conn) Serve(ctx context.Context, handle func(pkt []byte, from netip.AddrPort)) error {
	stop := context.AfterFunc(ctx, func() {
		c.setState(listen.Closed, nil)
		c.pc.Close()
	})
	defer stop()
	buf := make([]byte, MaxDatagram)
	oob := make([]byte, oobSize)
	var delay time.Duration
	var lastDropLog time.Time
	for {
		n, oobn, _, from, err := c.pc.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			if delay == 0 {
				delay = 5 * time.Millisecond
				c.log.Warn("UDP read failed; retrying", "error", err)
			} else {
				delay = min(2*delay, time.Second)
			}
			c.setState(listen.Retrying, err)
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		if delay != 0 {
			delay = 0
			c.setState(listen.Running, nil)
		}
		if c.ovfl && oobn > 0 {
			if d, ok := dropCount(oob[:oobn]); ok {
				if old := c.drops.Swap(d); d > old && time.Since(lastDropLog) >= time.Second {
					lastDropLog = time.Now()
					c.log.Warn("the kernel dropped datagrams: the receive buffer was full (the reader fell behind); they are lost",
						"dropped_since_start", d, "buffer_bytes", c.cfg.ReadBuffer)
				}
			}
		}
		c.packets.Add(1)
		c.bytes.Add(int64(n))
		handle(buf[:n], from)
	}
}

// Close closes the socket (Serve returns).
func (c *Conn) Close() error {
	c.setState(listen.Closed, nil)
	return c.pc.Close()
}
