package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"rrdash/store"
)

func runImport(ctx context.Context, db *store.DB, args []string, stderr io.Writer) error {
	opts, pos, err := options(args, nil, map[string]string{"--force": "f"})
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return usageError{"import needs FILE.xml [NAME]"}
	}
	name := strings.TrimSuffix(filepath.Base(pos[0]), filepath.Ext(pos[0]))
	if len(pos) == 2 {
		name = pos[1]
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	var progress func(done, total int)
	if isTerminal(stderr) {
		progress = func(done, total int) {
			const width = 30
			n := width * done / total
			fmt.Fprintf(stderr, "\rimporting %s [%s%s] %d/%d archives", name, strings.Repeat("#", n), strings.Repeat(" ", width-n), done, total)
			if done == total {
				fmt.Fprintln(stderr)
			}
		}
	}
	return db.Import(f, name, opts["f"] != "", progress)
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
// rrdtool's name and flags. --range-check (-r) is refused: the rows are
// imported as the dump holds them.
func runRestore(ctx context.Context, db *store.DB, args []string, stderr io.Writer) error {
	opts, pos, err := options(args, nil, map[string]string{"--force-overwrite": "f", "-f": "f", "--range-check": "r", "-r": "r"})
	if err != nil {
		return err
	}
	if opts["r"] != "" {
		return errors.New("restore --range-check (-r) is not supported: rrdash imports the rows as the dump holds them; check the values against the DS limits before restoring, or restore without -r")
	}
	for _, p := range pos {
		if strings.HasPrefix(p, "-") {
			return usageError{fmt.Sprintf("unknown option %s", p)}
		}
	}
	if len(pos) != 2 {
		return usageError{"usage: rrdash restore [--force-overwrite|-f] FILE.xml NAME"}
	}
	imp := []string{pos[0], pos[1]}
	if opts["f"] != "" {
		imp = append([]string{"--force"}, imp...)
	}
	return runImport(ctx, db, imp, stderr)
}
