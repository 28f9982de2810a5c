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
	return importFile(db, pos[0], name, store.ImportOptions{Overwrite: opts["f"] != "", Progress: importProgress(stderr, name)})
}

// importProgress is the import's progress on a terminal, else nil.
func importProgress(stderr io.Writer, name string) func(done, total int) {
	if !isTerminal(stderr) {
		return nil
	}
	return func(done, total int) { bar(stderr, "importing "+name, done, total, "archives") }
}

// importFile imports an rrdtool file or dump, told apart by their first
// bytes (rrdtool restore takes XML only; the binary file needs no dump).
// o.RangeCheck (restore -r) takes a dump only, as rrdtool's.
func importFile(db *store.DB, path, name string, o store.ImportOptions) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if head, _ := br.Peek(len(rrdfile.Magic)); rrdfile.IsRRD(head) {
		if o.RangeCheck {
			return fmt.Errorf("restore --range-check (-r) of %s: reads an XML dump (as rrdtool restore does), not an rrdtool file; `rrdtool dump` it first", path)
		}
		b, err := io.ReadAll(br)
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		if err := db.ImportRRD(b, name, o.Overwrite); err != nil {
			return err
		}
		if o.Progress != nil {
			o.Progress(1, 1)
		}
		return nil
	}
	return db.ImportXML(br, name, o)
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
	return importFile(db, pos[0], pos[1], store.ImportOptions{Overwrite: opts["f"] != "", RangeCheck: opts["r"] != "", Progress: importProgress(stderr, pos[1])})
}
