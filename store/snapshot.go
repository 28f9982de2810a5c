package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A snapshot is a data directory of its own, taken from a live DB at a
// checkpoint, the way a base backup plus write-ahead log is taken:
//
//  1. under the DB's lock: a checkpoint (sequence k);
//  2. without the lock: every archive file is copied while writers go on
//     (rows written meanwhile may or may not be in the copy);
//  3. under the lock again: archives created or replaced meanwhile are
//     copied again, those removed are dropped, and the journal — every
//     record since k — and positions.json are copied;
//  4. the copy is opened as a store of its own: its journal is replayed
//     onto the state slots of checkpoint k (which no writer changed, as no
//     checkpoint ran: else everything is copied again under the lock), a
//     checkpoint makes it clean, and every row block is verified.
//
// It is consistent because a row reaches an archive only after the journal
// record that writes it is durable (docs/STORE.md, "Row checksums"), and
// the journal is copied after the archives: every row in the copy that k's
// state lacks is rewritten by the replay, with its block's checksum —
// exactly the recovery after a crash of the machine. Writers wait only for
// the checkpoint and for step 3, not for the copy of the archives.

// SnapshotReport says what DB.Snapshot did.
type SnapshotReport struct {
	// Checkpoint is the sequence of the checkpoint the snapshot starts
	// from; the copy holds every update acknowledged before step 3.
	Checkpoint uint64
	Archives   int   // archive files in the snapshot
	Bytes      int64 // their bytes
	// JournalBytes is how much journal (records after Checkpoint) was
	// copied and replayed into the snapshot.
	JournalBytes int64
	Recopied     int  // archives created or replaced during the copy, copied again under the lock
	Fallback     bool // a checkpoint ran during the copy: everything was copied under the lock
	// Locked is the longest time writers waited for the snapshot: the
	// longer of HeldCheckpoint (step 1) and HeldCopy (step 3).
	Locked, HeldCheckpoint, HeldCopy time.Duration
}

// Snapshot copies the DB into dest, an empty directory, as a clean data
// directory of its own (see above), and verifies every row block of the
// copy. Writers are held only for a checkpoint and for the copy of the
// journal and of the archives created during the copy.
func (db *DB) Snapshot(ctx context.Context, dest string) (*SnapshotReport, error) {
	return db.snapshot(ctx, dest, nil)
}

// snapshot is Snapshot; afterCopy, when set, runs between the copy of the
// archives and the held step (tests write there).
func (db *DB) snapshot(ctx context.Context, dest string, afterCopy func()) (*SnapshotReport, error) {
	if db.readOnly {
		return nil, fmt.Errorf("snapshot: %w", errReadOnly)
	}
	if err := emptyDir(dest); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	src := filepath.Join(db.dir, "series")
	dst := filepath.Join(dest, "series")
	if err := os.Mkdir(dst, 0o755); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	rep := &SnapshotReport{}
	var packMark int64 // the pack index's length at the checkpoint
	hold := func(held *time.Duration, f func() error) error {
		t0 := time.Now()
		db.mu.Lock()
		defer func() {
			db.mu.Unlock()
			*held = time.Since(t0)
			rep.Locked = max(rep.Locked, *held)
		}()
		if db.closed {
			return errors.New("store is closed")
		}
		return f()
	}
	// 1. the checkpoint the copy starts from
	if err := hold(&rep.HeldCheckpoint, func() error {
		if err := db.checkpointLocked(); err != nil {
			return err
		}
		rep.Checkpoint = db.jr.ckpt
		packMark = db.packs.idxEnd
		return nil
	}); err != nil {
		return nil, fmt.Errorf("snapshot: checkpoint: %w", err)
	}
	if err := copyPacks(db.packs.dir, filepath.Join(dest, packDirName)); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	// 2. the archives, while writers go on
	copied := map[string]fileID{}
	ents, err := archiveFiles(src)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	for _, fn := range ents {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
		id, _, err := snapCopyFile(filepath.Join(src, fn), filepath.Join(dst, fn), -1)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
		copied[fn] = id
	}
	if afterCopy != nil {
		afterCopy()
	}
	// 3. what changed meanwhile, and the journal
	if err := hold(&rep.HeldCopy, func() error {
		if db.jr.ckpt != rep.Checkpoint {
			// the slots of the files copied early may be older than the
			// journal now holds: copy everything again, held
			rep.Fallback = true
			if err := db.checkpointLocked(); err != nil {
				return err
			}
			rep.Checkpoint = db.jr.ckpt
			for fn := range copied {
				if err := os.Remove(filepath.Join(dst, fn)); err != nil {
					return err
				}
			}
			clear(copied)
			if err := copyPacks(db.packs.dir, filepath.Join(dest, packDirName)); err != nil {
				return err
			}
			if _, err := db.packs.recopyPacks(filepath.Join(dest, packDirName), db.packs.idxEnd); err != nil {
				return err
			}
		} else {
			n, err := db.packs.recopyPacks(filepath.Join(dest, packDirName), packMark)
			if err != nil {
				return err
			}
			rep.Recopied += n
		}
		if err := db.jr.syncAll(); err != nil {
			return err
		}
		now, err := archiveFiles(src)
		if err != nil {
			return err
		}
		present := map[string]bool{}
		for _, fn := range now {
			present[fn] = true
			id, err := statID(filepath.Join(src, fn))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			if old, ok := copied[fn]; ok && old == id {
				continue
			}
			if _, ok := copied[fn]; ok {
				if err := os.Remove(filepath.Join(dst, fn)); err != nil {
					return err
				}
			}
			if copied[fn], _, err = snapCopyFile(filepath.Join(src, fn), filepath.Join(dst, fn), -1); err != nil {
				return err
			}
			if !rep.Fallback {
				rep.Recopied++
			}
		}
		for fn := range copied {
			if !present[fn] {
				if err := os.Remove(filepath.Join(dst, fn)); err != nil {
					return err
				}
				delete(copied, fn)
			}
		}
		db.jr.mu.Lock()
		end := db.jr.written
		db.jr.mu.Unlock()
		if _, n, err := snapCopyFile(db.jr.path, filepath.Join(dest, "journal.wal"), end); err != nil {
			return err
		} else {
			rep.JournalBytes = n - journalHeadSize
		}
		_, _, err = snapCopyFile(db.positionsPath(), filepath.Join(dest, "positions.json"), -1)
		if errors.Is(err, fs.ErrNotExist) {
			err = nil // no source has reported a position yet
		}
		return err
	}); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	if err := syncDir(dst); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	if err := syncDir(dest); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	// 4. replay into the copy, checkpoint it, verify it
	if err := finishSnapshot(ctx, dest, db.opt); err != nil {
		return nil, err
	}
	fns, err := archiveFiles(dst)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	rep.Archives = len(fns)
	if cps, err := openPacks(dest, true, nil); err == nil {
		rep.Archives += cps.names.len()
		cps.names.each(func(_ []byte, pl place) { rep.Bytes += pl.size })
		cps.close()
	}
	for _, fn := range fns {
		if fi, err := os.Stat(filepath.Join(dst, fn)); err == nil {
			rep.Bytes += fi.Size()
		}
	}
	return rep, nil
}

// finishSnapshot opens the copied directory, which replays its journal,
// checkpoints it and checks every archive.
func finishSnapshot(ctx context.Context, dest string, opt Options) error {
	cdb, err := Open(dest, Options{Logger: opt.Logger, BootID: opt.BootID})
	if err != nil {
		return fmt.Errorf("snapshot: opening the copy %s: %w", dest, err)
	}
	err = cdb.Checkpoint(ctx)
	var vr *VerifyReport
	if err == nil {
		vr, err = cdb.VerifyArchives(ctx)
	}
	if cerr := cdb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("snapshot: the copy %s: %w", dest, err)
	}
	// LOCK is the copy's own; a restored directory makes its own
	if err := os.Remove(filepath.Join(dest, "LOCK")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("snapshot: %w", err)
	}
	if len(vr.Damage) > 0 {
		var b strings.Builder
		for _, d := range vr.Damage {
			fmt.Fprintf(&b, "\n  %s", d)
		}
		return fmt.Errorf("snapshot: the data directory holds damaged archives (run rrdash check --repair, then back up again):%s", b.String())
	}
	return nil
}

// fileID tells a file from one that replaced it under the same name.
type fileID struct{ dev, ino uint64 }

func statID(p string) (fileID, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return fileID{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, fmt.Errorf("%s: no inode", p)
	}
	return fileID{uint64(st.Dev), st.Ino}, nil
}

// archiveFiles lists the archive files of a series directory.
func archiveFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".rrd") && e.Type().IsRegular() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// snapCopyFile copies src (its first limit bytes; all when limit < 0) to a new
// file dst and syncs it. The kernel copies (copy_file_range: a reflink on
// filesystems that share extents). It returns the source's identity and
// the bytes copied.
func snapCopyFile(src, dst string, limit int64) (fileID, int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return fileID{}, 0, err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return fileID{}, 0, err
	}
	var id fileID
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id = fileID{uint64(st.Dev), st.Ino}
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return id, 0, err
	}
	size := fi.Size()
	if limit >= 0 {
		size = min(size, limit)
	}
	n, err := copySparse(out, in, size)
	if err == nil && limit >= 0 && n != limit {
		err = fmt.Errorf("copying %s: %d of %d bytes", src, n, limit)
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return id, n, fmt.Errorf("copying %s to %s: %w", src, dst, err)
	}
	return id, n, nil
}

// copySparse copies the first size bytes of in to out keeping in's holes
// holes: archives are sparse (unwritten rows take no disk), and a copy
// that wrote their zeros would take several times the source's disk. The
// data runs are copied by the kernel (copy_file_range). It returns size
// once done: holes count as copied.
func copySparse(out, in *os.File, size int64) (int64, error) {
	var off int64
	for off < size {
		data, err := in.Seek(off, unix.SEEK_DATA)
		if errors.Is(err, syscall.ENXIO) { // only a hole is left
			break
		}
		if err != nil {
			return off, fmt.Errorf("seeking data at %d: %w", off, err)
		}
		if data >= size {
			break
		}
		hole, err := in.Seek(data, unix.SEEK_HOLE)
		if err != nil {
			return off, fmt.Errorf("seeking a hole at %d: %w", data, err)
		}
		hole = min(hole, size)
		if _, err := in.Seek(data, io.SeekStart); err != nil {
			return off, err
		}
		if _, err := out.Seek(data, io.SeekStart); err != nil {
			return off, err
		}
		if n, err := io.CopyN(out, in, hole-data); err != nil {
			return data + n, err
		}
		off = hole
	}
	if err := out.Truncate(size); err != nil {
		return off, err
	}
	return size, nil
}

// emptyDir checks that dir exists, is a directory and holds nothing.
func emptyDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return fmt.Errorf("%s is not empty (it holds %s)", dir, ents[0].Name())
	}
	return nil
}

// ManifestName is the file in a backup that lists every other file with
// its size and SHA-256. It is written last: a directory without it is not
// a finished backup.
const ManifestName = "MANIFEST.json"

// Manifest describes a backup.
type Manifest struct {
	Format  int               `json:"format"` // 1
	Created time.Time         `json:"created"`
	Info    map[string]string `json:"info,omitempty"` // what the writer wants to say (version, source, checkpoint)
	Files   []ManifestFile    `json:"files"`
}

// ManifestFile is one file of a backup, by its slash-separated path.
type ManifestFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// WriteManifest lists every regular file under dir with its checksum in
// dir/MANIFEST.json (written to a temporary name, synced and renamed).
func WriteManifest(dir string, info map[string]string, now time.Time) (*Manifest, error) {
	m := &Manifest{Format: 1, Created: now.UTC(), Info: info}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() || rel == ManifestName || rel == ManifestName+".tmp" {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", p)
		}
		size, sum, err := hashFile(p)
		if err != nil {
			return err
		}
		m.Files = append(m.Files, ManifestFile{Path: filepath.ToSlash(rel), Size: size, SHA256: sum})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", dir, err)
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	tmp := filepath.Join(dir, ManifestName+".tmp")
	if err := writeFileSync(tmp, append(b, '\n')); err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", dir, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, ManifestName)); err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", dir, err)
	}
	return m, syncDir(dir)
}

// ReadManifest reads dir's manifest without checking the files.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s has no %s: not a backup, or one that did not finish", dir, ManifestName)
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestName), err)
	}
	if m.Format != 1 {
		return nil, fmt.Errorf("%s: format %d, this rrdash reads format 1", filepath.Join(dir, ManifestName), m.Format)
	}
	for _, f := range m.Files {
		if f.Path == "" || !filepath.IsLocal(filepath.FromSlash(f.Path)) || f.Path == ManifestName {
			return nil, fmt.Errorf("%s: file path %q outside the backup", filepath.Join(dir, ManifestName), f.Path)
		}
	}
	return &m, nil
}

// VerifyManifest checks every file the manifest of dir lists — size and
// SHA-256 — and that dir holds no file it does not list. The error names
// every file that fails.
func VerifyManifest(dir string) (*Manifest, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	var bad []string
	listed := map[string]bool{}
	for _, f := range m.Files {
		listed[f.Path] = true
		size, sum, err := hashFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		switch {
		case err != nil:
			bad = append(bad, fmt.Sprintf("%s: %v", f.Path, err))
		case size != f.Size:
			bad = append(bad, fmt.Sprintf("%s: %d bytes, the manifest says %d", f.Path, size, f.Size))
		case sum != f.SHA256:
			bad = append(bad, fmt.Sprintf("%s: SHA-256 %s, the manifest says %s", f.Path, sum, f.SHA256))
		}
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if !d.IsDir() && rel != ManifestName && !listed[filepath.ToSlash(rel)] {
			bad = append(bad, fmt.Sprintf("%s: not in the manifest", filepath.ToSlash(rel)))
		}
		return nil
	})
	if err != nil {
		return m, err
	}
	if len(bad) > 0 {
		return m, fmt.Errorf("backup %s fails verification:\n  %s", dir, strings.Join(bad, "\n  "))
	}
	return m, nil
}

func hashFile(p string) (int64, string, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return n, "", fmt.Errorf("reading %s: %w", p, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// RestoreIncomplete is the file a restore writes first into the directory
// it fills and removes last: rrdash refuses a data directory holding it.
const RestoreIncomplete = "RESTORE-INCOMPLETE"

// CheckRestoreComplete refuses a data directory a restore did not finish.
func CheckRestoreComplete(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, RestoreIncomplete)); err == nil {
		return fmt.Errorf("data directory %s: a restore did not finish (%s is there): remove the directory's contents and run rrdash restore-backup again", dir, RestoreIncomplete)
	}
	return nil
}

// RestoreSnapshot verifies the backup src against its manifest and copies
// it into dir, which must not exist or be empty. The marker
// RestoreIncomplete is there until every file is copied and synced.
func RestoreSnapshot(src, dir string) (*Manifest, error) {
	m, err := VerifyManifest(src)
	if err != nil {
		return nil, err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return m, fmt.Errorf("restore: %w", err)
	}
	if err := emptyDir(dir); err != nil {
		return m, fmt.Errorf("restore: refusing a target that is not empty: %w", err)
	}
	marker := filepath.Join(dir, RestoreIncomplete)
	if err := writeFileSync(marker, []byte("rrdash restore-backup from "+src+" is copying into this directory\n")); err != nil {
		return m, fmt.Errorf("restore: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return m, fmt.Errorf("restore: %w", err)
	}
	dirs := map[string]bool{}
	for _, f := range m.Files {
		to := filepath.Join(dir, filepath.FromSlash(f.Path))
		if d := filepath.Dir(to); !dirs[d] {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return m, fmt.Errorf("restore: %w", err)
			}
			dirs[d] = true
		}
		if _, n, err := snapCopyFile(filepath.Join(src, filepath.FromSlash(f.Path)), to, -1); err != nil {
			return m, fmt.Errorf("restore: %w", err)
		} else if n != f.Size {
			return m, fmt.Errorf("restore: %s changed while copied (%d bytes, the manifest says %d)", f.Path, n, f.Size)
		}
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return m, fmt.Errorf("restore: %w", err)
		}
	}
	if err := os.Remove(marker); err != nil {
		return m, fmt.Errorf("restore: %w", err)
	}
	return m, syncDir(dir)
}
