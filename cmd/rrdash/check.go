package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"rrdash/store"
)

const checkUsage = `Usage: rrdash [--data DIR] check [--repair]

Checks the data directory without changing it: the journal's head and every
record in it, then every archive file — its header, definition and state,
and every block of 64 rows against its checksum (files of format 3; older
files have no row checksums and are listed as unchecked). A torn journal tail
(a write cut short by a crash, never acknowledged) is sound: the next start
cuts it. Damage that valid records follow, or a damaged head, is corruption:
rrdash refuses to start until it is repaired. A damaged row block is served
as unknown (and logged) until it is repaired.

  --repair   keep the damaged journal as journal.wal.damaged-TIME, replay
             every valid record before and after the damage into the
             archives, write a fresh journal, and say what was lost; then
             set the rows of each damaged archive block to unknown and
             reseal it

Exit status: 0 when everything is sound or was repaired; 1 when damage was
found (without --repair) or could not be repaired.
`

// dataCheck inspects one part of a data directory and, with repair, mends
// it. run prints its findings and says whether the part is sound (after a
// repair: whether it is now).
type dataCheck struct {
	name string
	run  func(dir string, repair bool, w io.Writer) (sound bool, err error)
}

// dataChecks are what `rrdash check` runs, in order. The journal comes
// first: its repair replays records into the archives, and the archive
// check opens the store (which replays the journal).
func dataChecks() []dataCheck {
	return []dataCheck{{"journal", checkJournal}, {"archives", checkArchives}}
}

// checkArchives verifies every archive's row blocks against their
// checksums (and, with repair, resets the damaged ones to unknown). It
// opens the store read-only to check, as a writer to repair.
func checkArchives(dir string, repair bool, w io.Writer) (bool, error) {
	if _, err := os.Stat(filepath.Join(dir, "series")); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(dir); err != nil {
			return false, fmt.Errorf("data directory: %w", err)
		}
		fmt.Fprintln(w, "archives: ok — none yet")
		return true, nil
	}
	rep, err := verifyArchives(dir, repair, !repair)
	var jc *store.JournalCorruptError
	switch {
	case errors.As(err, &jc):
		fmt.Fprintln(w, "archives: not checked — the store cannot open before the journal is repaired")
		return false, nil
	case errors.Is(err, store.ErrNeedsReplay):
		// checking would replay, and check changes nothing
		fmt.Fprintln(w, "archives: not checked — the journal holds records the archives lack (the last writer did not close); the next start or `rrdash check --repair` replays them, and --repair then checks")
		return true, nil
	}
	if errors.Is(err, store.ErrNeedsWriter) {
		// an archive's newest state needs the journal replayed into it
		rep, err = verifyArchives(dir, repair, false)
	}
	if err != nil {
		return false, err
	}
	unreadable := 0
	for _, d := range rep.Damage {
		if d.RRA < 0 {
			unreadable++
		}
	}
	state := "ok"
	switch {
	case len(rep.Damage) > unreadable && repair:
		state = "REPAIRED"
	case len(rep.Damage) > 0:
		state = "DAMAGED"
	}
	fmt.Fprintf(w, "archives: %s — %d files, %d with every row block checked", state, rep.Files, rep.Checked)
	if n := len(rep.Unchecked); n > 0 {
		fmt.Fprintf(w, ", %d of an older format without row checksums", n)
	}
	fmt.Fprintln(w)
	for _, d := range rep.Damage {
		fmt.Fprintf(w, "  %s\n", d)
	}
	switch {
	case repair && len(rep.Damage) > unreadable:
		fmt.Fprintf(w, "  %s now read as unknown (fresh checksums)\n", plural(len(rep.Damage)-unreadable, "damaged block"))
	case len(rep.Damage) > unreadable:
		fmt.Fprintln(w, "  damaged blocks are served as unknown; `rrdash check --repair` resets them to unknown for good")
	}
	if unreadable > 0 {
		fmt.Fprintf(w, "  %s cannot be read and must be restored from a backup or recreated\n", plural(unreadable, "file"))
	}
	return unreadable == 0 && (repair || len(rep.Damage) == 0), nil
}

func verifyArchives(dir string, repair, readOnly bool) (*store.VerifyReport, error) {
	db, err := store.Open(dir, store.Options{ReadOnly: readOnly, NoReplay: readOnly})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if repair {
		return db.RepairArchives(context.Background())
	}
	return db.VerifyArchives(context.Background())
}

func runCheck(dir string, args []string, stdout io.Writer) error {
	opts, pos, err := options(args, map[string]string{"--data": "data"},
		map[string]string{"--repair": "repair", "--help": "help", "-h": "help"})
	if err != nil {
		return err
	}
	if opts["help"] != "" {
		fmt.Fprint(stdout, checkUsage)
		return nil
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("check takes no arguments (got %q)", pos)}
	}
	if d := opts["data"]; d != "" {
		dir = d
	}
	if dir == "" {
		dir = os.Getenv("RRDASH_DATA")
	}
	if dir == "" {
		dir = "./data"
	}
	var damaged, failed []string
	for _, c := range dataChecks() {
		sound, err := c.run(dir, opts["repair"] != "", stdout)
		switch {
		case err != nil:
			fmt.Fprintf(stdout, "%s: ERROR %v\n", c.name, err)
			failed = append(failed, fmt.Sprintf("%s: %v", c.name, err))
		case !sound:
			damaged = append(damaged, c.name)
		}
	}
	var msgs []string
	if len(damaged) > 0 {
		msgs = append(msgs, "damage found in "+strings.Join(damaged, ", "))
	}
	msgs = append(msgs, failed...)
	if len(msgs) > 0 {
		return fmt.Errorf("check: %s", strings.Join(msgs, "; "))
	}
	return nil
}

func checkJournal(dir string, repair bool, w io.Writer) (bool, error) {
	if repair {
		return repairJournal(dir, w)
	}
	rep, err := store.CheckJournal(dir)
	if err != nil {
		return false, err
	}
	if !rep.Corrupt() {
		printSoundJournal(w, rep)
		return true, nil
	}
	fmt.Fprintf(w, "journal: CORRUPT — %s (%d bytes)\n", rep.Path, rep.Size)
	printDamage(w, rep)
	if len(rep.Damage) > 0 {
		fmt.Fprintf(w, "  %s before the damage, %d after it (%s, %s in all)\n",
			plural(rep.RecordsBefore, "valid record"), rep.Records-rep.RecordsBefore, plural(rep.Records, "record"), plural(rep.Updates, "update"))
	} else {
		fmt.Fprintf(w, "  %s after the head, all valid\n", counts(rep.Records, rep.Updates))
	}
	fmt.Fprintln(w, "  rrdash refuses to start; run `rrdash check --repair` to move the journal aside and replay every valid record")
	return false, nil
}

func printSoundJournal(w io.Writer, rep *store.JournalReport) {
	if rep.Format == "none" {
		fmt.Fprintf(w, "journal: ok — none yet (%s)\n", rep.Path)
		return
	}
	format := ""
	if rep.Format == "headless" {
		format = ", headless (an older rrdash's: the next start rewrites it)"
	}
	fmt.Fprintf(w, "journal: ok — %d records (%d updates) since checkpoint %d, %d bytes%s (%s)\n",
		rep.Records, rep.Updates, rep.Checkpoint, rep.Size, format, rep.Path)
	if rep.TornTail > 0 {
		fmt.Fprintf(w, "  torn tail: the last %d bytes (from offset %d) hold no complete record — a write cut short by a crash, never acknowledged; the next start cuts them\n",
			rep.TornTail, rep.TornTailOffset)
	}
}

func printDamage(w io.Writer, rep *store.JournalReport) {
	if rep.HeadDamage != "" {
		fmt.Fprintf(w, "  head damaged at byte offset %d: %s\n", rep.HeadDamageOffset, rep.HeadDamage)
		if !rep.CheckpointCertain {
			fmt.Fprintf(w, "  the last checkpoint is unknown (%d or later)\n", rep.Checkpoint)
		}
	}
	for _, d := range rep.Damage {
		what := "hold no valid record"
		if d.Undecodable {
			what = "start with a record whose checksum verifies but that does not decode"
		}
		fmt.Fprintf(w, "  damaged at byte offset %d: %d bytes %s\n", d.Offset, d.Length, what)
	}
}

func repairJournal(dir string, w io.Writer) (bool, error) {
	rep, err := store.RepairJournal(dir, store.Options{})
	if rep != nil && rep.Journal.Corrupt() {
		fmt.Fprintf(w, "journal: CORRUPT — %s (%d bytes)\n", rep.Journal.Path, rep.Journal.Size)
		printDamage(w, rep.Journal)
	}
	if err != nil {
		return false, err
	}
	j := rep.Journal
	switch {
	case rep.TornTailCut:
		fmt.Fprintf(w, "journal: REPAIRED — cut a torn tail of %d bytes at offset %d (never acknowledged); %d records (%d updates) replayed (%s)\n",
			j.TornTail, j.TornTailOffset, rep.Replayed, rep.ReplayedUpdates, j.Path)
		return true, nil
	case !rep.Repaired:
		printSoundJournal(w, j)
		fmt.Fprintln(w, "  nothing to repair")
		return true, nil
	}
	fmt.Fprintf(w, "journal: REPAIRED — the damaged journal is kept as %s\n", rep.MovedTo)
	if n := j.DamagedBytes(); n > 0 {
		fmt.Fprintf(w, "  recovered %s: %d before the damage, %d after it\n",
			counts(rep.Replayed, rep.ReplayedUpdates), j.RecordsBefore, rep.Replayed-j.RecordsBefore)
		fmt.Fprintf(w, "  lost %s at %s, the first at offset %d: about %s\n",
			plural(int(n), "damaged byte"), plural(len(j.Damage), "place"), j.Damage[0].Offset, plural(j.LostRecordsEstimate(), "record"))
	} else {
		fmt.Fprintf(w, "  recovered %s\n", counts(rep.Replayed, rep.ReplayedUpdates))
		fmt.Fprintln(w, "  lost no record: only the head was damaged")
	}
	if rep.Unopened > 0 {
		fmt.Fprintf(w, "  %d updates of series that could not be opened were not replayed (they stay in the kept file):\n", rep.Unopened)
		names := make([]string, 0, len(rep.UnopenedSeries))
		for s := range rep.UnopenedSeries {
			names = append(names, s)
		}
		sort.Strings(names)
		for _, s := range names {
			fmt.Fprintf(w, "    %s: %s\n", s, rep.UnopenedSeries[s])
		}
	}
	fmt.Fprintf(w, "  a fresh journal at checkpoint %d replaces it\n", rep.Checkpoint)
	return true, nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func counts(records, updates int) string {
	return fmt.Sprintf("%s (%s)", plural(records, "record"), plural(updates, "update"))
}
