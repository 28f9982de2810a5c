// Package pgtest runs a real PostgreSQL (Debian's postgresql 15, which
// `make deps-test` installs) for tests: initdb into a temporary directory,
// the server listening only on a UNIX socket there, as the postgres user
// (or nobody) when the tests run as root, since PostgreSQL refuses root.
// One server serves a test binary; every test gets its own database.
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//	url := pgtest.Database(t) // postgres://…/t_3?host=/tmp/…
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver

	"rrdash/tools/testdeps"
)

// binDir is where Debian puts PostgreSQL 15's server programs (not on
// PATH).
const binDir = "/usr/lib/postgresql/15/bin"

// startTimeout bounds initdb plus the server's start.
const startTimeout = 60 * time.Second

// Server is a running PostgreSQL cluster in a temporary directory.
type Server struct {
	dir   string // data directory's parent, also the socket directory
	cmd   *exec.Cmd
	done  chan error // the postgres process's exit
	admin *sql.DB    // to the "postgres" database, for CREATE DATABASE
	mu    sync.Mutex
	n     int // databases made
}

// shared is the test binary's one server, started by the first test that
// asks; Main stops it.
var shared struct {
	sync.Mutex
	srv *Server
	err error
}

// Main runs the tests and stops the shared server (if one was started).
func Main(m *testing.M) int {
	code := m.Run()
	shared.Lock()
	defer shared.Unlock()
	if shared.srv != nil {
		if err := shared.srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
		shared.srv = nil
	}
	return code
}

// Database returns the URL of a new, empty database on the shared server,
// dropped when t ends. Without PostgreSQL installed the test is skipped
// (failed under CI=true).
func Database(t testing.TB) string {
	t.Helper()
	srv := Shared(t)
	u, err := srv.NewDatabase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.DropDatabase(context.Background(), u); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return u
}

// Private starts a server for t alone, stopped when t ends: for a package
// without a TestMain calling Main.
func Private(t testing.TB) *Server {
	t.Helper()
	initdb := testdeps.Program(t, "initdb", filepath.Join(binDir, "initdb"))
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	srv, err := Start(ctx, filepath.Dir(initdb))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return srv
}

// Shared returns the test binary's server, starting it the first time.
func Shared(t testing.TB) *Server {
	t.Helper()
	initdb := testdeps.Program(t, "initdb", filepath.Join(binDir, "initdb"))
	shared.Lock()
	defer shared.Unlock()
	if shared.srv == nil && shared.err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		shared.srv, shared.err = Start(ctx, filepath.Dir(initdb))
		cancel()
	}
	if shared.err != nil {
		t.Fatalf("pgtest: %v", shared.err)
	}
	return shared.srv
}

// Start runs initdb and postgres from bin in a new temporary directory.
func Start(ctx context.Context, bin string) (*Server, error) {
	cred, err := serverUser()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "rrdash-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s := &Server{dir: dir}
	fail := func(err error) (*Server, error) {
		s.Stop()
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fail(err)
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	initdb.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "LC_ALL=C", "HOME=" + dir}
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("initdb %s: %w\n%s", data, err, out))
	}
	// Only a UNIX socket (no TCP at all); durability is not a test's
	// concern (fsync off).
	if err := s.startPostgres(filepath.Join(bin, "postgres"), data, cred); err != nil {
		return fail(err)
	}
	admin, err := sql.Open("pgx", s.url("postgres"))
	if err != nil {
		return fail(err)
	}
	s.admin = admin
	for {
		err := admin.PingContext(ctx)
		if err == nil {
			return s, nil
		}
		select {
		case perr := <-s.done:
			s.done = nil
			return fail(fmt.Errorf("postgres exited at start: %v (log: %s)", perr, s.logTail()))
		case <-ctx.Done():
			return fail(fmt.Errorf("postgres not answering within %v: %v (log: %s)", startTimeout, err, s.logTail()))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// startPostgres starts the server from a goroutine locked to its thread
// for the server's life: the parent-death signal is tied to the thread
// that forked, and it stops the server if the test binary is killed.
func (s *Server) startPostgres(postgres, data string, cred *syscall.Credential) error {
	logf, err := os.Create(filepath.Join(s.dir, "postgres.log"))
	if err != nil {
		return err
	}
	if cred != nil {
		logf.Chown(int(cred.Uid), int(cred.Gid))
	}
	s.cmd = exec.Command(postgres, "-D", data, "-k", s.dir, "-p", "5432", "-F",
		"-c", "listen_addresses=", "-c", "shared_buffers=16MB", "-c", "max_connections=200",
		"-c", "log_min_messages=warning")
	s.cmd.Env = []string{"LC_ALL=C", "HOME=" + s.dir}
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	started := make(chan error, 1)
	s.done = make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the server
		defer logf.Close()
		if err := s.cmd.Start(); err != nil {
			started <- fmt.Errorf("start postgres: %w", err)
			return
		}
		started <- nil
		s.done <- s.cmd.Wait()
	}()
	return <-started
}

// serverUser is the account the server runs as: the current one, or when
// that is root (which PostgreSQL refuses), postgres or else nobody.
func serverUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, errors.New("running as root and neither user postgres nor nobody exists to run PostgreSQL as")
}

// url is the URL of database name over the socket.
func (s *Server) url(name string) string {
	q := url.Values{"host": {s.dir}, "port": {"5432"}, "sslmode": {"disable"}}
	return "postgres://postgres@/" + name + "?" + q.Encode()
}

// NewDatabase creates an empty database and returns its URL.
func (s *Server) NewDatabase(ctx context.Context) (string, error) {
	s.mu.Lock()
	s.n++
	name := fmt.Sprintf("t_%d", s.n)
	s.mu.Unlock()
	// CREATE DATABASE copies template1 under a lock: concurrent creates
	// wait for each other, so bound the wait.
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := s.admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return s.url(name), nil
}

// DropDatabase drops a database NewDatabase made, closing its
// connections.
func (s *Server) DropDatabase(ctx context.Context, dbURL string) error {
	u, err := url.Parse(dbURL)
	if err != nil {
		return err
	}
	name := strings.TrimPrefix(u.Path, "/")
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := s.admin.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// URL returns the URL of database name (which need not exist yet).
func (s *Server) URL(name string) string { return s.url(name) }

// Stop stops the server (fast shutdown, then kill after 10 s) and removes
// its directory.
func (s *Server) Stop() error {
	if s.admin != nil {
		s.admin.Close()
	}
	var err error
	if s.cmd != nil && s.cmd.Process != nil && s.done != nil {
		s.cmd.Process.Signal(syscall.SIGINT) // fast shutdown
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
			err = errors.New("postgres did not stop within 10s; killed")
		}
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
	return err
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}
