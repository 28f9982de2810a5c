package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"rrdash/store"
)

// importTree imports every *.rrd file under dir (Munin, collectd and Cacti
// trees) as series prefix+relative path without ".rrd" (collectd's
// host/cpu-0/cpu-idle.rrd becomes host/cpu-0/cpu-idle). A series already
// there is skipped unless force, so a second run resumes an interrupted
// one (each import is atomic). A bad file does not stop the others: each
// failure is listed on stderr at the end and the command fails.
func importTree(ctx context.Context, db *store.DB, dir, prefix string, force bool, stdout, stderr io.Writer) error {
	type job struct{ path, name string }
	var jobs []job
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() || !strings.HasSuffix(p, ".rrd") {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		jobs = append(jobs, job{p, prefix + strings.TrimSuffix(filepath.ToSlash(rel), ".rrd")})
		return nil
	})
	if err != nil {
		return fmt.Errorf("import --tree %s: %w", dir, err)
	}
	if len(jobs) == 0 {
		return fmt.Errorf("import --tree %s: no .rrd files", dir)
	}
	tty := isTerminal(stderr)
	var imported, skipped int
	var failed []string
	for i, j := range jobs {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, serr := db.Spec(j.name)
		switch {
		case serr == nil && !force:
			skipped++
		case serr != nil && !errors.Is(serr, store.ErrNotFound):
			failed = append(failed, fmt.Sprintf("%s: %v", j.path, serr))
		default:
			if err := importFile(db, j.path, j.name, store.ImportOptions{Overwrite: force}); err != nil {
				failed = append(failed, fmt.Sprintf("%s: %v", j.path, err))
			} else {
				imported++
			}
		}
		if tty {
			bar(stderr, "importing", i+1, len(jobs), "files")
		}
	}
	fmt.Fprintf(stdout, "imported %d, skipped %d (already there), failed %d of %d files\n", imported, skipped, len(failed), len(jobs))
	if len(failed) > 0 {
		for _, f := range failed {
			fmt.Fprintln(stderr, "  "+f)
		}
		return fmt.Errorf("import --tree %s: %d of %d files failed", dir, len(failed), len(jobs))
	}
	return nil
}
