package tracelog

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"rrdash/ingest/horizon"
	"rrdash/store"
)

// IngestOptions configures a one-shot ingest.
type IngestOptions struct {
	Instance string         // instance of raw lines; default: each file's base name
	Location *time.Location // time zone of record timestamps; default UTC
	Step     int64          // seconds; default 60
	Grace    int64          // seconds records may be out of order; default 10
	Naming   Naming         // instance naming of syslog lines
	Threads  map[string]int64
	Logger   *slog.Logger
	// Progress, if set, is called now and then with the bytes read so far and the total.
	Progress func(done, total int64)
	Now      func() time.Time
}

// FileSummary is what was read from one file.
type FileSummary struct {
	Path string
	Stats
}

// Summary is what a one-shot ingest did.
type Summary struct {
	Files  []FileSummary
	Total  Stats
	Rows   int      // steps written
	Series []string // series written, in order of first sight
	Failed int      // updates the store refused
}

const batchRows = 4096

// Ingest reads the files in order into sink and closes the last step at the
// end of input. Bad lines are counted and logged, never fatal.
func Ingest(ctx context.Context, sink Sink, paths []string, opt IngestOptions) (Summary, error) {
	if opt.Step <= 0 {
		opt.Step = 60
	}
	if opt.Grace < 0 {
		return Summary{}, errors.New("grace must not be negative")
	}
	if opt.Grace == 0 {
		opt.Grace = 10
	}
	if opt.Naming == "" {
		opt.Naming = DefaultNaming
	}
	if err := opt.Naming.Validate(); err != nil {
		return Summary{}, err
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	var total int64
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return Summary{}, fmt.Errorf("tracelog: %w", err)
		}
		total += fi.Size()
	}
	d := NewDeriver(DeriverConfig{Step: opt.Step, Grace: opt.Grace, Threads: opt.Threads}, sinkFloor(sink, opt.Step, opt.Grace))
	f := &feeder{d: d, log: opt.Logger, now: opt.Now, future: horizon.DefaultMaxFuture}
	var sum Summary
	seen := map[string]bool{}
	flush := func(force bool) error {
		if len(d.rows) < batchRows && !force {
			return nil
		}
		rows := d.Rows()
		if len(rows) == 0 {
			return nil
		}
		for _, r := range rows {
			if !seen[r.Series] {
				seen[r.Series] = true
				sum.Series = append(sum.Series, r.Series)
			}
		}
		res, err := sink.Apply(ctx, store.Batch{Updates: toUpdates(rows)})
		if err != nil {
			return fmt.Errorf("tracelog: store: %w", err)
		}
		sum.Rows += res.Applied
		sum.Failed += len(res.Errors)
		for i, e := range res.Errors {
			if i >= badBurst {
				break
			}
			if opt.Logger != nil {
				u := rows[e.Index]
				opt.Logger.Warn("update refused", "series", u.Series, "time", u.End, "err", e.Err)
			}
		}
		return nil
	}
	var done int64
	for i, p := range paths {
		src := newSource(int32(i), p, opt.Location, opt.Instance, opt.Naming, true)
		n, err := ingestFile(ctx, f, src, func(read int64) error {
			if opt.Progress != nil {
				opt.Progress(done+read, total)
			}
			return flush(false)
		})
		done += n
		sum.Files = append(sum.Files, FileSummary{Path: p, Stats: src.stats})
		sum.Total.add(src.stats)
		if err != nil {
			return sum, err
		}
		if src.limit.suppressed > 0 && opt.Logger != nil {
			opt.Logger.Warn("bad trace-log lines not logged", "file", p, "count", src.limit.suppressed)
		}
	}
	d.Flush()
	if err := flush(true); err != nil {
		return sum, err
	}
	if opt.Progress != nil {
		opt.Progress(total, total)
	}
	return sum, nil
}

// countingReader counts bytes read from the file (compressed bytes for .gz).
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ingestFile reads one whole file; chunk is called every few thousand lines.
func ingestFile(ctx context.Context, f *feeder, src *source, chunk func(read int64) error) (int64, error) {
	fh, err := os.Open(src.path)
	if err != nil {
		return 0, fmt.Errorf("tracelog: %w", err)
	}
	defer fh.Close()
	cr := &countingReader{r: fh}
	var r io.Reader = cr
	if strings.HasSuffix(src.path, ".gz") {
		zr, err := gzip.NewReader(cr)
		if err != nil {
			return 0, fmt.Errorf("tracelog %s: %w", src.path, err)
		}
		defer zr.Close()
		r = zr
	}
	br := bufio.NewReaderSize(r, 256<<10)
	var off int64
	f.begin()
	for n := 0; ; n++ {
		if n&0x3fff == 0x3fff {
			if err := ctx.Err(); err != nil {
				return cr.n, err
			}
			f.begin()
			if err := chunk(cr.n); err != nil {
				return cr.n, err
			}
		}
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer cannot be a trace record: skip to its end.
			start := off
			off += int64(len(line))
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				off += int64(len(line))
			}
			src.line++
			src.stats.Lines++
			f.bad(src, start, "line longer than 256 KiB")
			if err == nil {
				continue
			}
			line = nil
		}
		if len(line) > 0 {
			l := line
			if l[len(l)-1] == '\n' {
				l = l[:len(l)-1]
			}
			if ferr := f.line(src, off, l); ferr != nil {
				return cr.n, ferr
			}
			off += int64(len(line))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return cr.n, fmt.Errorf("tracelog %s: %w", src.path, err)
		}
	}
	return cr.n, chunk(cr.n)
}
