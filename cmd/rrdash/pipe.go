package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"syscall"
	"time"

	"rrdash/graph"
)

// runPipe is rrdtool's pipe mode ("rrdtool -"): one command per line,
// each answered by its output and "OK u:… s:… r:…" or "ERROR: …".
// Updates are acknowledged only once durable; consecutive updates already
// waiting on stdin share one journal fsync (group commit).
func runPipe(ctx context.Context, db seriesStore, stdin io.Reader, stdout io.Writer) error {
	in := bufio.NewReaderSize(stdin, 1<<20)
	out := bufio.NewWriter(stdout)
	var pending []func() error // acknowledgements waiting for one fsync
	var pendingStart []time.Time
	var sc updateScratch
	var words []string
	flushPending := func() {
		var err error
		if len(pending) > 0 {
			err = pending[len(pending)-1]() // the last offset covers the earlier ones
		}
		// all are answered at this moment: one getrusage serves them
		u, s := cpuTimes()
		for _, t0 := range pendingStart {
			if err != nil {
				fmt.Fprintf(out, "ERROR: %v\n", err)
			} else {
				writeOK(out, u, s, t0)
			}
		}
		pending, pendingStart = pending[:0], pendingStart[:0]
		out.Flush()
	}
	for {
		line, err := in.ReadString('\n')
		if len(line) == 0 && err != nil {
			break
		}
		args, perr := splitCommand(words[:0], line)
		if perr == nil {
			words = args
		}
		t0 := time.Now()
		switch {
		case perr != nil:
			flushPending()
			fmt.Fprintf(out, "ERROR: %v\n", perr)
		case len(args) == 0:
		case args[0] == "update":
			wait, uerr := pipeUpdate(ctx, db, args[1:], &sc)
			if uerr != nil {
				flushPending()
				fmt.Fprintf(out, "ERROR: %v\n", uerr)
				break
			}
			pending = append(pending, wait)
			pendingStart = append(pendingStart, t0)
		default:
			flushPending()
			var buf bytes.Buffer
			cerr := dispatch(ctx, db, args[0], args[1:], strings.NewReader(""), &buf, &buf)
			out.Write(buf.Bytes())
			if cerr != nil {
				fmt.Fprintf(out, "ERROR: %v\n", cerr)
			} else {
				u, s := cpuTimes()
				writeOK(out, u, s, t0)
			}
		}
		if in.Buffered() == 0 {
			flushPending()
		}
		if err != nil {
			break
		}
	}
	flushPending()
	return out.Flush()
}

// cpuTimes is the process's user and system CPU seconds so far.
func cpuTimes() (user, sys float64) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	sec := func(tv syscall.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }
	return sec(ru.Utime), sec(ru.Stime)
}

// writeOK answers a command as rrdtool does: "OK u:… s:… r:…".
func writeOK(w io.Writer, user, sys float64, t0 time.Time) {
	fmt.Fprintf(w, "OK u:%.2f s:%.2f r:%.2f\n", user, sys, time.Since(t0).Seconds())
}

// pipeUpdate applies an update command without waiting for its fsync.
func pipeUpdate(ctx context.Context, db seriesStore, args []string, sc *updateScratch) (func() error, error) {
	c, err := parseUpdateCommand(db, args)
	if err != nil {
		return nil, err
	}
	return c.apply(ctx, db, sc)
}

// splitCommand splits a pipe-mode line into words like a shell (quotes and
// backslashes, graph.SplitCommandLine); plain lines take a fast path that
// appends to dst.
func splitCommand(dst []string, line string) ([]string, error) {
	start := -1
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case ' ', '\t', '\r', '\n', '\v', '\f':
			if start >= 0 {
				dst = append(dst, line[start:i])
				start = -1
			}
		case '\'', '"', '\\':
			return graph.SplitCommandLine(line)
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		dst = append(dst, line[start:])
	}
	return dst, nil
}
