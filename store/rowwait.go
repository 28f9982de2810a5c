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

// rowsMayWait tells whether a's rows, durable in the journal, may stay in
// memory: no run has completed a block or spans two (those are written
// now, each block once), no ring has wrapped since its rows were last
// written, and the archive has row checksums (version 3 on; older files
// have no blocks to complete).
func (a *archive) rowsMayWait() bool {
	if a.sums == nil || len(a.pend) == 0 {
		return false
	}
	for i := range a.pend {
		r := &a.pend[i]
		end := r.first + r.n
		if r.n >= rowsPerBlock || end%rowsPerBlock == 0 || r.first/rowsPerBlock != (end-1)/rowsPerBlock {
			return false
		}
		for j := range i {
			if a.pend[j].ring == r.ring {
				// the ring wrapped (its last block may be shorter than
				// rowsPerBlock, and a ring shorter than a block never
				// completes one): write rather than stack up turns
				return false
			}
		}
	}
	return true
}

// pendBytes is the size of a's waiting rows.
func (a *archive) pendBytes() int {
	n := 0
	for i := range a.pend {
		n += cap(a.pend[i].b)
	}
	return n
}
