package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// VerifyReport is what a check of archive files found.
type VerifyReport struct {
	Files   int // archive files looked at
	Checked int // files whose every row block was checked (format 3)
	// Unchecked lists files of formats 1 and 2: they have no row
	// checksums, so only their header, definition and slots were checked
	Unchecked []string
	// Damage lists damaged row blocks and unreadable files; after a
	// repair, the blocks listed hold unknown rows and fresh checksums
	Damage []Damage
}

// VerifyArchives checks every row block of every archive in the data
// directory against its checksum and returns the damaged ones, with files
// that cannot be read at all. Rows waiting for the journal are written
// first. The DB stays usable meanwhile: it is locked one file at a time.
func (db *DB) VerifyArchives(ctx context.Context) (*VerifyReport, error) {
	return db.verifyArchives(ctx, false)
}

// RepairArchives is VerifyArchives that also sets the rows of each
// damaged block to unknown and reseals it, so the block reads as unknown
// without a warning from then on. Unreadable files are only reported.
func (db *DB) RepairArchives(ctx context.Context) (*VerifyReport, error) {
	return db.verifyArchives(ctx, true)
}

func (db *DB) verifyArchives(ctx context.Context, repair bool) (*VerifyReport, error) {
	if repair && db.readOnly {
		return nil, fmt.Errorf("repairing archives: %w", errReadOnly)
	}
	dir := filepath.Join(db.dir, "series")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	rep := &VerifyReport{}
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		fn := e.Name()
		if !strings.HasSuffix(fn, ".rrd") || !e.Type().IsRegular() {
			continue
		}
		rep.Files++
		p := filepath.Join(dir, fn)
		db.mu.Lock()
		err := db.verifyFile(p, fn, repair, rep)
		db.mu.Unlock()
		if err != nil {
			return rep, err
		}
	}
	return rep, db.verifyPacked(ctx, repair, rep)
}

// verifyFile checks one file of the DB into rep (callers hold db.mu). Its
// error is a failure to write a repair or waiting rows, not damage.
func (db *DB) verifyFile(p, fn string, repair bool, rep *VerifyReport) error {
	name, ok := nameFromFile(fn)
	if !ok { // a long name, kept inside the file
		a, err := openArchive(p, db.trust(), true, db.scratch())
		if err != nil {
			rep.Damage = append(rep.Damage, Damage{Path: p, RRA: -1, Err: err.Error()})
			return nil
		}
		name = a.name
		a.close()
	}
	return db.verifySeries(name, p, repair, rep)
}

// verifySeries checks one series (at path p, when known) into rep.
func (db *DB) verifySeries(name, p string, repair bool, rep *VerifyReport) error {
	a, err := db.archive(name)
	if errors.Is(err, ErrNotFound) {
		rep.Files-- // gone meanwhile, or a creation never acknowledged
		return nil
	}
	if err != nil {
		rep.Damage = append(rep.Damage, Damage{Path: p, Series: name, RRA: -1, Err: err.Error()})
		return nil
	}
	if p == "" {
		p = a.path
	}
	if a.sums == nil {
		rep.Unchecked = append(rep.Unchecked, p)
		return nil
	}
	if err := db.flushArchive(a); err != nil {
		return err
	}
	dmg, err := a.checkAll(repair)
	rep.Checked++
	rep.Damage = append(rep.Damage, dmg...)
	return err
}

// VerifyFile checks one archive file outside a data directory (no journal
// is replayed, nothing is written): its header, definition and slots, and
// every row block of a format 3 file. A file whose last writer crashed may
// show blocks its journal's replay would reseal: VerifyArchives replays.
func VerifyFile(path string) *VerifyReport {
	rep := &VerifyReport{Files: 1}
	a, err := openArchive(path, trust{ckpt: math.MaxUint64}, true, nil)
	if err != nil {
		rep.Damage = append(rep.Damage, Damage{Path: path, RRA: -1, Err: err.Error()})
		return rep
	}
	defer a.close()
	if a.sums == nil {
		rep.Unchecked = append(rep.Unchecked, path)
		return rep
	}
	dmg, err := a.checkAll(false)
	if err != nil {
		dmg = append(dmg, Damage{Path: path, Series: a.name, RRA: -1, Err: err.Error()})
	}
	rep.Checked++
	rep.Damage = dmg
	return rep
}

// checkAll checks every block of every ring (nothing pending) and, with
// repair, sets the rows of damaged blocks to unknown and reseals them.
func (a *archive) checkAll(repair bool) ([]Damage, error) {
	if err := a.ensureOpen(); err != nil {
		return nil, err
	}
	rb := a.rowBytes()
	var dmg []Damage
	var buf []byte
	const chunk = 64 // blocks per read of an unmapped file
	for ring, ra := range a.spec.RRA {
		off := a.lay.ringOff[ring]
		nb := ringBlocks(ra.Rows)
		for b0 := int64(0); b0 < nb; b0 += chunk {
			b1 := min(b0+chunk, nb)
			lo, _ := blockRows(ra.Rows, b0)
			_, hi := blockRows(ra.Rows, b1-1)
			var rows []byte
			if a.mm != nil {
				rows = a.mm[off+lo*rb : off+hi*rb]
			} else {
				if int64(cap(buf)) < (hi-lo)*rb {
					buf = make([]byte, (hi-lo)*rb)
				}
				rows = buf[:(hi-lo)*rb]
				if n, err := a.f.readAt(rows, off+lo*rb); n < len(rows) {
					return dmg, fmt.Errorf("archive %s: reading rows %d-%d of archive %d: %w", a.path, lo, hi-1, ring, err)
				}
			}
			for b := b0; b < b1; b++ {
				l, h := blockRows(ra.Rows, b)
				seg := rows[(l-lo)*rb : (h-lo)*rb]
				if a.blockValid(ring, b, seg) {
					continue // sealed, or never written (version 4)
				}
				d := a.blockDamage(ring, b)
				if repair {
					if err := a.resetBlock(ring, b, seg); err != nil {
						return dmg, err
					}
					d.Err += "; rows set to unknown"
				}
				dmg = append(dmg, d)
			}
		}
	}
	return dmg, nil
}

// resetBlock sets block b's rows (seg: its bytes, a view of the mapping
// or a copy) to unknown and reseals it.
func (a *archive) resetBlock(ring int, b int64, seg []byte) error {
	a.fillUnknown(seg)
	if a.last != nil && a.last[ring].b == b {
		a.last[ring].ok = false
	}
	i := a.lay.ringBlock0[ring] + b
	putSum(a.sums, i, sealSum(a.lay.version, ring, b, seg))
	if a.mm != nil {
		return nil
	}
	l, _ := blockRows(a.spec.RRA[ring].Rows, b)
	if err := a.f.writeAt(seg, a.lay.ringOff[ring]+l*a.rowBytes()); err != nil {
		return fmt.Errorf("archive %s: repair rows: %w", a.path, err)
	}
	if err := a.f.writeAt(a.sums[i*4:i*4+4], a.lay.sumOff+i*4); err != nil {
		return fmt.Errorf("archive %s: repair row checksums: %w", a.path, err)
	}
	return nil
}
