package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"rrdash/store"
	"rrdash/store/meta"
	"rrdash/ui/obs"
)

const backupUsage = `Usage: rrdash [--data DIR] backup [--daemon ADDR] DEST

Writes a backup of the data directory into DEST, a directory that must not
exist or be empty: the archives and the journal at a checkpoint, every
update acknowledged before the backup's end replayed into them, the source
positions, and metadata.db (SQLite's VACUUM INTO). When "rrdash serve" holds
the directory, the server writes the backup (through DIR/rrdcached.sock, or
the server --daemon names): DEST is then a path on the server's machine,
writable by the server's user. Otherwise the directory is opened and the
backup written by this command.

Writers wait only for a checkpoint and for the copy of the journal: the
archives are copied while ingest goes on. The backup is built in
DEST.rrdash-backup-incomplete and renamed to DEST once it is verified:
rrdash check on it, and MANIFEST.json listing every file with its size and
SHA-256. The monitor-secret key file (monitors.secrets_key_file) lives
outside the data directory and is not in the backup: keep a copy of it.

Restore with: rrdash restore-backup DEST --data NEWDIR
`

const restoreBackupUsage = `Usage: rrdash restore-backup SRC --data DIR

Verifies the backup SRC (every file's size and SHA-256 against its
MANIFEST.json, no file missing or added) and copies it into DIR, which must
not exist or be empty; then checks the result as rrdash check does. While it
copies, DIR holds RESTORE-INCOMPLETE and rrdash refuses to open it.
Sources resume from the positions the backup recorded.
`

// incompleteSuffix names the directory a backup is built in.
const incompleteSuffix = ".rrdash-backup-incomplete"

func runBackup(ctx context.Context, dir, daemon string, args []string, stdout io.Writer) error {
	opts, pos, err := options(args, map[string]string{"--daemon": "daemon", "-d": "daemon", "--data": "data"},
		map[string]string{"--help": "help", "-h": "help"})
	if err != nil {
		return err
	}
	if opts["help"] != "" {
		fmt.Fprint(stdout, backupUsage)
		return nil
	}
	if len(pos) != 1 {
		return usageError{"backup takes one argument, DEST (rrdash backup --help)"}
	}
	dir, daemon = orDefault(opts["data"], dir), orDefault(opts["daemon"], daemon)
	dest, err := filepath.Abs(pos[0])
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if daemon == "" {
		daemon = os.Getenv("RRDCACHED_ADDRESS")
	}
	dir = dataDirOr(dir)
	db, err := openStore(ctx, dir, "backup", daemon, false, false)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	var lines []string
	switch s := db.(type) {
	case interface {
		Backup(context.Context, string) ([]string, error)
	}:
		lines, err = s.Backup(ctx, dest)
		db.Close()
	case *store.DB:
		lines, err = backupLocal(ctx, s, dir, dest)
		if cerr := s.Close(); err == nil {
			err = cerr
		}
	default:
		db.Close()
		err = fmt.Errorf("backup: cannot back up through %T", db)
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	return nil
}

// backupLocal backs up a directory this process opened, with its
// metadata.db when there is one.
func backupLocal(ctx context.Context, db *store.DB, dir, dest string) ([]string, error) {
	var md *meta.DB
	mp := filepath.Join(dir, "metadata.db")
	if _, err := os.Stat(mp); err == nil {
		if md, err = meta.Open(ctx, mp); err != nil {
			return nil, err
		}
		defer md.Close()
	}
	return writeBackup(ctx, db, md, dest)
}

// writeBackup writes a verified backup of db (and md, when not nil) into
// dest; serve runs it for XBACKUP, the backup command for a directory it
// opened. It returns the report, one line each.
func writeBackup(ctx context.Context, db *store.DB, md *meta.DB, dest string) ([]string, error) {
	t0 := time.Now()
	if ents, err := os.ReadDir(dest); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("%s exists and is not empty", dest)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if abs, err := filepath.Abs(db.Dir()); err == nil && (strings.HasPrefix(dest+"/", abs+"/") || strings.HasPrefix(abs+"/", dest+"/")) {
		return nil, fmt.Errorf("%s is inside the data directory %s (or holds it)", dest, abs)
	}
	stage := dest + incompleteSuffix
	// a backup killed before its end leaves its stage; the name is ours
	if err := os.RemoveAll(stage); err != nil {
		return nil, fmt.Errorf("removing the unfinished backup %s: %w", stage, err)
	}
	if err := os.Mkdir(stage, 0o750); err != nil {
		return nil, err
	}
	fail := func(err error) ([]string, error) {
		os.RemoveAll(stage)
		return nil, err
	}
	rep, err := db.Snapshot(ctx, stage)
	if err != nil {
		return fail(err)
	}
	info := map[string]string{"source": db.Dir(), "checkpoint": fmt.Sprint(rep.Checkpoint)}
	if h, err := os.Hostname(); err == nil {
		info["host"] = h
	}
	b := obs.ReadBuildInfo(version, commit, commitTime)
	info["rrdash"] = versionLine(b)
	metaLine := "metadata.db: none"
	if md != nil {
		p := filepath.Join(stage, "metadata.db")
		if err := md.BackupTo(ctx, p); err != nil {
			return fail(err)
		}
		if err := checkMetadataCopy(ctx, p); err != nil {
			return fail(err)
		}
		fi, _ := os.Stat(p)
		metaLine = fmt.Sprintf("metadata.db: %d bytes (VACUUM INTO, integrity ok)", fi.Size())
		info["metadata"] = "sqlite"
	}
	var check bytes.Buffer
	for _, c := range dataChecks() {
		sound, err := c.run(stage, false, &check)
		if err != nil || !sound {
			return fail(fmt.Errorf("the backup fails rrdash check: %v\n%s", err, check.String()))
		}
	}
	m, err := store.WriteManifest(stage, info, time.Now())
	if err != nil {
		return fail(err)
	}
	if _, err := store.VerifyManifest(stage); err != nil {
		return fail(err)
	}
	if err := os.Rename(stage, dest); err != nil {
		// dest may have appeared meanwhile, or be a mount point
		return fail(fmt.Errorf("renaming %s to %s: %w", stage, dest, err))
	}
	if err := syncParent(dest); err != nil {
		return nil, err
	}
	var total int64
	for _, f := range m.Files {
		total += f.Size
	}
	return []string{
		fmt.Sprintf("backup %s: %d archives (%d bytes), checkpoint %d, %d journal bytes replayed", dest, rep.Archives, rep.Bytes, rep.Checkpoint, rep.JournalBytes),
		metaLine,
		fmt.Sprintf("writers held at most %s (checkpoint %s, journal copy %s); archives copied again under the lock: %d%s",
			rep.Locked.Round(time.Millisecond), rep.HeldCheckpoint.Round(time.Millisecond), rep.HeldCopy.Round(time.Millisecond), rep.Recopied, fallbackNote(rep.Fallback)),
		strings.TrimRight(strings.ReplaceAll(strings.ReplaceAll(check.String(), stage, dest), "\n", "; "), "; "),
		fmt.Sprintf("verified: %d files, %d bytes, SHA-256 in %s; took %s", len(m.Files), total, store.ManifestName, time.Since(t0).Round(time.Millisecond)),
	}, nil
}

func fallbackNote(f bool) string {
	if f {
		return " (a checkpoint ran during the copy: everything was copied under the lock)"
	}
	return ""
}

// checkMetadataCopy opens the copied metadata database and runs SQLite's
// integrity check on it.
func checkMetadataCopy(ctx context.Context, p string) error {
	md, err := meta.Open(ctx, p)
	if err != nil {
		return fmt.Errorf("the metadata copy: %w", err)
	}
	res, err := md.IntegrityCheck(ctx)
	cerr := md.Close()
	if err != nil {
		return err
	}
	if res != "ok" {
		return fmt.Errorf("the metadata copy fails SQLite's integrity check: %s", res)
	}
	// Open in WAL mode leaves -wal and -shm files beside it; Close checkpoints them
	for _, s := range []string{"-wal", "-shm"} {
		if err := os.Remove(p + s); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return cerr
}

func syncParent(p string) error {
	d, err := os.Open(filepath.Dir(p))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func runRestoreBackup(ctx context.Context, dir string, args []string, stdout io.Writer) error {
	opts, pos, err := options(args, map[string]string{"--data": "data"}, map[string]string{"--help": "help", "-h": "help"})
	if err != nil {
		return err
	}
	if opts["help"] != "" {
		fmt.Fprint(stdout, restoreBackupUsage)
		return nil
	}
	dir = orDefault(opts["data"], dir)
	if len(pos) != 1 || dir == "" {
		return usageError{"restore-backup takes SRC and --data DIR (rrdash restore-backup --help)"}
	}
	m, err := store.RestoreSnapshot(pos[0], dir)
	if err != nil {
		return fmt.Errorf("restore-backup: %w", err)
	}
	fmt.Fprintf(stdout, "restored %d files from %s (taken %s, %s) into %s\n", len(m.Files), pos[0],
		m.Created.Format(time.RFC3339), m.Info["rrdash"], dir)
	var failed []string
	for _, c := range dataChecks() {
		sound, err := c.run(dir, false, stdout)
		if err != nil || !sound {
			failed = append(failed, fmt.Sprintf("%s: %v", c.name, err))
		}
	}
	if p := filepath.Join(dir, "metadata.db"); fileExists(p) {
		md, err := meta.Open(ctx, p)
		if err == nil {
			var res string
			res, err = md.IntegrityCheck(ctx)
			md.Close()
			if err == nil && res != "ok" {
				err = errors.New(res)
			}
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("metadata.db: %v", err))
		} else {
			fmt.Fprintln(stdout, "metadata.db: ok — SQLite integrity check")
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("restore-backup: the restored directory fails its check: %s", strings.Join(failed, "; "))
	}
	return nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func orDefault(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// dataDirOr is the data directory: dir, else $RRDASH_DATA, else ./data.
func dataDirOr(dir string) string {
	if dir == "" {
		dir = os.Getenv("RRDASH_DATA")
	}
	if dir == "" {
		dir = "./data"
	}
	return dir
}
