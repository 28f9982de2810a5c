package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Snapshots of packs (snapshot.go): the index and every pack are copied
// (holes kept) while writers go on, like the archive files; under the
// lock again, the places created since the copy began — the index's
// records past the length it had at the checkpoint — are copied again, and
// the index last, so every series in the copied index has its head.
// Rows written meanwhile are the journal's to rewrite, as for files.

// copyPacks copies DATA/packs into dest/packs (a snapshot's step 2, or
// all of it under the lock in the fallback). No packs: nothing.
func copyPacks(src, dst string) error {
	ents, err := os.ReadDir(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	if err := os.Mkdir(dst, 0o755); err != nil {
		return err
	}
	for _, e := range ents {
		fn := e.Name()
		if fn != packIndexName && !strings.HasSuffix(fn, ".pack") {
			continue
		}
		if _, _, err := snapCopyFile(filepath.Join(src, fn), filepath.Join(dst, fn), -1); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return syncDir(dst)
}

// recopyPacks brings dst (a copy of the packs made since the index was
// from bytes long) up to date under the lock: the places created since
// are copied again, each pack is cut after its last place (the rest is
// unused: a backup need not hold what a pack grew by ahead),
// and the index is copied whole.
func (ps *packSet) recopyPacks(dst string, from int64) (int, error) {
	if ps.idx < 0 {
		return 0, nil // no packs
	}
	if _, err := os.Stat(dst); errors.Is(err, fs.ErrNotExist) {
		// the packs appeared during the copy
		if err := copyPacks(ps.dir, dst); err != nil {
			return 0, err
		}
		from = ps.idxEnd
	}
	var recopied int
	if from < ps.idxEnd {
		b := make([]byte, ps.idxEnd-from)
		if _, err := ps.idx.readAt(b, from); err != nil {
			return 0, fmt.Errorf("pack index: %w", err)
		}
		for off := 0; off < len(b); {
			r, n, ok := decodePackRec(b[off:])
			if !ok {
				return 0, fmt.Errorf("pack index: a record at %d does not verify", from+int64(off))
			}
			off += n
			if pl, ok := ps.names.get(r.name); r.kind != packRecPlace || !ok || pl != r.pl {
				continue
			}
			if err := copyRange(ps.packs[r.pl.pack].path, filepath.Join(dst, filepath.Base(ps.packs[r.pl.pack].path)), r.pl.off, r.pl.size); err != nil {
				return recopied, err
			}
			recopied++
		}
	}
	for _, pk := range ps.packs {
		if _, err := os.Stat(pk.path); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		dp := filepath.Join(dst, filepath.Base(pk.path))
		if err := os.Truncate(dp, pk.end); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				return recopied, err
			}
			if _, _, err := snapCopyFile(pk.path, dp, pk.end); err != nil {
				return recopied, err
			}
		}
		if err := syncPath(dp); err != nil {
			return recopied, err
		}
	}
	ip := filepath.Join(dst, packIndexName)
	if err := os.Remove(ip); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return recopied, err
	}
	if _, _, err := snapCopyFile(filepath.Join(ps.dir, packIndexName), ip, ps.idxEnd); err != nil {
		return recopied, err
	}
	return recopied, syncDir(dst)
}

// copyRange copies n bytes at off of src into dst at the same offset (dst
// is made when missing).
func copyRange(src, dst string, off, n int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	for done := int64(0); done < n; {
		ri, wi := off+done, off+done
		k, err := unix.CopyFileRange(int(in.Fd()), &ri, int(out.Fd()), &wi, int(n-done), 0)
		if err != nil {
			return fmt.Errorf("copying %s at %d to %s: %w", src, off+done, dst, err)
		}
		if k == 0 {
			break // past the source's end: nothing more was written there
		}
		done += int64(k)
	}
	return nil
}

func syncPath(p string) error {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
