package main

import (
	"context"
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
