package store

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// archiveAt says where series name's archive lies in data directory dir:
// the file holding it, the archive's offset in it and its size (a place
// in a pack, or a file of its own).
func archiveAt(t testing.TB, dir, name string) (path string, base, size int64) {
	t.Helper()
	ps, err := openPacks(dir, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.close()
	if pl, ok, _ := ps.lookup(name); ok {
		return ps.packs[pl.pack].path, pl.off, pl.size
	}
	p := filepath.Join(dir, "series", fileNameFor(name))
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, 0, fi.Size()
}

// readArchiveBytes returns the bytes of series name's archive.
func readArchiveBytes(t testing.TB, dir, name string) []byte {
	t.Helper()
	p, base, size := archiveAt(t, dir, name)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, size)
	if _, err := f.ReadAt(b, base); err != nil {
		t.Fatal(err)
	}
	return b
}

// writeArchiveBytes writes b over series name's archive (b's length is
// the archive's).
func writeArchiveBytes(t testing.TB, dir, name string, b []byte) {
	t.Helper()
	p, base, size := archiveAt(t, dir, name)
	if int64(len(b)) != size {
		t.Fatalf("writing %d bytes over an archive of %d", len(b), size)
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, base); err != nil {
		t.Fatal(err)
	}
}

// openArchiveOf opens series name's archive outside a DB.
func openArchiveOf(t testing.TB, dir, name string, tr trust) (*archive, error) {
	t.Helper()
	ps, err := openPacks(dir, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pl, ok, _ := ps.lookup(name); ok {
		return ps.openArchive(name, pl, tr, true, nil)
	}
	return openArchive(filepath.Join(dir, "series", fileNameFor(name)), tr, true, nil)
}

// flipArchive flips the byte at off of series name's archive.
func flipArchive(t testing.TB, dir, name string, off int64) {
	t.Helper()
	p, base, _ := archiveAt(t, dir, name)
	flipAt(p, base+off)
}

// writeArchiveAt writes b at off of series name's archive.
func writeArchiveAt(t testing.TB, dir, name string, off int64, b []byte) {
	t.Helper()
	p, base, _ := archiveAt(t, dir, name)
	writeAt(p, base+off, b)
}

// archiveFileCopy writes series name's archive into a file of its own
// (a place of a pack has a file's layout) and returns its path.
func archiveFileCopy(t testing.TB, dir, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), fileNameFor(name))
	if err := os.WriteFile(p, readArchiveBytes(t, dir, name), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// archivePathOf is how the store names series name's archive in messages
// (a file's path, or a pack's path and the place's offset).
func archivePathOf(t testing.TB, dir, name string) string {
	t.Helper()
	p, base, _ := archiveAt(t, dir, name)
	if filepath.Base(filepath.Dir(p)) == packDirName {
		return fmt.Sprintf("%s@%d (series %s)", p, base, name)
	}
	return p
}
