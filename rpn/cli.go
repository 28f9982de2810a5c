package rpn

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"rrdash/store/attime"
)

// XportUsage is the synopsis of `rrdash xport`.
const XportUsage = "usage: rrdash xport [--start T] [--end T] [--step S] [--maxrows N] [--json] [--showtime|-t] [--enumds] " +
	"DEF:v=SERIES:ds:CF[:step=S][:start=T][:end=T][:reduce=CF] [CDEF:v=RPN] [VDEF:v=RPN] XPORT:v[:legend]…"

// RunXport runs `rrdash xport` with rrdtool xport's arguments (a series
// name where rrdtool takes a file) and writes rrdtool's XML, or with --json
// rrdtool's JSON, byte for byte; --showtime and --enumds as rrdtool's. now and loc are the clock and time zone of
// time specifications and time operators.
func RunXport(ctx context.Context, f Fetcher, args []string, w io.Writer, now time.Time, loc *time.Location) error {
	fs := flag.NewFlagSet("xport", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var start, end string
	var step int64
	var maxRows int
	var asJSON, showtime, enumds bool
	fs.StringVar(&start, "start", "", "start time (default end-1d)")
	fs.StringVar(&start, "s", "", "start time")
	fs.StringVar(&end, "end", "", "end time (default now)")
	fs.StringVar(&end, "e", "", "end time")
	fs.Int64Var(&step, "step", 0, "minimum step in seconds")
	fs.IntVar(&maxRows, "maxrows", 400, "maximum number of rows")
	fs.IntVar(&maxRows, "m", 400, "maximum number of rows")
	fs.BoolVar(&asJSON, "json", false, "print JSON instead of XML")
	fs.BoolVar(&showtime, "showtime", false, "print each row's time")
	fs.BoolVar(&showtime, "t", false, "print each row's time")
	fs.BoolVar(&enumds, "enumds", false, "number the value tags (XML)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errors.New(XportUsage)
		}
		return fmt.Errorf("xport: %w; %s", err, XportUsage)
	}
	if step < 0 {
		return fmt.Errorf("xport: --step %d: must not be negative", step)
	}
	if maxRows < 10 {
		return fmt.Errorf("xport: --maxrows %d: must be at least 10", maxRows)
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("xport: no DEF/CDEF/VDEF/XPORT statements; %s", XportUsage)
	}
	s, e, err := attime.ParseRange(start, end, now, loc)
	if err != nil {
		return fmt.Errorf("xport: %w", err)
	}
	script, err := ParseScript(fs.Args())
	if err != nil {
		return fmt.Errorf("xport: %w", err)
	}
	x, err := script.Xport(ctx, f, Request{
		Start: s, End: e, Step: step, MaxRows: maxRows,
		Env: Env{Loc: loc, Now: now.Unix()},
	})
	if err != nil {
		return fmt.Errorf("xport: %w", err)
	}
	if asJSON {
		// rrdtool's JSON has no numbered values: --enumds is XML's only
		return x.WriteRRDtoolJSON(w, showtime)
	}
	return x.WriteXMLWith(w, showtime, enumds)
}
