package store

// Start-up replay: sources' positions and the journal records after the
// last checkpoint applied to the archives.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

func (db *DB) positionsPath() string { return filepath.Join(db.dir, "positions.json") }

// livePositionsPath holds the positions at the last close without a
// checkpoint; it is read only when the journal's close marker is.
func (db *DB) livePositionsPath() string { return filepath.Join(db.dir, "positions.live.json") }

func (db *DB) loadPositions(clean bool) error {
	p, err := db.livePositionsPath(), os.ErrNotExist
	var b []byte
	if clean {
		b, err = os.ReadFile(p)
	}
	if errors.Is(err, os.ErrNotExist) {
		p = db.positionsPath()
		b, err = os.ReadFile(p)
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &db.positions); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}

// replay re-applies a journaled record. Updates at or before a series' last
// update are already in its checkpointed state and are skipped. Updates of
// a series that cannot be opened (deleted, or unreadable: reported on use)
// are counted in unopened when it is not nil.
func (db *DB) replay(rec journalRecord, unopened *replayMiss) {
	for _, c := range rec.creates {
		db.replayCreate(c)
	}
	var hw []*archive
	for _, u := range rec.updates {
		a, err := db.archive(u.Series)
		if err != nil {
			unopened.add(u.Series, err)
			continue
		}
		db.replayUpdate(a, u.Update)
		if a.st.hw != nil {
			hw = append(hw, a)
		}
	}
	for _, a := range hw {
		db.endCall(a)
	}
	for k, v := range rec.positions {
		db.positions[k] = v
		db.posDirty = true
	}
}

// replayMiss counts journaled updates of series a replay could not open.
type replayMiss struct {
	updates int
	series  map[string]error
}

func (m *replayMiss) add(series string, err error) {
	if m == nil {
		return
	}
	if m.series == nil {
		m.series = map[string]error{}
	}
	m.updates++
	m.series[series] = err
}

// replayOnly replays the updates of one series from rec (positions are
// already known).
func (db *DB) replayOnly(rec journalRecord, name string) {
	a := db.series[name]
	for _, u := range rec.updates {
		if u.Series == name {
			db.replayUpdate(a, u.Update)
		}
	}
	db.endCall(a)
}

// replayUpdate re-applies a journaled update unless the archive's state
// already holds it (it is at or before the last update).
func (db *DB) replayUpdate(a *archive, u Update) {
	if a.holds(u) {
		return
	}
	a.apply(&u)
	a.dirty = true
	db.queueFlush(a)
}

// replayCreate makes sure a series whose creation the journal holds
// exists. Its record follows the last checkpoint, so every update of the
// series is in the journal too: a file a crash lost or tore (after a
// power loss its first state, stamped for a checkpoint that never
// completed, is not trusted) is made again, empty, and the replay refills
// it. A file that reads is kept (the same boot: the page cache holds it).
func (db *DB) replayCreate(c journalCreate) {
	log := db.jr.log
	a, err := db.archive(c.name)
	if err == nil && a != nil {
		return
	}
	spec, perr := ParseSpecArgs(c.step, c.start, c.args)
	if perr == nil {
		perr = spec.Validate()
	}
	if perr != nil {
		log.Error("journal: a creation record does not parse; series not created", "series", c.name, "err", perr)
		return
	}
	if !errors.Is(err, ErrNotFound) {
		log.Info("journal: making again a series created since the last checkpoint whose file does not read (after a reboot: its first state was never synced)", "series", c.name, "err", err)
	}
	if derr := db.dropArchive(c.name); derr != nil {
		log.Error("journal: series not created again", "series", c.name, "err", derr)
		return
	}
	if err := db.makePacked(c.name, &spec, c.meta, nil, true); err != nil {
		log.Error("journal: series not created again", "series", c.name, "err", err)
	}
}
