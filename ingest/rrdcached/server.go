package rrdcached

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"rrdash/ingest/listen"
	"rrdash/store"
	"rrdash/store/rrdfile"
)

// Store is the part of *store.DB the server uses.
type Store interface {
	ApplyAsync(ctx context.Context, b store.Batch) (store.Result, func() error, error)
	Create(name string, spec store.Spec, overwrite bool) error
	Spec(name string) (store.Spec, error)
	Info(name string) (*store.Info, error)
	Fetch(name string, req store.FetchRequest) (*store.FetchResult, error)
	LastUpdate(name string) (int64, error)
	List(pattern string) ([]string, error)
	Checkpoint(ctx context.Context) error
	Delete(names ...string) error
	Rename(old, new string) error
	// ImportRRD adopts an rrdtool file a client made under the data
	// directory (adopt.go).
	ImportRRD(b []byte, name string, overwrite bool) error
	// ExportRRD is the series as an rrdtool file (export.go).
	ExportRRD(name string) (*rrdfile.File, error)
}

var _ Store = (*store.DB)(nil)

// Config configures a Server.
type Config struct {
	// Dir is the data directory: file names of commands resolve under it.
	Dir string
	// Logger gets connection errors; nil discards.
	Logger *slog.Logger
	// MaxConns bounds the connections served at once over all listeners
	// (default 256); one more is told so and closed.
	MaxConns int
	// IdleTimeout closes a connection that sends nothing for that long
	// (default 10 minutes; rrdtool's client reconnects by itself).
	IdleTimeout time.Duration
	// MaxLine is the longest request line (default 64 KiB; rrdtool's
	// client sends at most 4096 bytes). A longer one is answered with an
	// error and skipped; the connection goes on.
	MaxLine int
	// Now is the clock (FETCH's default times, CREATE's default start);
	// nil is time.Now.
	Now func() time.Time
	// Backup writes a backup of the data directory into dest (XBACKUP)
	// and returns its report, one line each; nil refuses XBACKUP.
	Backup func(ctx context.Context, dest string) ([]string, error)
}

// Stats are the server's counters, as STATS reports them.
type Stats struct {
	UpdatesReceived int64 // UPDATE commands
	FlushesReceived int64 // FLUSH commands
	UpdatesWritten  int64 // UPDATE commands with values applied (rrdcached: file writes)
	DataSetsWritten int64 // values applied (rrdcached: values written)
	JournalBytes    int64 // bytes of UPDATE lines applied
	Conns           int64 // connections accepted
	Refused         int64 // connections refused over MaxConns
}

// Server answers rrdcached commands over a Store. It is safe for
// concurrent use; one Server may serve several listeners.
type Server struct {
	st    Store
	cfg   Config
	log   *slog.Logger
	names mapper
	table []command
	sem   chan struct{}
	// commit is the group commit of single-value updates (commit.go)
	commit *committer
	// slowOnly turns conn.fastUpdate off (the differential fuzz test
	// compares both paths)
	slowOnly bool

	mu        sync.Mutex
	keys      map[string]int32  // a number for each series named in an UPDATE since start (seriesKey)
	adoptMu   sync.Mutex        // one adoption of an rrdtool file at a time
	known     map[string]bool   // series updated since start (rrdcached's cache tree); true: suspended
	images    map[string]string // series → path of the rrdtool images written since start (export.go)
	updatesRx atomic.Int64
	flushesRx atomic.Int64
	written   atomic.Int64
	dataSets  atomic.Int64
	jbytes    atomic.Int64
	conns     atomic.Int64
	refused   atomic.Int64
}

// New checks cfg and returns a server.
func New(st Store, cfg Config) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("rrdcached: no data directory")
	}
	if cfg.MaxConns < 0 || cfg.MaxLine < 0 || cfg.IdleTimeout < 0 {
		return nil, fmt.Errorf("rrdcached: negative limit (max conns %d, max line %d, idle timeout %v)", cfg.MaxConns, cfg.MaxLine, cfg.IdleTimeout)
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = 256
	}
	if cfg.MaxLine == 0 {
		cfg.MaxLine = 64 << 10
	}
	if cfg.MaxLine < 4096 {
		return nil, fmt.Errorf("rrdcached: max line %d is below rrdtool's 4096-byte requests", cfg.MaxLine)
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMapper(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("rrdcached: data directory %s: %w", cfg.Dir, err)
	}
	s := &Server{st: st, cfg: cfg, log: cfg.Logger, names: m, table: commandTable(),
		sem: make(chan struct{}, cfg.MaxConns), known: map[string]bool{}, images: map[string]string{}}
	s.commit = &committer{st: st, srv: s, free: make(chan freeChunk, 64), groupMax: maxGroup}
	return s, nil
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{UpdatesReceived: s.updatesRx.Load(), FlushesReceived: s.flushesRx.Load(), UpdatesWritten: s.written.Load(),
		DataSetsWritten: s.dataSets.Load(), JournalBytes: s.jbytes.Load(), Conns: s.conns.Load(), Refused: s.refused.Load()}
}

// ListenUnix listens on a UNIX socket at path with the given mode (e.g.
// 0660). A socket file left by a process that died is replaced; any other
// file at path is an error.
func ListenUnix(path string, mode os.FileMode) (net.Listener, error) {
	if len(path) >= 108 {
		return nil, fmt.Errorf("rrdcached: socket path %s is %d bytes, over the system's limit of 107", path, len(path))
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("rrdcached: %s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("rrdcached: %s is in use by another server", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("rrdcached: removing stale socket: %w", err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("rrdcached: listen %s: %w", path, err)
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("rrdcached: chmod %s: %w", path, err)
	}
	return ln, nil
}

// DefaultPort is rrdcached's TCP port.
const DefaultPort = "42217"

// TCPAddr completes a listen address as rrdcached -l does (a missing port
// is 42217) and refuses an empty host: listening on every interface must
// be asked for by name (0.0.0.0 or [::]).
func TCPAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		if strings.Contains(err.Error(), "missing port") {
			host, port = strings.Trim(addr, "[]"), DefaultPort
		} else {
			return "", fmt.Errorf("rrdcached address %q: want HOST or HOST:PORT: %w", addr, err)
		}
	}
	if host == "" {
		return "", fmt.Errorf("rrdcached address %q: name the host (127.0.0.1 for this machine, 0.0.0.0 for every interface)", addr)
	}
	return net.JoinHostPort(host, port), nil
}

// Listener wraps ln for Serve: accept errors retried with backoff and
// the state reported (listen.Listener.Status), while the connection limit
// and idle timeout stay the server's own.
func (s *Server) Listener(ln net.Listener, name string) *listen.Listener {
	return listen.New(ln, listen.Config{Name: name, MaxConns: s.cfg.MaxConns + 64, IdleTimeout: -1, Logger: s.log})
}

// Serve accepts connections on l until ctx ends; each may use the
// commands perms allows. It then closes l, lets every connection finish
// the commands it has read (their answers still wait for durability),
// closes them and returns. Accept errors are retried with backoff by
// package listen (which reports the listener's state for health); the
// error returned is a permanent one, after which the listener is stopped.
// Make l with Listener: connections are timed out and refused here, with
// rrdcached-style answers.
func (s *Server) Serve(ctx context.Context, l *listen.Listener, perms Permissions) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	open := map[net.Conn]struct{}{}
	stop := context.AfterFunc(ctx, func() {
		l.Close()
		mu.Lock()
		for c := range open {
			c.SetReadDeadline(time.Now())
		}
		mu.Unlock()
	})
	defer stop()
	var err error
	for {
		nc, aerr := l.Accept()
		if aerr != nil {
			if ctx.Err() == nil && !errors.Is(aerr, net.ErrClosed) {
				err = fmt.Errorf("rrdcached: %w", aerr)
			}
			break
		}
		select {
		case s.sem <- struct{}{}:
		default:
			s.refused.Add(1)
			nc.SetWriteDeadline(time.Now().Add(time.Second))
			fmt.Fprintf(nc, "-1 Too many connections (%d): try again later\n", s.cfg.MaxConns)
			nc.Close()
			continue
		}
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			<-s.sem
			nc.Close()
			continue
		}
		open[nc] = struct{}{}
		mu.Unlock()
		s.conns.Add(1)
		wg.Go(func() {
			defer func() {
				mu.Lock()
				delete(open, nc)
				mu.Unlock()
				nc.Close()
				<-s.sem
			}()
			s.serveConn(ctx, nc, perms)
		})
	}
	wg.Wait()
	return err
}

// touch records that name was updated (rrdcached's cache tree).
func (s *Server) touch(name string) {
	s.mu.Lock()
	if _, ok := s.known[name]; !ok {
		s.known[name] = false
	}
	s.mu.Unlock()
}

// touchGrouped records that the series of ups, grouped by series, were
// updated: one lock for the whole group.
func (s *Server) touchGrouped(ups []store.Update) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := ""
	for i := range ups { // not ranging over copies: 80 bytes each
		name := ups[i].Series
		if i > 0 && name == prev {
			continue
		}
		prev = name
		if _, ok := s.known[name]; !ok {
			s.known[name] = false
		}
	}
}

// seriesKey is the number of a series for the group commit's grouping
// (store.SeriesGrouper.GroupByKey): the same for every connection, given
// once per connection and file name. Numbers are never reused: a chunk in
// flight may hold any of them.
func (s *Server) seriesKey(name string) (int32, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[name]
	if !ok {
		if len(s.keys) >= maxSeriesKeys {
			return 0, false
		}
		if s.keys == nil {
			s.keys = map[string]int32{}
		}
		k = int32(len(s.keys))
		s.keys[name] = k
	}
	return k, true
}

// maxSeriesKeys bounds the series numbered (past it, the group commit
// groups by name).
const maxSeriesKeys = 1 << 22
