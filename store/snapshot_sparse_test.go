package store

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A backup keeps an archive's holes: a dense copy of a sparse archive
// would take several times its disk.
func TestSnapshotCopyKeepsHoles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	const size = 8 << 20
	head := bytes.Repeat([]byte{1}, 4096)
	tail := bytes.Repeat([]byte{2}, 4096)
	if _, err := f.WriteAt(head, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(tail, size/2); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	dst := filepath.Join(dir, "dst")
	if _, n, err := snapCopyFile(src, dst, -1); err != nil || n != size {
		t.Fatalf("copy: %d bytes, %v", n, err)
	}
	want, _ := os.ReadFile(src)
	got, _ := os.ReadFile(dst)
	if !bytes.Equal(got, want) {
		t.Fatal("the copy differs from the source")
	}
	var ss, ds syscall.Stat_t
	if err := syscall.Stat(src, &ss); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Stat(dst, &ds); err != nil {
		t.Fatal(err)
	}
	if ss.Blocks*512 >= size/2 {
		t.Skipf("this file system does not keep holes (%d bytes allocated for %d)", ss.Blocks*512, size)
	}
	if ds.Blocks > 2*ss.Blocks+64 {
		t.Fatalf("the copy allocates %d bytes, the source %d: holes were filled", ds.Blocks*512, ss.Blocks*512)
	}
	// a limit inside the file copies that much
	dst2 := filepath.Join(dir, "dst2")
	if _, n, err := snapCopyFile(src, dst2, 4096+10); err != nil || n != 4096+10 {
		t.Fatalf("copy with a limit: %d bytes, %v", n, err)
	}
}
