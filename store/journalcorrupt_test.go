package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// These tests damage the journal: a torn tail (no valid record after the
// damage) is cut and logged; anything else is refused with the file and
// offset named, and RepairJournal replays every valid record.

const corruptN = 600 // records (one update each) in the fixture journal

func corruptSpec(t testing.TB) Spec {
	t.Helper()
	s, err := ParseSpecArgs(10, 1000000000, []string{"DS:g:GAUGE:30:U:U", "RRA:LAST:0:1:700"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func corruptUpdate(i int) Update {
	return Update{Series: "s", Time: 1000000000 + 10*int64(i+1), Values: []string{fmt.Sprint(i)}}
}

// corruptFixture is a data directory after corruptN acknowledged records
// and a kill (no close), with the offsets of its records (and the end).
type corruptFixture struct {
	dir  string
	offs []int64
}

func newCorruptFixture(t *testing.T) corruptFixture {
	t.Helper()
	dir := t.TempDir()
	// the archive is made durable beforehand, so the journal holds the
	// updates only (no creation record) and no checkpoint yet
	spec := corruptSpec(t)
	if err := os.MkdirAll(filepath.Join(dir, "series"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := createArchiveVersion(filepath.Join(dir, "series", "s.rrd"), "s", &spec, nil, initialState(&spec), nil, fileVersion); err != nil {
		t.Fatal(err)
	}
	db, err := Open(dir, Options{BootID: "A"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < corruptN; i++ {
		b := Batch{Updates: []Update{corruptUpdate(i)}, Positions: map[string][]byte{"src": []byte(fmt.Sprint(i))}}
		if res, err := db.Apply(context.Background(), b); err != nil || len(res.Errors) > 0 {
			t.Fatalf("apply %d: %v %v", i, err, res.Errors)
		}
	}
	crash(db)
	jp := filepath.Join(dir, journalName)
	f, err := os.Open(jp)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	sc, err := scanJournal(f, journalHeadSize, fi.Size())
	if err != nil || len(sc.recs) != corruptN || len(sc.damage) != 0 {
		t.Fatalf("fixture journal: %d records, damage %v, %v", len(sc.recs), sc.damage, err)
	}
	return corruptFixture{dir: dir, offs: append(sc.offs, fi.Size())}
}

// clone copies the fixture's directory.
func (fx corruptFixture) clone(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "series"), 0o755)
	copyFile(t, filepath.Join(fx.dir, journalName), filepath.Join(dir, journalName))
	copyFile(t, filepath.Join(fx.dir, "series", "s.rrd"), filepath.Join(dir, "series", "s.rrd"))
	return dir
}

// recordAtOffset is the index of the record holding byte off (-1: the head).
func (fx corruptFixture) recordAtOffset(off int64) int {
	for i := 0; i < corruptN; i++ {
		if off >= fx.offs[i] && off < fx.offs[i+1] {
			return i
		}
	}
	return -1
}

// expectReplayed demands that the series holds exactly the updates of
// every record but the lost ones, and the position of the last one kept.
func expectReplayed(t *testing.T, db *DB, lost map[int]bool) {
	t.Helper()
	ref, err := NewRRD(corruptSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	lastKept := -1
	for i := 0; i < corruptN; i++ {
		if lost[i] {
			continue
		}
		u := corruptUpdate(i)
		if err := ref.Update(u.Time, u.Usec, u.Values); err != nil {
			t.Fatal(err)
		}
		lastKept = i
	}
	q := FetchRequest{CF: Last, Start: 1000000000, End: 1000000000 + 10*corruptN, Resolution: 10}
	want, _ := ref.Fetch(q)
	got, err := db.Fetch("s", q)
	if err != nil {
		t.Fatal(err)
	}
	if fetchText(got) != fetchText(want) {
		t.Errorf("series after replay (lost records %v) differs from the records kept", lost)
	}
	if p := string(db.Position("src")); p != fmt.Sprint(lastKept) {
		t.Errorf("position %q, want %d", p, lastKept)
	}
}

// expectRefused demands a *JournalCorruptError naming the journal and off,
// and the journal unchanged.
func expectRefused(t *testing.T, dir string, off int64, before []byte) {
	t.Helper()
	jp := filepath.Join(dir, journalName)
	_, err := Open(dir, Options{BootID: "B"})
	var ce *JournalCorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("open of a journal damaged at %d: %v, want a refusal", off, err)
	}
	if ce.Path != jp || ce.Offset != off {
		t.Errorf("refusal names %s offset %d, want %s offset %d", ce.Path, ce.Offset, jp, off)
	}
	for _, s := range []string{jp, fmt.Sprintf("offset %d", off), "rrdash check --repair"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
	if now, _ := os.ReadFile(jp); !bytes.Equal(now, before) {
		t.Errorf("the refused journal was changed (%d bytes, was %d)", len(now), len(before))
	}
}

// repairAndCheck repairs dir, checks what it reports and that the
// damaged file is kept, and demands every record but lost replayed.
func repairAndCheck(t *testing.T, dir string, damaged []byte, lost map[int]bool) {
	t.Helper()
	repairAndCheckN(t, dir, damaged, lost, corruptN-len(lost))
}

// repairAndCheckN is repairAndCheck when the journal held records records
// but for the damage.
func repairAndCheckN(t *testing.T, dir string, damaged []byte, lost map[int]bool, records int) {
	t.Helper()
	rep, err := RepairJournal(dir, Options{BootID: "B"})
	if err != nil {
		t.Fatalf("repair: %v", err)
	}
	if !rep.Repaired || rep.Replayed != records || rep.Unopened != 0 {
		t.Errorf("repair: repaired %v, replayed %d records (want %d), %d updates of unopened series",
			rep.Repaired, rep.Replayed, records, rep.Unopened)
	}
	if kept, err := os.ReadFile(rep.MovedTo); err != nil || !bytes.Equal(kept, damaged) {
		t.Errorf("damaged journal not kept as %s: %v", rep.MovedTo, err)
	}
	if after, err := CheckJournal(dir); err != nil || after.Corrupt() || after.Records != 0 {
		t.Errorf("journal after the repair: %+v %v", after, err)
	}
	db, err := Open(dir, Options{BootID: "C"}) // after a reboot: only durable state counts
	if err != nil {
		t.Fatalf("open after the repair: %v", err)
	}
	defer db.Close()
	expectReplayed(t, db, lost)
}

// TestJournalCorruptionAtRandomOffsets flips one byte at random offsets of
// a journal of 600 acknowledged records: Open either refuses, naming the
// offset of the damaged record, and the repair replays every other record;
// or (damage in the last record: a torn tail; or in unused head bytes)
// every record the damage spares is replayed. Never a silent cut in the
// middle.
func TestJournalCorruptionAtRandomOffsets(t *testing.T) {
	t.Parallel()
	fx := newCorruptFixture(t)
	size := fx.offs[corruptN]
	r := rand.New(rand.NewPCG(14, 1))
	offsets := []int64{0, 5, 19, 512, 1024, 2000, fx.offs[0], fx.offs[0] + 3, fx.offs[1] + 9, fx.offs[corruptN/2] + 1, fx.offs[corruptN-1] + 4}
	for len(offsets) < 32 {
		offsets = append(offsets, r.Int64N(size))
	}
	for _, off := range offsets {
		t.Run(fmt.Sprint(off), func(t *testing.T) {
			t.Parallel()
			dir := fx.clone(t)
			jp := filepath.Join(dir, journalName)
			flipAt(jp, off)
			damaged, _ := os.ReadFile(jp)
			rec := fx.recordAtOffset(off)
			switch {
			case off < journalMarkerOff && (off < journalHeadRecLen || off >= 512 && off < 512+journalHeadRecLen):
				// a checkpoint slot: refused, and nothing is lost
				expectRefused(t, dir, off/512*512, damaged)
				repairAndCheck(t, dir, damaged, nil)
			case rec < 0:
				// unused head bytes, or the close marker (a damaged
				// marker is ignored: the whole journal is replayed)
				db, err := Open(dir, Options{BootID: "B"})
				if err != nil {
					t.Fatalf("damage in unused head bytes: %v", err)
				}
				defer db.Close()
				expectReplayed(t, db, nil)
			case rec == corruptN-1:
				// the last record: indistinguishable from a torn write
				var log bytes.Buffer
				db, err := Open(dir, Options{BootID: "B", Logger: slog.New(slog.NewTextHandler(&log, nil))})
				if err != nil {
					t.Fatalf("damage in the last record: %v", err)
				}
				defer db.Close()
				expectReplayed(t, db, map[int]bool{rec: true})
				if want := fmt.Sprintf("offset=%d bytes=%d", fx.offs[rec], size-fx.offs[rec]); !strings.Contains(log.String(), want) {
					t.Errorf("log %q does not say %q", log.String(), want)
				}
			default:
				expectRefused(t, dir, fx.offs[rec], damaged)
				rep, err := CheckJournal(dir)
				if err != nil || !rep.Corrupt() || rep.FirstDamage() != fx.offs[rec] || rep.Records != corruptN-1 || rep.RecordsBefore != rec {
					t.Errorf("check: %+v %v", rep, err)
				}
				repairAndCheck(t, dir, damaged, map[int]bool{rec: true})
			}
		})
	}
}

// TestJournalMagicFlipIsRefused is the second case: a byte of the
// head's magic flipped made the journal read as an older headless one and
// every record was cut. It must be refused, and the repair lose nothing.
func TestJournalMagicFlipIsRefused(t *testing.T) {
	t.Parallel()
	fx := newCorruptFixture(t)
	dir := fx.clone(t)
	jp := filepath.Join(dir, journalName)
	flipAt(jp, 5)
	damaged, _ := os.ReadFile(jp)
	expectRefused(t, dir, 0, damaged)
	rep, err := CheckJournal(dir)
	if err != nil || rep.HeadDamage == "" || rep.Records != corruptN || len(rep.Damage) != 0 || !rep.CheckpointCertain || rep.Format != "current" {
		t.Errorf("check: %+v %v", rep, err)
	}
	repairAndCheck(t, dir, damaged, nil)
}

// TestJournalDamagedSecondSlot: a damaged slot next to a valid one is
// refused too — it may have held the newest checkpoint, whose records are
// gone — and the repair trusts the archives' newest durable state.
func TestJournalDamagedSecondSlot(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := openBoot(t, dir, "A")
	db.Create("s", corruptSpec(t), false)
	for _, r := range [][2]int{{0, 100}, {100, 200}} {
		b := Batch{}
		for i := r[0]; i < r[1]; i++ {
			b.Updates = append(b.Updates, corruptUpdate(i))
		}
		db.Apply(context.Background(), b)
		if err := db.Checkpoint(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for i := 200; i < corruptN; i++ {
		db.Apply(context.Background(), Batch{Updates: []Update{corruptUpdate(i)}, Positions: map[string][]byte{"src": []byte(fmt.Sprint(i))}})
	}
	crash(db)
	jp := filepath.Join(dir, journalName)
	flipAt(jp, 3) // slot 0 holds checkpoint 2, the newest
	damaged, _ := os.ReadFile(jp)
	expectRefused(t, dir, 0, damaged)
	repairAndCheckN(t, dir, damaged, nil, corruptN-200) // the checkpoints cut 200
}

// TestTornJournalTailIsCutAndLogged: a torn last group (kill -9 mid-write)
// is cut, and the log names the file, offset and bytes.
func TestTornJournalTailIsCutAndLogged(t *testing.T) {
	t.Parallel()
	fx := newCorruptFixture(t)
	cases := []struct {
		name string
		tear func(p string)
	}{
		{"partial header", func(p string) { appendBytes(p, []byte{9, 0, 0}) }},
		{"partial payload", func(p string) { appendBytes(p, []byte{200, 0, 0, 0, 1, 2, 3, 4, 0, 1}) }},
		{"partial payload, then zeros", func(p string) { appendBytes(p, append([]byte{200, 0, 0, 0, 1, 2, 3, 4, 0, 1}, make([]byte, 5000)...)) }},
		{"last record cut short", func(p string) { os.Truncate(p, fx.offs[corruptN]-2) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := fx.clone(t)
			jp := filepath.Join(dir, journalName)
			c.tear(jp)
			fi, _ := os.Stat(jp)
			lost := map[int]bool{}
			cut := fx.offs[corruptN]
			if fi.Size() < cut {
				lost[corruptN-1], cut = true, fx.offs[corruptN-1]
			}
			rep, err := CheckJournal(dir)
			if err != nil || rep.Corrupt() || rep.TornTail != fi.Size()-cut || rep.TornTailOffset != cut {
				t.Errorf("check: %+v %v", rep, err)
			}
			var log bytes.Buffer
			db, err := Open(dir, Options{BootID: "B", Logger: slog.New(slog.NewTextHandler(&log, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			expectReplayed(t, db, lost)
			want := fmt.Sprintf("file=%s offset=%d bytes=%d", jp, cut, fi.Size()-cut)
			if !strings.Contains(log.String(), "torn tail") || !strings.Contains(log.String(), want) {
				t.Errorf("log %q does not say %q", log.String(), want)
			}
			if now, _ := os.Stat(jp); now.Size() != cut {
				t.Errorf("journal %d bytes after the cut, want %d", now.Size(), cut)
			}
		})
	}
}

func appendBytes(p string, b []byte) {
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.Write(b)
	f.Close()
}

// TestJournalDamageShapes: damage that is not one flipped byte — a zeroed
// page inside the records (a power loss's hole), a stretch of garbage, two
// damaged places, a record whose checksum verifies but that does not
// decode at the very end — is refused, and the repair replays every
// record it spares.
func TestJournalDamageShapes(t *testing.T) {
	t.Parallel()
	fx := newCorruptFixture(t)
	undecodable := func(p string) {
		// a whole record, checksum and all, that does not decode
		payload := []byte{0, 5, 0, 0}
		hdr := make([]byte, 8)
		hdr[0] = byte(len(payload))
		sum := crc32Castagnoli(payload)
		hdr[4], hdr[5], hdr[6], hdr[7] = byte(sum), byte(sum>>8), byte(sum>>16), byte(sum>>24)
		appendBytes(p, append(hdr, payload...))
	}
	cases := []struct {
		name   string
		damage func(p string)
		first  int64 // offset the refusal names; -1: the first record changed
	}{
		{"zeroed page", func(p string) { writeAt(p, 8192, make([]byte, 4096)) }, -1},
		{"garbage", func(p string) { writeAt(p, fx.offs[100]+5, bytes.Repeat([]byte{0xa5}, 700)) }, fx.offs[100]},
		{"two places", func(p string) { flipAt(p, fx.offs[10]+2); flipAt(p, fx.offs[400]+9) }, fx.offs[10]},
		{"undecodable last record", undecodable, fx.offs[corruptN]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := fx.clone(t)
			jp := filepath.Join(dir, journalName)
			orig, _ := os.ReadFile(jp)
			c.damage(jp)
			damaged, _ := os.ReadFile(jp)
			lost := map[int]bool{}
			first := int64(-1)
			for i := 0; i < corruptN; i++ {
				if !bytes.Equal(orig[fx.offs[i]:fx.offs[i+1]], damaged[fx.offs[i]:fx.offs[i+1]]) {
					lost[i] = true
					if first < 0 {
						first = fx.offs[i]
					}
				}
			}
			if c.first >= 0 {
				first = c.first
			}
			expectRefused(t, dir, first, damaged)
			repairAndCheck(t, dir, damaged, lost)
		})
	}
}

// TestRepairLeavesSoundJournals: a sound journal is not moved; a torn tail
// is cut by the repair's open.
func TestRepairLeavesSoundJournals(t *testing.T) {
	t.Parallel()
	fx := newCorruptFixture(t)
	dir := fx.clone(t)
	jp := filepath.Join(dir, journalName)
	rep, err := RepairJournal(dir, Options{BootID: "B"})
	if err != nil || rep.Repaired || rep.TornTailCut || rep.MovedTo != "" {
		t.Errorf("repair of a sound journal: %+v %v", rep, err)
	}
	appendBytes(jp, []byte{1, 2, 3})
	rep, err = RepairJournal(dir, Options{BootID: "B", Logger: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))})
	if err != nil || rep.Repaired || !rep.TornTailCut {
		t.Errorf("repair of a torn tail: %+v %v", rep, err)
	}
	if fi, _ := os.Stat(jp); fi.Size() != fx.offs[corruptN] {
		t.Errorf("journal %d bytes after cutting the torn tail, want %d", fi.Size(), fx.offs[corruptN])
	}
	matches, _ := filepath.Glob(jp + ".damaged-*")
	if len(matches) != 0 {
		t.Errorf("files moved aside: %v", matches)
	}
	db := openBoot(t, dir, "C")
	defer db.Close()
	expectReplayed(t, db, nil)
}

// TestHeadlessJournalNeedsAValidFirstRecord: an older headless journal is
// recognised by its first record; garbage at offset 0 is refused.
func TestHeadlessJournalNeedsAValidFirstRecord(t *testing.T) {
	t.Parallel()
	var old []byte
	for i := 0; i < 5; i++ {
		payload := encodeRecord(&journalRecord{updates: []journalUpdate{{Update: corruptUpdate(i)}}})
		hdr := make([]byte, 8)
		hdr[0] = byte(len(payload))
		sum := crc32Castagnoli(payload)
		hdr[4], hdr[5], hdr[6], hdr[7] = byte(sum), byte(sum>>8), byte(sum>>16), byte(sum>>24)
		old = append(append(old, hdr...), payload...)
	}
	for _, c := range []struct {
		name    string
		b       []byte
		refused bool
	}{
		{"headless", old, false},
		{"headless, first record damaged", append([]byte{old[0] ^ 0xff}, old[1:]...), true},
		{"all zeros", make([]byte, 4096), true},
		{"empty: a new journal", nil, false},
	} {
		p := filepath.Join(t.TempDir(), journalName)
		os.WriteFile(p, c.b, 0o644)
		j, err := openJournal(p)
		var ce *JournalCorruptError
		if refused := errors.As(err, &ce); refused != c.refused || err != nil && !refused {
			t.Errorf("%s: %v, refused %v", c.name, err, c.refused)
		}
		if err == nil {
			j.close()
		}
	}
	// a current head cut short
	fx := newCorruptFixture(t)
	dir := fx.clone(t)
	jp := filepath.Join(dir, journalName)
	os.Truncate(jp, 3000)
	b, _ := os.ReadFile(jp)
	expectRefused(t, dir, 3000, b)
}

// FuzzJournalReplay damages a journal of known records (a patch of bytes
// at an offset, and a cut): opening it must either refuse with a
// *JournalCorruptError naming the file and an offset in it, leaving the
// file as it was, or replay every record the damage spared — never cut
// valid records in the middle.
func FuzzJournalReplay(f *testing.F) {
	dir := f.TempDir()
	db, err := Open(dir, Options{BootID: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	db.Create("s", corruptSpec(f), false)
	for i := 0; i < 40; i++ {
		b := Batch{Updates: []Update{corruptUpdate(i)}}
		if i%3 == 0 {
			u := corruptUpdate(i)
			u.Usec = 500000
			b.Updates = append(b.Updates, u)
			b.Positions = map[string][]byte{"src": []byte(fmt.Sprint(i))}
		}
		db.Apply(context.Background(), b)
	}
	crash(db)
	good, _ := os.ReadFile(filepath.Join(dir, journalName))
	jf, _ := os.Open(filepath.Join(dir, journalName))
	sc, err := scanJournal(jf, journalHeadSize, int64(len(good)))
	jf.Close()
	if err != nil || len(sc.damage) > 0 {
		f.Fatalf("seed journal: %v %v", err, sc.damage)
	}
	offs := append(sc.offs, int64(len(good)))
	f.Add(uint16(5), []byte{0}, uint16(0))
	f.Add(uint16(offs[3]+2), []byte{0xff}, uint16(0))
	f.Add(uint16(offs[39]+1), []byte{7}, uint16(0))
	f.Add(uint16(0), []byte{}, uint16(3))
	f.Add(uint16(offs[20]), bytes.Repeat([]byte{0}, 300), uint16(0))
	f.Fuzz(func(t *testing.T, at uint16, patch []byte, cut uint16) {
		if len(patch) > 512 {
			return
		}
		b := bytes.Clone(good)
		off := int(at) % len(b)
		copy(b[off:], patch)
		b = b[:len(b)-int(cut)%(len(b)+1)]
		p := filepath.Join(t.TempDir(), journalName)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		intact := func(i int) bool {
			return offs[i+1] <= int64(len(b)) && bytes.Equal(b[offs[i]:offs[i+1]], good[offs[i]:offs[i+1]])
		}
		refused := func(err error) {
			var ce *JournalCorruptError
			if !errors.As(err, &ce) || ce.Path != p || ce.Offset < 0 || ce.Offset > int64(len(b)) {
				t.Fatalf("open failed without a refusal naming %s and an offset in it: %v", p, err)
			}
			if now, _ := os.ReadFile(p); !bytes.Equal(now, b) {
				t.Fatal("a refused journal was changed")
			}
		}
		j, err := openJournal(p)
		if err != nil {
			refused(err)
			return
		}
		defer j.close()
		recs, err := j.records(j.start)
		if err != nil {
			refused(err)
			return
		}
		// every intact record is there, in order
		k := 0
		for i := range sc.recs {
			if !intact(i) {
				continue
			}
			for k < len(recs) && !sameRecord(recs[k], sc.recs[i]) {
				k++
			}
			if k == len(recs) {
				t.Fatalf("intact record %d (offset %d) not replayed", i, offs[i])
			}
			if fi, _ := os.Stat(p); fi.Size() < offs[i+1] {
				t.Fatalf("journal cut to %d bytes, before intact record %d", fi.Size(), i)
			}
		}
	})
}

func sameRecord(a, b journalRecord) bool {
	if len(a.updates) != len(b.updates) || len(a.positions) != len(b.positions) || a.stopOnError != b.stopOnError {
		return false
	}
	for i := range a.updates {
		x, y := a.updates[i], b.updates[i]
		if x.Series != y.Series || x.Time != y.Time || x.Usec != y.Usec || x.failed != y.failed || strings.Join(x.Values, ":") != strings.Join(y.Values, ":") {
			return false
		}
	}
	for k, v := range a.positions {
		if !bytes.Equal(b.positions[k], v) {
			return false
		}
	}
	if len(a.creates) != len(b.creates) {
		return false
	}
	for i, x := range a.creates {
		y := b.creates[i]
		if x.name != y.name || x.step != y.step || x.start != y.start || !slices.Equal(x.args, y.args) || !maps.Equal(x.meta, y.meta) {
			return false
		}
	}
	return true
}

// TestRecordShapeMatchesEncoder: every record the encoder writes has the
// shape resync looks for, and decodes back.
func TestRecordShapeMatchesEncoder(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 200; i++ {
		rec := journalRecord{stopOnError: r.IntN(2) == 0}
		for k := r.IntN(4); k >= 0; k-- {
			u := journalUpdate{Update: Update{Series: strings.Repeat("x", r.IntN(300)), Time: r.Int64() - math.MaxInt64/2, Usec: r.Int64N(1e6)}, failed: r.IntN(2) == 0}
			for v := r.IntN(5); v > 0; v-- {
				u.Values = append(u.Values, strings.Repeat("9", r.IntN(200)))
			}
			rec.updates = append(rec.updates, u)
		}
		if r.IntN(2) == 0 {
			rec.positions = map[string][]byte{"a": []byte("b"), strings.Repeat("k", r.IntN(200)): make([]byte, r.IntN(300))}
		}
		for k := r.IntN(3) - 1; k >= 0; k-- {
			c := journalCreate{name: strings.Repeat("c", 1+r.IntN(300)), step: r.Int64N(1e6) + 1, start: r.Int64() - math.MaxInt64/2}
			for a := r.IntN(5); a > 0; a-- {
				c.args = append(c.args, strings.Repeat("D", r.IntN(200)))
			}
			if r.IntN(2) == 0 {
				c.meta = map[string]string{"units": "B", strings.Repeat("m", r.IntN(100)): strings.Repeat("v", r.IntN(100))}
			}
			rec.creates = append(rec.creates, c)
		}
		if i%10 == 0 { // a creation-only record
			rec.updates, rec.positions = nil, nil
			rec.creates = append(rec.creates, journalCreate{name: "only", step: 60, args: []string{"DS:v:GAUGE:600:U:U"}})
		}
		payload := encodeRecord(&rec)
		if !recordShape(payload) {
			t.Fatalf("record %d: encoder output fails the shape test", i)
		}
		framed := append(make([]byte, 8), payload...)
		framed[0], framed[1] = byte(len(payload)), byte(len(payload)>>8)
		sum := crc32Castagnoli(payload)
		framed[4], framed[5], framed[6], framed[7] = byte(sum), byte(sum>>8), byte(sum>>16), byte(sum>>24)
		if got, n, ok := recordAt(framed); !ok || n != len(framed) || !sameRecord(got, rec) {
			t.Fatalf("record %d: recordAt %v %d", i, ok, n)
		}
	}
}

// BenchmarkJournalResync scans 16 MiB of records after damage at their
// start: the cost of finding every record after the damage.
func BenchmarkJournalResync(b *testing.B) {
	var buf []byte
	for i := 0; len(buf) < 16<<20; i++ {
		rec := journalRecord{updates: []journalUpdate{{Update: Update{Series: fmt.Sprintf("tracelog.web%d.requests", i%7), Time: 1700000000 + int64(i), Values: []string{fmt.Sprint(i % 977), "U"}}}}}
		payload := encodeRecord(&rec)
		hdr := make([]byte, 8)
		hdr[0], hdr[1] = byte(len(payload)), byte(len(payload)>>8)
		sum := crc32Castagnoli(payload)
		hdr[4], hdr[5], hdr[6], hdr[7] = byte(sum), byte(sum>>8), byte(sum>>16), byte(sum>>24)
		buf = append(append(buf, hdr...), payload...)
	}
	buf[20] ^= 0xff
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		sc, err := scanJournal(bytes.NewReader(buf), 0, int64(len(buf)))
		if err != nil || !sc.corrupt() {
			b.Fatal(err)
		}
	}
}
