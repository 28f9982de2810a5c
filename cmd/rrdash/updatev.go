package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"rrdash/store"
)

// runUpdatev is `rrdtool updatev NAME [--template a:b]
// [--skip-past-updates] ARG…`: update, then rrdtool's report of it —
// "return_value = 0" (-1 when an ARG was refused: those before it are
// applied, as update does) and one line per value written to an archive,
// "[time]RRA[CF][pdp_per_row]DS[name] = value", in rrdtool's order and
// with the row times rrdtool 1.7.2 reports (see store.RowWrite).
func runUpdatev(ctx context.Context, db seriesStore, args []string, stdout io.Writer) error {
	c, err := parseUpdateCommand(db, args)
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			return err // rrdtool prints nothing for a bad command line
		}
		fmt.Fprintln(stdout, "return_value = -1")
		return err
	}
	if len(c.args) == 1 && c.args[0] == "-" {
		return usageError{"updatev reads no ARGs from stdin: give them as arguments"}
	}
	spec, err := db.Spec(c.name)
	if err != nil {
		fmt.Fprintln(stdout, "return_value = -1")
		return err
	}
	ups, parseErr := c.parseArgs(&updateScratch{})
	var rows [][]store.RowWrite
	var refused error
	for len(ups) > 0 {
		rs, ref, err := db.UpdateV(ctx, c.name, ups)
		if err != nil {
			refused = err
			break
		}
		rows = append(rows, rs...)
		if ref == nil {
			break
		}
		if !c.skipPast || !errors.Is(ref, store.ErrTooOld) {
			refused = ref
			break
		}
		ups = ups[ref.Index+1:]
	}
	if refused == nil {
		refused = parseErr
	}
	w := bufio.NewWriter(stdout)
	rv := 0
	if refused != nil {
		rv = -1
	}
	fmt.Fprintf(w, "return_value = %d\n", rv)
	for _, rs := range rows {
		for _, r := range rs {
			for d, v := range r.Values {
				fmt.Fprintf(w, "[%d]RRA[%s][%d]DS[%s] = %s\n", r.Time, r.CF, r.Steps, spec.DS[d].Name, infoValue(v))
			}
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return refused
}
