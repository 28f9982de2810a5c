package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"rrdash/ingest/tracelog"
	"rrdash/store"
)

const ingestTracelogUsage = "usage: rrdash ingest tracelog [--instance NAME] [--tz ZONE] [--step S] [--grace S] [--naming TEMPLATE] FILE…"

// runIngestTracelog implements `rrdash ingest tracelog`: a one-shot backfill
// of trace logs into series tracelog.<instance>.
func runIngestTracelog(ctx context.Context, db *store.DB, args []string, stdout, stderr io.Writer) error {
	return ingestTracelog(ctx, db, args, stdout, stderr)
}

func ingestTracelog(ctx context.Context, sink tracelog.Sink, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ingest tracelog", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var instance, tz, step, naming string
	var grace int64
	fs.StringVar(&instance, "instance", "", "instance name of raw (unprefixed) lines; default: the file's base name")
	fs.StringVar(&tz, "tz", "", "time zone of record timestamps (IANA name); default: local time")
	fs.StringVar(&step, "step", "60", "step of new series (seconds or a duration like 5m)")
	fs.Int64Var(&grace, "grace", 10, "seconds records may be out of order")
	fs.StringVar(&naming, "naming", string(tracelog.DefaultNaming), "instance naming of syslog lines: {host} {program} {pid}")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, ingestTracelogUsage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return nil
		}
		return fmt.Errorf("ingest tracelog: %w (%s)", err, ingestTracelogUsage)
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("ingest tracelog: no files (%s)", ingestTracelogUsage)
	}
	loc := time.Local
	if tz != "" {
		var err error
		if loc, err = time.LoadLocation(tz); err != nil {
			return fmt.Errorf("ingest tracelog: --tz %q: %w", tz, err)
		}
	}
	st, err := store.ParseStep(step)
	if err != nil {
		return fmt.Errorf("ingest tracelog: --step: %w", err)
	}
	if grace < 0 {
		return fmt.Errorf("ingest tracelog: --grace %d: must not be negative", grace)
	}
	bar := newProgressBar(stderr)
	log := slog.New(slog.NewTextHandler(bar, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opt := tracelog.IngestOptions{
		Instance: instance, Location: loc, Step: st, Grace: grace, Naming: tracelog.Naming(naming), Logger: log,
	}
	if bar.tty {
		opt.Progress = bar.update
	}
	sum, err := tracelog.Ingest(ctx, sink, fs.Args(), opt)
	bar.done()
	printSummary(stdout, sum)
	if err != nil {
		return fmt.Errorf("ingest tracelog: %w", err)
	}
	return nil
}

func printSummary(w io.Writer, s tracelog.Summary) {
	line := func(name string, st tracelog.Stats) {
		fmt.Fprintf(w, "%s: %d lines, %d records read, %d custom skipped, %d bad skipped, %d late skipped\n",
			name, st.Lines, st.Records, st.Custom, st.Bad, st.Late)
	}
	for _, f := range s.Files {
		line(f.Path, f.Stats)
	}
	if len(s.Files) > 1 {
		line("total", s.Total)
	}
	fmt.Fprintf(w, "%d steps written to %d series", s.Rows, len(s.Series))
	if s.Failed > 0 {
		fmt.Fprintf(w, ", %d refused by the store", s.Failed)
	}
	fmt.Fprintln(w)
	for _, n := range s.Series {
		fmt.Fprintf(w, "  %s\n", n)
	}
}

// progressBar draws a bar on stderr when it is a terminal; log lines written
// through it clear the bar first so the two do not mix.
type progressBar struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	shown bool
	last  time.Time
}

func newProgressBar(w io.Writer) *progressBar {
	b := &progressBar{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			b.tty = true
		}
	}
	return b
}

func (b *progressBar) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.shown {
		fmt.Fprint(b.w, "\r\033[K")
		b.shown = false
	}
	return b.w.Write(p)
}

func (b *progressBar) update(done, total int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if now.Sub(b.last) < 200*time.Millisecond && done < total {
		return
	}
	b.last = now
	frac := 1.0
	if total > 0 {
		frac = min(1, float64(done)/float64(total))
	}
	const width = 40
	n := int(frac * width)
	fmt.Fprintf(b.w, "\r[%s%s] %3.0f%% %.1f/%.1f MB", strings.Repeat("#", n), strings.Repeat(".", width-n), frac*100,
		float64(done)/1e6, float64(total)/1e6)
	b.shown = true
}

func (b *progressBar) done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.shown {
		fmt.Fprintln(b.w)
		b.shown = false
	}
}
