package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func deleteTestUpdates(series string, from, to int) []Update {
	var ups []Update
	for i := from; i < to; i++ {
		ups = append(ups, Update{Series: series, Time: 1_800_000_000 + int64(i)*10, Values: []string{strconv.Itoa(i * i % 97)}})
	}
	return ups
}

func deleteTestSpec() Spec {
	s := DefaultTemplate()
	s.Step, s.Start = 10, 1_800_000_000-10
	s.RRA = []RRA{{CF: Average, XFF: 0.5, Steps: 1, Rows: 100}, {CF: Max, XFF: 0.5, Steps: 6, Rows: 50}}
	return s
}

func mustApply(t *testing.T, db *DB, ups []Update) {
	t.Helper()
	if res, err := db.Apply(context.Background(), Batch{Updates: ups}); err != nil || len(res.Errors) > 0 {
		t.Fatalf("apply: %v %v", err, res.Errors)
	}
}

// TestDeleteSeries deletes a series whose updates are still only in the
// journal, creates one of the same name, kills the process and checks
// that no update of the deleted series comes back.
func TestDeleteSeries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := openBoot(t, dir, "b")
	for _, n := range []string{"a", "b", "c;k=v"} {
		if err := db.Create(n, deleteTestSpec(), false); err != nil {
			t.Fatal(err)
		}
		mustApply(t, db, deleteTestUpdates(n, 0, 200))
	}
	if err := db.Delete("a", "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete of an unknown series: %v", err)
	}
	if names, _ := db.List(""); len(names) != 3 {
		t.Fatalf("a failed delete removed something: %v", names)
	}
	if err := db.Delete("a", "c;k=v"); err != nil {
		t.Fatal(err)
	}
	if names, _ := db.List(""); !slices.Equal(names, []string{"b"}) {
		t.Fatalf("list after delete: %v", names)
	}
	if _, err := db.Fetch("a", FetchRequest{CF: Average, Start: 1_800_000_000, End: 1_800_002_000}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("fetch of a deleted series: %v", err)
	}
	// the same name again, from an earlier time: the old updates, later
	// than these, must not be replayed into it
	if err := db.Create("a", deleteTestSpec(), false); err != nil {
		t.Fatal(err)
	}
	mustApply(t, db, deleteTestUpdates("a", 0, 50))
	want := seriesText(t, db, "a")
	wantB := seriesText(t, db, "b")
	crash(db)
	db = openBoot(t, dir, "b")
	defer db.Close()
	if got := seriesText(t, db, "a"); got != want {
		t.Errorf("a after kill -9:\n%s\nwant\n%s", got, want)
	}
	if got := seriesText(t, db, "b"); got != wantB {
		t.Errorf("b after kill -9 changed")
	}
	if last, _ := db.LastUpdate("a"); last != 1_800_000_000+49*10 {
		t.Errorf("a: last update %d", last)
	}
	if names, _ := db.List(""); !slices.Equal(names, []string{"a", "b"}) {
		t.Errorf("list after restart: %v", names)
	}
}

func seriesText(t *testing.T, db *DB, name string) string {
	t.Helper()
	var out []byte
	for _, cf := range []CF{Average, Max} {
		r, err := db.Fetch(name, FetchRequest{CF: cf, Start: 1_800_000_000 - 3000, End: 1_800_003_000})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, []byte(strconv.FormatInt(r.Start, 10)+" "+strconv.FormatInt(r.Step, 10)+"\n")...)
		for _, v := range r.Values[0] {
			out = strconv.AppendFloat(out, v, 'g', -1, 64)
			out = append(out, ' ')
		}
		out = append(out, '\n')
	}
	in, err := db.Info(name)
	if err != nil {
		t.Fatal(err)
	}
	in.Name = ""
	return string(out) + strconv.FormatInt(in.LastUpdate, 10) + in.DS[0].LastDS
}

// TestRenameSeries renames a series with journaled updates and demands the
// same rows, state and metadata under the new name, before and after a
// kill -9, with updates going on under the new name.
func TestRenameSeries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := openBoot(t, dir, "b")
	if err := db.CreateWithMeta("old.name", deleteTestSpec(), map[string]string{"units": "B"}, false); err != nil {
		t.Fatal(err)
	}
	if err := db.Create("other", deleteTestSpec(), false); err != nil {
		t.Fatal(err)
	}
	mustApply(t, db, deleteTestUpdates("old.name", 0, 150))
	want := seriesText(t, db, "old.name")
	for _, tc := range []struct{ old, new, err string }{
		{"nope", "x", "not found"},
		{"old.name", "other", "already exists"},
		{"old.name", "old.name", "is the old one"},
		{"old.name", "", "empty"},
	} {
		if err := db.Rename(tc.old, tc.new); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("rename %q → %q: error %v, want %q", tc.old, tc.new, err, tc.err)
		}
	}
	if err := db.Rename("old.name", "new.name;k=v"); err != nil {
		t.Fatal(err)
	}
	if got := seriesText(t, db, "new.name;k=v"); got != want {
		t.Errorf("renamed:\n%s\nwant\n%s", got, want)
	}
	if _, err := db.Info("old.name"); !errors.Is(err, ErrNotFound) {
		t.Errorf("old name still there: %v", err)
	}
	if m, _ := db.Meta("new.name;k=v"); m["units"] != "B" {
		t.Errorf("meta %v", m)
	}
	mustApply(t, db, deleteTestUpdates("new.name;k=v", 150, 230))
	want = seriesText(t, db, "new.name;k=v")
	crash(db)
	db = openBoot(t, dir, "b")
	defer db.Close()
	if got := seriesText(t, db, "new.name;k=v"); got != want {
		t.Errorf("after kill -9:\n%s\nwant\n%s", got, want)
	}
	if names, _ := db.List(""); !slices.Equal(names, []string{"new.name;k=v", "other"}) {
		t.Errorf("list: %v", names)
	}
	if _, err := os.Stat(filepath.Join(dir, renameIntent)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("intent left behind: %v", err)
	}
}

// TestRenameCrashPoints leaves a data directory as a kill -9 at each step
// of a rename would and checks that Open (a writer, or a reader that hands
// over to one) ends with exactly one of the names, with its data.
func TestRenameCrashPoints(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	db := openBoot(t, base, "b")
	if err := db.Create("a", deleteTestSpec(), false); err != nil {
		t.Fatal(err)
	}
	mustApply(t, db, deleteTestUpdates("a", 0, 120))
	want := seriesText(t, db, "a")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// the new file as a rename writes it
	done := t.TempDir()
	copyDir(t, base, done)
	db = openBoot(t, done, "b")
	if err := db.Rename("a", "c"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	newFile, err := os.ReadFile(filepath.Join(done, "series", fileNameFor("c")))
	if err != nil {
		t.Fatal(err)
	}
	intent := []byte(`{"old":"a","new":"c"}`)
	for _, tc := range []struct {
		name     string
		files    map[string][]byte // relative to the data directory
		survivor string
		reader   bool
	}{
		{"intent only", map[string][]byte{renameIntent: intent}, "a", false},
		{"half-written new file", map[string][]byte{renameIntent: intent, "series/" + fileNameFor("c") + ".tmp": newFile[:len(newFile)/2]}, "a", false},
		{"new file in place", map[string][]byte{renameIntent: intent, "series/" + fileNameFor("c"): newFile}, "c", false},
		{"new file in place, a reader first", map[string][]byte{renameIntent: intent, "series/" + fileNameFor("c"): newFile}, "c", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, base, dir)
			for p, b := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, p), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			db, err := Open(dir, Options{BootID: "b", ReadOnly: tc.reader})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if names, _ := db.List(""); !slices.Equal(names, []string{tc.survivor}) {
				t.Fatalf("series %v, want [%s]", names, tc.survivor)
			}
			if got := seriesText(t, db, tc.survivor); got != want {
				t.Errorf("%s:\n%s\nwant\n%s", tc.survivor, got, want)
			}
			ents, _ := os.ReadDir(filepath.Join(dir, "series"))
			if packed := db.packedNames(); len(ents)+len(packed) != 1 {
				t.Errorf("files left: %v, series in packs: %q", ents, packed)
			}
			if _, err := os.Stat(filepath.Join(dir, renameIntent)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("intent left behind: %v", err)
			}
		})
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		if d.Name() == "LOCK" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
