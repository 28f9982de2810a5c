package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// markerDir makes a data directory holding series "s" with updates 0..n,
// closed by a writer.
func markerDir(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	db := openBoot(t, dir, "b1")
	if err := db.Create("s", testSpec(t), false); err != nil {
		t.Fatal(err)
	}
	applyRange(t, db, 0, n)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// snapshot is every file of dir with its bytes and modification time.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		m[p] = fmt.Sprintf("%x %d", b, fi.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Readers share the directory: two at once both read (issue 23: the
// second one used to fail with an empty holder), a writer beside them is
// refused with both named, and nothing a reader does changes a byte.
func TestReadersShareTheLock(t *testing.T) {
	t.Parallel()
	dir := markerDir(t, 40)
	want := reference(t, 40)
	before := snapshot(t, dir)
	r1, err := Open(dir, Options{BootID: "b1", ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Open(dir, Options{BootID: "b1", ReadOnly: true})
	if err != nil {
		t.Fatalf("a second reader beside the first: %v", err)
	}
	if !r1.readOnly || !r2.readOnly {
		t.Fatal("the readers took the exclusive lock")
	}
	for _, r := range []*DB{r1, r2} {
		if got := fetchAll(t, r); got != want {
			t.Errorf("a reader read\n%s\nwant\n%s", got, want)
		}
		if _, err := r.Apply(t.Context(), Batch{Updates: markerUpdates(40, 41)}); !errors.Is(err, errReadOnly) {
			t.Errorf("Apply on a reader: %v, want %v", err, errReadOnly)
		}
		if err := r.Create("t", testSpec(t), false); !errors.Is(err, errReadOnly) {
			t.Errorf("Create on a reader: %v, want %v", err, errReadOnly)
		}
	}
	_, err = Open(dir, Options{BootID: "b1"})
	var le *LockError
	if !errors.As(err, &le) {
		t.Fatalf("a writer beside two readers: %v, want a *LockError", err)
	}
	if len(le.Holders) != 2 || le.Writer != 0 {
		t.Errorf("holders %q (writer %d), want two readers", le.Holders, le.Writer)
	}
	for _, h := range le.Holders {
		if !strings.HasPrefix(h, fmt.Sprintf("pid %d (", os.Getpid())) || !strings.Contains(h, ") reading since ") {
			t.Errorf("holder %q does not name this process as a reader", h)
		}
	}
	r1.Close()
	r2.Close()
	if after := snapshot(t, dir); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Error("readers changed the data directory")
	}
	w, err := Open(dir, Options{BootID: "b1"})
	if err != nil {
		t.Fatalf("a writer after the readers closed: %v", err)
	}
	w.Close()
}

// Whoever holds the lock is named, also one that left no line in the
// LOCK file (it died between taking the lock and writing it, or is an
// older rrdash that truncated the file first) and also a reader.
func TestLockErrorAlwaysNamesTheHolder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		how      int
		line     string
		readOnly bool
		want     string
	}{
		{"writer without a line, writer", syscall.LOCK_EX, "", false, ") writing since "},
		{"writer without a line, reader", syscall.LOCK_EX, "", true, ") writing since "},
		{"writer with a stale line", syscall.LOCK_EX, "pid 999999999 (gone) on elsewhere since 2000-01-01T00:00:00Z\n", false, ") writing since "},
		{"writer with its line", syscall.LOCK_EX, fmt.Sprintf("pid %d (rrdash serve) on h since 2026-01-01T00:00:00Z\n", os.Getpid()), true, " (rrdash serve) on h since "},
		{"reader", syscall.LOCK_SH, "", false, ") reading since "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := markerDir(t, 3)
			p := filepath.Join(dir, "LOCK")
			if err := os.WriteFile(p, []byte(tc.line), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			// A child forked by a parallel test holds the descriptors of
			// markerDir's store for a moment after it closed: retry.
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				err := syscall.Flock(int(f.Fd()), tc.how|syscall.LOCK_NB)
				if err == nil {
					break
				}
				if err != syscall.EWOULDBLOCK || time.Now().After(deadline) {
					t.Fatal(err)
				}
			}
			t0 := time.Now()
			_, err = Open(dir, Options{BootID: "b1", ReadOnly: tc.readOnly})
			var le *LockError
			if !errors.As(err, &le) {
				t.Fatalf("Open beside the holder: %v, want a *LockError", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "in use by another process (pid "+fmt.Sprint(os.Getpid())) || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not name pid %d with %q", msg, os.Getpid(), tc.want)
			}
			if tc.how == syscall.LOCK_EX && le.Writer != os.Getpid() {
				t.Errorf("LockError.Writer %d, want %d", le.Writer, os.Getpid())
			}
			if time.Since(t0) < lockWait {
				t.Errorf("Open gave up before waiting %v", lockWait)
			}
		})
	}
}

// A reader that finds journal records the archives lack (the writer was
// killed before its close) replays them as a writer, under the exclusive
// lock; the next reader reads without replaying.
func TestReaderAfterACrashedWriter(t *testing.T) {
	t.Parallel()
	dir := markerDir(t, 20)
	w := openBoot(t, dir, "b1")
	applyRange(t, w, 20, 40)
	crash(w)
	want := reference(t, 40)
	r, err := Open(dir, Options{BootID: "b1", ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.readOnly {
		t.Error("the reader did not take the exclusive lock to replay")
	}
	if got := fetchAll(t, r); got != want {
		t.Errorf("after the replay\n%s\nwant\n%s", got, want)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r2, err := Open(dir, Options{BootID: "b1", ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if !r2.readOnly {
		t.Error("a reader after a clean close took the exclusive lock")
	}
	if got := fetchAll(t, r2); got != want {
		t.Errorf("the next reader\n%s\nwant\n%s", got, want)
	}
	r2.Close()
	// after a reboot nothing of the close marker holds: a writer replays
	r3, err := Open(dir, Options{BootID: "b2", ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r3.Close()
	if got := fetchAll(t, r3); got != want {
		t.Errorf("after a reboot\n%s\nwant\n%s", got, want)
	}
}

// A reader of a new directory (no journal yet) makes it as a writer.
func TestReaderOfANewDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r, err := Open(dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Info("s"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Info of a missing series: %v", err)
	}
	r.Close()
	r2, err := Open(dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if !r2.readOnly {
		t.Error("the second reader of an initialised directory is a writer")
	}
}

func TestFlockHolders(t *testing.T) {
	t.Parallel()
	locks := []byte("1: FLOCK  ADVISORY  WRITE 4242 fe:00:9982660 0 EOF\n" +
		"1: -> FLOCK  ADVISORY  WRITE 4343 fe:00:9982660 0 EOF\n" +
		"2: FLOCK  ADVISORY  READ 17 fe:00:9982660 0 EOF\n" +
		"3: POSIX  ADVISORY  WRITE 18 fe:00:9982660 0 EOF\n" +
		"4: FLOCK  ADVISORY  READ 19 fe:01:9982660 0 EOF\n" +
		"garbage\n")
	got := flockHolders(locks, 0xfe00, 9982660)
	want := []flockEntry{{4242, true}, {17, false}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("flockHolders = %v, want %v", got, want)
	}
	if pidOf("pid 42 (x) on h since t") != 42 || pidOf("") != 0 || pidOf("pid x") != 0 {
		t.Error("pidOf")
	}
}
