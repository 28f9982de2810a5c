package store

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestDiskFull runs the store on a tiny tmpfs: creating a series that does
// not fit and appending to a full journal must fail with a clear error, and
// what was acknowledged before must still be there after a restart.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the disk-full test mounts a tmpfs and needs root (CI=true)")
		}
		t.Skip("needs root to mount a small tmpfs")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", mnt).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount tmpfs: %v %s", err, out)
		}
		t.Skipf("cannot mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	dir := filepath.Join(mnt, "data")
	// preallocated archives: a creation that does not fit fails
	db, err := Open(dir, Options{Preallocate: true})
	if err != nil {
		t.Fatal(err)
	}
	small, _ := ParseSpecArgs(10, 1000000000, []string{"DS:a:GAUGE:20:U:U", "RRA:LAST:0:1:100"})
	if err := db.Create("small", small, false); err != nil {
		t.Fatal(err)
	}
	big, _ := ParseSpecArgs(10, 1000000000, []string{"DS:a:GAUGE:20:U:U", "RRA:LAST:0:1:100000"})
	err = db.Create("big", big, false)
	if err == nil || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "big") {
		t.Fatalf("creating a series that does not fit: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "series", "big.rrd")); !os.IsNotExist(err) {
		t.Errorf("a partial archive was left behind: %v", err)
	}
	// fill the journal until the disk is full
	ctx := context.Background()
	acked := int64(1000000000)
	var werr error
	for i := int64(1); i < 100000 && werr == nil; i++ {
		tm := 1000000000 + 10*i
		_, werr = db.Apply(ctx, Batch{Updates: []Update{{Series: "small", Time: tm, Values: []string{strings.Repeat("1", 25)}}}})
		if werr == nil {
			acked = tm
		}
	}
	if werr == nil || !errors.Is(werr, syscall.ENOSPC) {
		t.Fatalf("journal on a full disk: %v", werr)
	}
	if _, err := db.Apply(ctx, Batch{Updates: []Update{{Series: "small", Time: acked + 1000, Values: []string{"1"}}}}); err == nil {
		t.Error("a store whose journal failed accepted another write")
	}
	crash(db)
	// the acknowledged updates survive a restart (the replay checkpoints, and
	// the journal is cut, which frees the space again)
	db2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if last, err := db2.LastUpdate("small"); err != nil || last != acked {
		t.Errorf("after restart: last update %d (%v), acknowledged %d", last, err, acked)
	}
	// Sparse archives (the default): the creation fits, and rows that do
	// not fit fail the write with ENOSPC naming the archive — never a
	// SIGBUS from a write through the mapping into a hole.
	if err := db2.Checkpoint(ctx); err != nil { // cuts the journal: space again
		t.Fatal(err)
	}
	if err := db2.Create("big", big, false); err != nil {
		t.Fatalf("creating a sparse archive: %v", err)
	}
	_, err = db2.Apply(ctx, Batch{Updates: []Update{{Series: "big", Time: 1000000010, Values: []string{"1"}},
		{Series: "big", Time: 1000000010 + 10*200000, Values: []string{"2"}}}})
	if err == nil || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "series big") { // its place in a pack
		t.Fatalf("writing rows that do not fit into a sparse archive: %v", err)
	}
}
