package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"rrdash/store"
	"rrdash/store/rrdfile"
)

func runImport(ctx context.Context, db *store.DB, args []string, stdout, stderr io.Writer) error {
	opts, pos, err := options(args, map[string]string{"--tree": "tree", "--prefix": "prefix"}, map[string]string{"--force": "f"})
	if err != nil {
		return err
	}
	if dir, ok := opts["tree"]; ok {
		if len(pos) != 0 {
			return usageError{"import --tree DIR takes no other file or name"}
		}
		return importTree(ctx, db, dir, opts["prefix"], opts["f"] != "", stdout, stderr)
	}
	if _, ok := opts["prefix"]; ok {
		return usageError{"--prefix goes with --tree DIR"}
	}
	if len(pos) < 1 || len(pos) > 2 {
		return usageError{"import needs FILE.xml|FILE.rrd [NAME]"}
	}
	name := strings.TrimSuffix(filepath.Base(pos[0]), filepath.Ext(pos[0]))
	if len(pos) == 2 {
		name = pos[1]
	}
	var progress func(done, total int)
	if isTerminal(stderr) {
		progress = func(done, total int) {
			bar(stderr, "importing "+name, done, total, "archives")
		}
	}
	return importFile(db, pos[0], name, opts["f"] != "", progress)
}

// importFile imports an rrdtool file or dump, told apart by their first
// bytes (rrdtool restore takes XML only; the binary file needs no dump).
func importFile(db *store.DB, path, name string, force bool, progress func(done, total int)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if head, _ := br.Peek(len(rrdfile.Magic)); rrdfile.IsRRD(head) {
		b, err := io.ReadAll(br)
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		if err := db.ImportRRD(b, name, force); err != nil {
			return err
		}
		if progress != nil {
			progress(1, 1)
		}
		return nil
	}
	return db.Import(br, name, force, progress)
}

// bar draws a progress bar on a terminal.
func bar(w io.Writer, what string, done, total int, unit string) {
	const width = 30
	n := width * done / max(total, 1)
	fmt.Fprintf(w, "\r%s [%s%s] %d/%d %s", what, strings.Repeat("#", n), strings.Repeat(" ", width-n), done, total, unit)
	if done == total {
		fmt.Fprintln(w)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// runRestore is `rrdtool restore [-f] [-r] FILE.xml NAME`: import under
// rrdtool's name and flags; --range-check (-r) stores row values outside
// their data source's limits as unknown, as rrdtool's does (XML only, as
// rrdtool restore reads only XML).
func runRestore(ctx context.Context, db *store.DB, args []string, stdout, stderr io.Writer) error {
	opts, pos, err := options(args, nil, map[string]string{"--force-overwrite": "f", "-f": "f", "--range-check": "r", "-r": "r"})
	if err != nil {
		return err
	}
	for _, p := range pos {
		if strings.HasPrefix(p, "-") {
			return usageError{fmt.Sprintf("unknown option %s", p)}
		}
	}
	if len(pos) != 2 {
		return usageError{"usage: rrdash restore [--force-overwrite|-f] FILE.xml|FILE.rrd NAME"}
	}
	if opts["r"] != "" {
		return restoreRangeChecked(db, pos[0], pos[1], opts["f"] != "", stderr)
	}
	imp := []string{pos[0], pos[1]}
	if opts["f"] != "" {
		imp = append([]string{"--force"}, imp...)
	}
	return runImport(ctx, db, imp, stdout, stderr)
}

// restoreRangeChecked is restore -r of an XML dump.
func restoreRangeChecked(db *store.DB, path, name string, force bool, stderr io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if head, _ := br.Peek(len(rrdfile.Magic)); rrdfile.IsRRD(head) {
		return fmt.Errorf("restore --range-check (-r) of %s: reads an XML dump (as rrdtool restore does), not an rrdtool file; `rrdtool dump` it first", path)
	}
	o := store.ImportOptions{Overwrite: force, RangeCheck: true}
	if isTerminal(stderr) {
		o.Progress = func(done, total int) { bar(stderr, "importing "+name, done, total, "archives") }
	}
	return db.ImportXML(br, name, o)
}
