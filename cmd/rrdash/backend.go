package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"rrdash/store"
	"rrdash/store/remote"
)

// seriesStore is what the series commands need of a store: the data
// directory itself (*store.DB), or the server holding it
// (*remote.Client), so that each command runs the same code either way.
type seriesStore interface {
	Create(name string, spec store.Spec, overwrite bool) error
	Spec(name string) (store.Spec, error)
	ApplyAsync(ctx context.Context, b store.Batch) (store.Result, func() error, error)
	Apply(ctx context.Context, b store.Batch) (store.Result, error)
	// UpdateV applies updates of one series and returns the rows each wrote.
	UpdateV(ctx context.Context, name string, ups []store.Update) ([][]store.RowWrite, *store.UpdateError, error)
	Fetch(name string, req store.FetchRequest) (*store.FetchResult, error)
	Info(name string) (*store.Info, error)
	LastUpdate(name string) (int64, error)
	List(pattern string) ([]string, error)
	Delete(names ...string) error
	Rename(old, new string) error
	// Dump returns the definition, state and rows of a series (dump).
	Dump(name string) (*store.DumpData, error)
	// Tune and ResizeArchive change a series in place (tune, resize).
	Tune(name string, args []string) error
	ResizeArchive(name string, rra int, grow bool, rows int64) error
	Close() error
}

var (
	_ seriesStore = (*store.DB)(nil)
	_ seriesStore = (*remote.Client)(nil)
)

// readOnlyCommand reports the commands that only read: they share the
// data directory with other readers.
func readOnlyCommand(cmd string) bool {
	switch cmd {
	case "fetch", "info", "last", "first", "lastupdate", "list", "dump", "xport", "graph", "graphv", "flushcached":
		return true
	}
	return false
}

// socketName is the rrdcached socket rrdash serve makes in its data
// directory.
const socketName = "rrdcached.sock"

// daemonOption pulls rrdtool's --daemon ADDR (--daemon=ADDR, -d ADDR,
// -dADDR) out of a command's arguments; arguments after "--" are left
// alone. The last one given wins, as with rrdtool's option parser. For
// tune (noShort), -d is --data-source-type and its daemon option is -D.
func daemonOption(args []string, noShort bool) (addr string, rest []string, err error) {
	rest = make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return addr, append(rest, args[i:]...), nil
		case a == "--daemon" || a == "-d" && !noShort || a == "-D" && noShort:
			if i+1 >= len(args) {
				return "", nil, usageError{"option " + a + " needs an address"}
			}
			i++
			addr = args[i]
		case strings.HasPrefix(a, "--daemon="):
			addr = a[len("--daemon="):]
		case strings.HasPrefix(a, "-d") && len(a) > 2 && !strings.HasPrefix(a, "--") && !noShort:
			addr = a[2:]
		default:
			rest = append(rest, a)
			continue
		}
		if addr == "" {
			return "", nil, usageError{"option --daemon needs an address"}
		}
	}
	return addr, rest, nil
}

// openStore opens the data directory for cmd, or its server: the one
// --daemon or RRDCACHED_ADDRESS names, else the rrdash serve that holds
// the directory, found by its socket in the directory. The socket is tried
// first: a serve holds the directory's lock for its whole life, so asking
// the lock first would only add its wait. A socket left by a serve that
// is gone refuses at once, and the directory is opened.
//
// lockBlock waits for the directory's lock while another process holds
// it (update --locking block) instead of giving up after a short wait.
func openStore(ctx context.Context, dir, cmd, daemon string, oneShot, lockBlock bool) (seriesStore, error) {
	if daemon != "" {
		c, err := remote.Dial(ctx, daemon)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	sock := filepath.Join(dir, socketName)
	var sockErr error
	if _, err := os.Stat(sock); err == nil {
		c, err := dialServe(ctx, sock)
		if err == nil {
			return c, nil
		}
		sockErr = err
	}
	if err := store.CheckRestoreComplete(dir); err != nil {
		return nil, err
	}
	db, err := store.Open(dir, store.Options{OneShot: oneShot, ReadOnly: readOnlyCommand(cmd), LockBlock: lockBlock})
	if err == nil {
		return db, nil
	}
	var le *store.LockError
	if errors.As(err, &le) && sockErr != nil {
		// the serve may have made its socket since
		if c, cerr := dialServe(ctx, sock); cerr == nil {
			return c, nil
		}
		return nil, fmt.Errorf("%w; the server socket %s does not answer: %v", err, sock, sockErr)
	}
	return nil, err
}

// dialServe connects to the socket of a serve and checks that it answers.
func dialServe(ctx context.Context, sock string) (*remote.Client, error) {
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := remote.Dial(dctx, "unix:"+sock)
	if err != nil {
		return nil, err
	}
	if err := c.Ping(dctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// localOnly returns the data directory itself, or says clearly that cmd
// cannot run through a server.
func localOnly(db seriesStore, cmd string) (*store.DB, error) {
	if local, ok := db.(*store.DB); ok {
		return local, nil
	}
	addr := "?"
	if c, ok := db.(*remote.Client); ok {
		addr = c.Addr()
	}
	return nil, fmt.Errorf("%s cannot run through the server at %s: the rrdcached protocol has no %s; stop the server holding the data directory (or drop --daemon and RRDCACHED_ADDRESS) to run it on the directory itself", cmd, addr, cmd)
}
