package store

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// fdCache bounds the archive files a DB holds open (and mapped): a data
// directory of a million series must not need a million descriptors, nor
// a million mappings (vm.max_map_count is 65,530 by default). Archives
// stay in memory — state, rows waiting for the journal, checksum table —
// and only their file is closed when it is the least recently used one
// beyond the limit; the next use reopens it. The cache is used under the
// DB's lock, like every archive.
type fdCache struct {
	max, n     int
	head, tail *archive // most and least recently used
	opened     int64    // files opened since Open (reopens included)
	// evict closes the least recently used archive's file, and may drop
	// the archive from memory (DB.evict); nil: close the file only
	evict   func(a *archive) error
	dropped int64 // archives dropped from memory since Open
}

// defaultMaxOpen is the limit when Options.MaxOpenFiles is 0: half the
// descriptors the process may open (the rest serve connections, the
// journal, listeners), at most half of vm.max_map_count (each archive
// read is mapped), at least 16.
//
// (It was at most 4,096: a stream over more series than that — 10,000
// series time-major in the peer benchmark — closed and reopened, and
// dropped and reread, most of its archives in every group commit, which
// was half of the commit's CPU.)
func defaultMaxOpen() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 1024
	}
	// Go raises the soft limit to the hard one at start; Cur is the real
	// limit
	return int(min(max(rl.Cur/2, 16), maxMapCount()/2))
}

// maxMapCount is the kernel's limit on a process's mappings
// (vm.max_map_count; its default when unreadable).
func maxMapCount() uint64 {
	b, err := os.ReadFile("/proc/sys/vm/max_map_count")
	if err != nil {
		return 65530
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n < 64 {
		return 65530
	}
	return n
}

func newFDCache(maxOpen int) (*fdCache, error) {
	switch {
	case maxOpen == 0:
		maxOpen = defaultMaxOpen()
	case maxOpen < 0:
		return nil, fmt.Errorf("store: Options.MaxOpenFiles %d: must be 0 (default) or more", maxOpen)
	}
	return &fdCache{max: maxOpen}, nil
}

// pushFront adds an open archive as the most recently used one.
func (c *fdCache) pushFront(a *archive) {
	a.prev, a.next = nil, c.head
	if c.head != nil {
		c.head.prev = a
	}
	c.head = a
	if c.tail == nil {
		c.tail = a
	}
	c.n++
}

// unlink takes a out of the list (it is being closed).
func (c *fdCache) unlink(a *archive) {
	if a.prev == nil && c.head != a {
		return // not in the list
	}
	if a.prev != nil {
		a.prev.next = a.next
	} else {
		c.head = a.next
	}
	if a.next != nil {
		a.next.prev = a.prev
	} else {
		c.tail = a.prev
	}
	a.prev, a.next = nil, nil
	c.n--
}

func (c *fdCache) touch(a *archive) {
	if c.head == a {
		return
	}
	c.unlink(a)
	c.pushFront(a)
}

// reserve closes the least recently used files until one more fits.
func (c *fdCache) reserve() error {
	for c.n >= c.max && c.tail != nil {
		a := c.tail
		if c.evict != nil {
			a.evicting = true
			err := c.evict(a)
			a.evicting = false
			if err != nil {
				return err
			}
			if a.f.fd < 0 {
				continue // closed (and unlinked) by evict
			}
		}
		c.unlink(a)
		if err := a.release(); err != nil {
			return fmt.Errorf("archive %s: close: %w", a.path, err)
		}
	}
	return nil
}

// add registers an archive just opened (reserve was called before).
func (c *fdCache) add(a *archive) {
	a.fds = c
	c.pushFront(a)
	c.opened++
}

// ensureOpen reopens the archive's file if the cache closed it, and marks
// it the most recently used. Archives outside a DB are always open.
func (a *archive) ensureOpen() error {
	c := a.fds
	if c == nil {
		return nil
	}
	if a.f.fd >= 0 {
		if !a.evicting {
			c.touch(a)
		}
		return nil
	}
	if err := c.reserve(); err != nil {
		return err
	}
	var f fileFD
	var err error
	if a.pk != nil {
		f, err = a.pk.ref() // one descriptor per pack, shared
	} else {
		f, err = openFD(a.path)
	}
	if err != nil {
		return fmt.Errorf("archive %s: reopen: %w", a.path, err)
	}
	a.f.fd = f
	c.pushFront(a)
	c.opened++
	return nil
}

// OpenFiles reports the archive files held open now, the limit, and how
// many files were opened since Open (reopens of closed ones included).
func (db *DB) OpenFiles() (open, limit int, opened int64) {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.fds.n, db.fds.max, db.fds.opened
}

// ResidentSeries reports the archives held in memory now and how many
// were dropped from memory since Open.
func (db *DB) ResidentSeries() (resident int, dropped int64) {
	db.mu.Lock()
	defer db.mu.Unlock()
	return len(db.series), db.fds.dropped
}

// evict is the fd cache's eviction (callers hold db.mu): an archive whose
// journal records are all durable is dropped from memory — its waiting
// rows written, its state written into a slot (as a close without a
// checkpoint does, sequence ckpt+1), the file closed — so memory stays
// bounded by the open files plus the archives changed since their last
// fsync. Others only have their file closed (release, by the caller).
func (db *DB) evict(a *archive) error {
	if !db.canDrop(a) {
		return nil
	}
	if err := a.flushRows(!db.replaying); err != nil {
		db.jr.fail(err)
		return err
	}
	if a.dirty {
		if err := a.writeSlot(db.jr.ckpt+1, db.jr.ckpt, db.boot); err != nil {
			db.jr.fail(err)
			return err
		}
	}
	if err := a.close(); err != nil {
		return fmt.Errorf("archive %s: close: %w", a.path, err)
	}
	if db.series[a.name] == a {
		delete(db.series, a.name)
	}
	db.fds.dropped++
	return nil
}

// canDrop tells whether an archive's state may leave memory: the journal
// holds everything that changed it durably (a slot must never hold an
// update the journal could lose), and nothing else waits on it.
func (db *DB) canDrop(a *archive) bool {
	if db.noDrop || a.torn || a.pendOff == pendingBatch || a.lastOff == pendingBatch {
		return false
	}
	if a.dirty && db.readOnly {
		return false
	}
	if a.lastCkpt != db.jr.ckpt {
		return true // a checkpoint since made it durable
	}
	return max(a.lastOff, a.pendOff) <= db.jr.durable.Load()
}

// dropClosed drops from memory the archives whose file is closed and whose
// state the files hold (after a checkpoint).
func (db *DB) dropClosed() {
	for name, a := range db.series {
		if a.f.fd < 0 && !a.dirty && len(a.pend) == 0 && !a.torn && !a.queued {
			a.gone = true
			delete(db.series, name)
			db.fds.dropped++
		}
	}
}
