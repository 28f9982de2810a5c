// Package listen is the accept loop every rrdash TCP listener shares: it
// survives temporary accept errors (a full file-descriptor table above
// all), bounds the open connections, gives each connection an idle read
// timeout, and reports its state for health checks.
//
// Accept errors: EMFILE, ENFILE, ENOBUFS, ENOMEM, ECONNABORTED, EINTR,
// EAGAIN, EPROTO, EPERM and timeouts are retried with a backoff of 5 ms
// doubling to 1 s, as net/http does; the listener is then "retrying" until
// an accept succeeds, or (TCP and UNIX listeners) until an accept after a
// retry waits 100 ms without failing. Any other error stops it for good
// ("stopped", with the error), which health checks report.
//
// Connection limit: at MaxConns open connections Accept waits for one to
// close before accepting the next; meanwhile new connections wait in the
// kernel's backlog. They are never accepted and closed at once, because a
// clean close means "everything you sent is stored" to a Graphite client.
package listen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults.
const (
	DefaultMaxConns    = 1024
	DefaultIdleTimeout = 5 * time.Minute
)

// Config configures a Listener.
type Config struct {
	// Name names the listener in logs and health ("graphite").
	Name string
	// MaxConns bounds open connections (default DefaultMaxConns).
	MaxConns int
	// IdleTimeout closes a connection on which nothing arrived for this
	// long (default DefaultIdleTimeout); negative turns it off (net/http
	// keeps its own timeouts).
	IdleTimeout time.Duration
	Logger      *slog.Logger
}

// State is what a listener is doing.
type State string

// States.
const (
	Running  State = "running"  // accepting
	Retrying State = "retrying" // accept failed with a temporary error; retrying with backoff
	Stopped  State = "stopped"  // accept failed for good; no new connections
	Closed   State = "closed"   // closed on purpose (shutdown)
)

// Status is a listener's state for health checks and metrics.
type Status struct {
	Name  string    `json:"name"`
	Addr  string    `json:"addr"`
	State State     `json:"state"`
	Since time.Time `json:"since"` // when State began
	Error string    `json:"error,omitempty"`
	// Conns are open now; MaxConns the limit. AcceptErrors counts failed
	// accepts; AtLimit is true while Accept waits for a free slot.
	Conns        int   `json:"conns"`
	MaxConns     int   `json:"max_conns"`
	AtLimit      bool  `json:"at_limit,omitempty"`
	AcceptErrors int64 `json:"accept_errors"`
}

// Listener wraps a net.Listener; it is itself a net.Listener, so
// http.Server can serve on it.
type Listener struct {
	ln   net.Listener
	cfg  Config
	log  *slog.Logger
	sem  chan struct{}
	done chan struct{} // closed by Close

	closeOnce    sync.Once
	acceptErrors atomic.Int64
	atLimit      atomic.Bool

	mu    sync.Mutex
	state State
	since time.Time
	err   error
	open  map[*conn]struct{}
}

// Listen listens on TCP addr.
func Listen(addr string, cfg Config) (*Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listen %s: %w", cfg.Name, addr, err)
	}
	return New(ln, cfg), nil
}

// New wraps ln.
func New(ln net.Listener, cfg Config) *Listener {
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Listener{ln: ln, cfg: cfg, log: cfg.Logger.With("listener", cfg.Name), sem: make(chan struct{}, cfg.MaxConns),
		done: make(chan struct{}), state: Running, since: time.Now(), open: map[*conn]struct{}{}}
}

// Addr is the address listened on.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Status returns the listener's state.
func (l *Listener) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := Status{Name: l.cfg.Name, Addr: l.ln.Addr().String(), State: l.state, Since: l.since, Conns: len(l.open),
		MaxConns: l.cfg.MaxConns, AtLimit: l.atLimit.Load(), AcceptErrors: l.acceptErrors.Load()}
	if l.err != nil {
		s.Error = l.err.Error()
	}
	return s
}

func (l *Listener) setState(s State, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state == Closed || l.state == s && s != Stopped {
		return
	}
	l.state, l.since, l.err = s, time.Now(), err
}

// Close stops accepting. Open connections stay open (see Serve).
func (l *Listener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.done)
		l.setState(Closed, nil)
		err = l.ln.Close()
	})
	return err
}

// Accept waits for a free connection slot, then accepts, retrying
// temporary errors with backoff. It returns an error only once the
// listener is closed (net.ErrClosed) or stopped by a permanent error.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	default:
		l.atLimit.Store(true)
		select {
		case l.sem <- struct{}{}:
			l.atLimit.Store(false)
		case <-l.done:
			l.atLimit.Store(false)
			return nil, net.ErrClosed
		}
	}
	var delay time.Duration
	probing := false // this accept has a deadline (after a retry)
	for {
		c, err := l.ln.Accept()
		if probing {
			probing = false
			l.ln.(deadliner).SetDeadline(time.Time{})
			if errors.Is(err, os.ErrDeadlineExceeded) {
				// the accept waited rather than failed: the error is
				// gone, though no connection came (Linux fails accept
				// with EMFILE even when none waits, so a listener that
				// hit it idle never got a connection to prove it)
				l.setState(Running, nil)
				delay = 0
				continue
			}
		}
		if err == nil {
			l.setState(Running, nil)
			return l.track(c), nil
		}
		select {
		case <-l.done:
			<-l.sem
			return nil, net.ErrClosed
		default:
		}
		l.acceptErrors.Add(1)
		if !Temporary(err) {
			<-l.sem
			l.setState(Stopped, err)
			l.log.Error("accept failed for good; the listener is stopped", "addr", l.ln.Addr().String(), "error", err)
			return nil, fmt.Errorf("%s: accept: %w", l.cfg.Name, err)
		}
		if delay == 0 {
			delay = 5 * time.Millisecond
			l.setState(Retrying, err)
			l.log.Warn("accept failed; retrying with backoff", "addr", l.ln.Addr().String(), "error", err)
		} else {
			delay = min(2*delay, time.Second)
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-l.done:
			t.Stop()
			<-l.sem
			return nil, net.ErrClosed
		}
		if dl, ok := l.ln.(deadliner); ok && dl.SetDeadline(time.Now().Add(probeWait)) == nil {
			probing = true
		}
	}
}

// deadliner is a listener whose Accept can time out (TCP and UNIX).
type deadliner interface {
	SetDeadline(time.Time) error
}

// probeWait is how long the accept after a retry may wait before the
// listener counts as running again without a connection.
const probeWait = 100 * time.Millisecond

// Temporary tells whether an accept error is worth retrying.
func Temporary(err error) bool {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED,
			syscall.EINTR, syscall.EAGAIN, syscall.EPROTO, syscall.EPERM, syscall.ECONNRESET:
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Serve accepts connections and runs handle for each in its own goroutine
// until ctx ends or the listener stops. When ctx ends it closes the
// listener, interrupts every connection's pending read (handlers see a
// timeout error and should finish what they read) and waits for the
// handlers. A connection is closed when its handler returns, unless the
// handler closed it. The error is nil after ctx ended, else the accept error.
func (l *Listener) Serve(ctx context.Context, handle func(ctx context.Context, c net.Conn)) error {
	var wg sync.WaitGroup
	stop := context.AfterFunc(ctx, func() {
		l.Close()
		l.interrupt()
	})
	defer stop()
	var err error
	for {
		c, aerr := l.Accept()
		if aerr != nil {
			if ctx.Err() == nil && !errors.Is(aerr, net.ErrClosed) {
				err = aerr
			}
			break
		}
		wg.Go(func() {
			defer c.Close()
			handle(ctx, c)
		})
	}
	wg.Wait()
	return err
}

// interrupt ends the pending and future reads of every open connection.
func (l *Listener) interrupt() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.open {
		c.SetReadDeadline(aLongTimeAgo)
	}
}

var aLongTimeAgo = time.Unix(1, 0)

func (l *Listener) track(c net.Conn) *conn {
	wc := &conn{Conn: c, l: l}
	l.mu.Lock()
	l.open[wc] = struct{}{}
	l.mu.Unlock()
	return wc
}

// conn releases its slot on Close and renews the idle deadline on Read.
type conn struct {
	net.Conn
	l    *Listener
	once sync.Once
}

func (c *conn) Read(p []byte) (int, error) {
	if c.l.cfg.IdleTimeout > 0 {
		c.Conn.SetReadDeadline(time.Now().Add(c.l.cfg.IdleTimeout))
		// Serve's interrupt may have run just before: it wins.
		select {
		case <-c.l.done:
			c.Conn.SetReadDeadline(aLongTimeAgo)
		default:
		}
	}
	return c.Conn.Read(p)
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.open, c)
		c.l.mu.Unlock()
		<-c.l.sem
	})
	return err
}

// Abort closes c with a TCP reset instead of a clean close, so that the
// peer cannot take the close for an acknowledgement (Graphite clients
// do). It works on connections from a Listener and on plain TCP ones.
func Abort(c net.Conn) error {
	setLinger(c, 0)
	return c.Close()
}

// ArmReset makes the kernel reset c (RST) if it is closed before
// CloseClean — in particular when the process dies: at exit the kernel
// closes every socket, and without it a connection whose input was all
// read ends with an orderly FIN, which a client taking a clean close for
// an acknowledgement (Graphite) would believe.
func ArmReset(c net.Conn) { setLinger(c, 0) }

// CloseClean closes c with an orderly FIN, undoing ArmReset.
func CloseClean(c net.Conn) error {
	setLinger(c, -1)
	return c.Close()
}

func setLinger(c net.Conn, sec int) {
	inner := c
	if wc, ok := c.(*conn); ok {
		inner = wc.Conn
	}
	if tc, ok := inner.(*net.TCPConn); ok {
		tc.SetLinger(sec)
	}
}
