package store

// Rows that wait past their group commit.
//
// A group commit used to write every touched archive's waiting rows once
// its journal records were durable: one row run per ring of every series
// it touched, each resealing (CRC-32C) a whole 512-byte block and, for a
// block never written, one pwrite. A time-major stream (Graphite: one
// point of every series per batch) makes groups of about one point per
// series, so that was a run, a checksum and often a syscall per point
// (docs/BENCHMARKS.md, session 7).
//
// Nothing requires the rows on disk at that moment: the journal holds
// their records until a checkpoint, and every path that needs the rows in
// the file writes them first — reads (flushArchive), a checkpoint and a
// close (writeSlot), the fd cache's eviction, a rename (checkpoint). So a
// run that has not yet completed a block waits in memory, and the next
// group's rows of the same ring continue it (putRow); it is written once
// its block is complete, or when the waiting bytes pass a bound. A kill -9
// loses nothing: the records are in the journal, and the slot a replay
// starts from never counts rows that are not in the file (writeSlot writes
// them first).

// maxWaitingRowBytes bounds the rows all archives hold in memory after
// their records are durable (a million series × a few rows each would
// otherwise hold them all until the next checkpoint).
const maxWaitingRowBytes = 16 << 20

// waitBlocks is how many blocks a ring's last run may reach into and
// still wait whole: 2, so a ring fed several rows a commit (remote_write's
// shape: 20 samples of a series a minute apart) writes two blocks in one
// pwrite where it wrote one block a pwrite. The sector pwrites were ~12%
// of that stream's CPU (docs/BENCHMARKS.md, session 10); a ring's waiting
// rows go from < 512 to < 1,024 bytes, under maxWaitingRowBytes' bound.
const waitBlocks = 2

// waitingRuns marks in wait (by index in a.pend, reusing its array) the
// runs of a's rows, durable in the journal, that may stay in memory: a run
// that has not entered the block after its waitBlocks first ones, of a ring
// with no other run waiting (a second run means the ring wrapped: its last
// block may be shorter than rowsPerBlock, and a ring shorter than a block
// never completes one, so its rows are written rather than stacking up
// turns). The other runs are written now, each block once: a time-major
// stream completes a block of its finest ring every 64 points, and of a
// coarser ring 5, 60 or 1,440 times less often, so only the finest ring's
// run goes. some tells whether any run may wait, whole or in part (a
// ring's last run that ended inside a block keeps that block's rows:
// flushRuns writes only its complete blocks), all whether all may wait
// whole. An archive without row checksums (before version 3) has no
// blocks to complete: nothing of it waits.
func (a *archive) waitingRuns(wait []bool) (_ []bool, some, all bool) {
	wait = wait[:0]
	if a.sums == nil || len(a.pend) == 0 {
		return wait, false, false
	}
	// a ring's runs: the last one is lastRun's, any other comes first —
	// one pass marks the last runs, a second unmarks those of rings with
	// an earlier run (no pairwise search: 16 rings, 256 comparisons)
	for i := range a.pend {
		r := &a.pend[i]
		end := r.first + r.n
		_, hi := blockRows(a.spec.RRA[r.ring].Rows, r.first/rowsPerBlock+waitBlocks-1)
		wait = append(wait, end < hi && a.lastRun[r.ring] == i)
	}
	for i := range a.pend {
		if k := a.lastRun[a.pend[i].ring]; k >= 0 && k != i {
			wait[k] = false
		}
	}
	all = true
	for i, ok := range wait {
		// some: a run may wait whole, or a ring's last run keep the rows
		// of the block it ends in (flushRuns writes the complete ones)
		some = some || ok || a.lastRun[a.pend[i].ring] == i && a.tailStart(&a.pend[i]) < a.pend[i].first+a.pend[i].n
		all = all && ok
	}
	return wait, some, all
}

// pendBytes is the size of a's waiting rows.
func (a *archive) pendBytes() int {
	n := 0
	for i := range a.pend {
		n += cap(a.pend[i].b)
	}
	return n
}
