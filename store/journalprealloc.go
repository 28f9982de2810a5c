package store

import (
	"fmt"
	"sync"
)

// Journal preallocation. An fsync after an append must commit the
// file system's own journal too (the new blocks and the file's size:
// ext4's jbd2), and that was most of a group commit's wait: on this
// project's test machine 330–360 µs per fsync of 70 KB appended, against
// 200–230 µs for the same bytes written over blocks already allocated and
// synced (docs/BENCHMARKS.md, session 11). A long-lived writer (serve)
// therefore keeps Options.JournalPrealloc bytes past the records written
// with zeros and synced, ahead of need, as PostgreSQL zero-fills its WAL
// segments; group commits then overwrite them.
//
// Zeros are never a record (a record's length is at least minPayload), so
// a read of the journal ends its records where the zeros begin
// (scanJournal: a zero tail is not damage). The zeros are written in
// pieces under mu, each from where the records end at that moment
// (written counts the records still in memory), so none overwrites a
// record; a checkpoint's truncation stops a fill (the epoch changes).
// Close cuts the zeros, so a closed journal ends at its last record as
// before, and a reader's check of the close marker against the file's
// size holds; after a crash, the next writer's replay cuts them.

// fillPiece is how many zero bytes a fill writes per hold of mu.
const fillPiece = 256 << 10

// preallocState is the journal's zero-filled region.
type preallocState struct {
	size int64 // Options.JournalPrealloc (0: none)
	// alloc is the end of the zeros written and synced (under mu):
	// records below it overwrite allocated blocks
	alloc int64
	// zeroed is the end of any zeros written past the records (under
	// mu): close cuts the file there back to its records
	zeroed  int64
	filling bool // a fill runs (under mu)
	closed  bool // close has begun: no fill starts or goes on (under mu)
	done    sync.WaitGroup
}

// preallocate starts a fill when less than half of size is left past the
// records (callers do not hold mu).
func (j *journal) preallocate() {
	j.mu.Lock()
	defer j.mu.Unlock()
	p := &j.pre
	if p.size <= 0 || p.filling || p.closed || j.err != nil || j.replace || p.alloc-j.written >= p.size/2 {
		return
	}
	p.filling = true
	from, to, ckpt := max(p.alloc, j.written), j.written+p.size, j.ckpt
	p.done.Go(func() { j.fill(ckpt, from, to) })
}

// fill writes zeros over [from, to) where no record is, syncs them and
// then counts them as allocated, unless a checkpoint (which truncates the
// file) or close came first. A failure only leaves the journal appending
// as without preallocation: the records' own writes and fsyncs report
// errors that matter.
func (j *journal) fill(ckpt uint64, from, to int64) {
	zero := make([]byte, fillPiece)
	ok := true
	for off := from; off < to && ok; off += fillPiece {
		j.mu.Lock()
		if j.pre.closed || j.ckpt != ckpt || j.err != nil {
			ok = false
		} else if lo, hi := max(off, j.written), min(off+fillPiece, to); lo < hi {
			if _, err := j.f.WriteAt(zero[:hi-lo], lo); err != nil {
				ok = false
			}
			j.pre.zeroed = max(j.pre.zeroed, hi)
		}
		j.mu.Unlock()
	}
	j.mu.Lock()
	f := j.f
	j.mu.Unlock()
	if ok {
		ok = f.Sync() == nil
	}
	j.mu.Lock()
	if ok && !j.pre.closed && j.ckpt == ckpt {
		j.pre.alloc = max(j.pre.alloc, to)
	}
	j.pre.filling = false
	j.mu.Unlock()
}

// cutZeros stops any fill and cuts the zeros past the records (close):
// the file then ends at its last record, as a journal that was never
// preallocated.
func (j *journal) cutZeros() error {
	j.mu.Lock()
	j.pre.closed = true
	j.mu.Unlock()
	j.pre.done.Wait()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.pre.zeroed <= j.written || j.err != nil || len(j.pend) > 0 {
		return nil // nothing past the records, or records not yet written
	}
	if err := j.f.Truncate(j.written); err != nil {
		return fmt.Errorf("journal %s: cutting the preallocated zeros: %w", j.path, err)
	}
	j.pre.zeroed = j.written
	return nil
}

// resetPrealloc forgets the zero-filled region (a checkpoint truncated the
// file; callers hold mu).
func (j *journal) resetPrealloc() {
	j.pre.alloc, j.pre.zeroed = 0, 0
}
