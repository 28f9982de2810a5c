package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"syscall"
	"time"

	"rrdash/graph"
	"rrdash/store"
)

// runPipe is rrdtool's pipe mode ("rrdtool -"): one command per line,
// each answered by its output and "OK u:… s:… r:…" or "ERROR: …".
// Updates are acknowledged only once durable; consecutive updates already
// waiting on stdin share one journal fsync (group commit). The common
// update line ("update NAME ARG", one ARG, no option) joins a group that
// is applied in one store call, ordered by series (each series' lines in
// their order), so a group touches each series once; the answers still
// come in line order.
//
// dir is the session's working directory (pipedir.go): file names in
// commands are relative to it, and cd, pwd, mkdir, ls and quit move in it.
func runPipe(ctx context.Context, db seriesStore, dir *pipeDir, stdin io.Reader, stdout io.Writer) error {
	in := bufio.NewReaderSize(stdin, 1<<20)
	out := bufio.NewWriter(stdout)
	p := pipeState{ctx: ctx, db: db, out: out, nds: map[string]pipeSeries{}, outq: make(chan pipeBatch, 16), done: make(chan struct{})}
	go p.writer()
	var sc updateScratch
	var words []string
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
		if perr == nil && len(args) > 0 {
			args = dir.mapArgs(args)
		}
		quit := false
		switch {
		case perr != nil:
			p.answers = append(p.answers, pipeAnswer{t0: t0, err: perr})
		case len(args) == 0:
		case dirCommand(args[0]):
			p.drain()
			var errLine string
			if quit, errLine = dir.run(args, out); errLine != "" {
				fmt.Fprintf(out, "ERROR: %s\n", errLine)
			} else if !quit {
				u, s := cpuTimes()
				writeOK(out, u, s, t0)
			}
		case args[0] == "update":
			if p.join(args[1:], t0) {
				break
			}
			p.applyGroup() // earlier lines first
			wait, uerr := pipeUpdate(ctx, db, args[1:], &sc)
			if uerr != nil {
				p.answers = append(p.answers, pipeAnswer{t0: t0, err: uerr})
				break
			}
			p.answers = append(p.answers, pipeAnswer{t0: t0, durable: true})
			p.last = wait
		default:
			p.drain()
			clear(p.nds) // the command may create, change or delete series
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
		if in.Buffered() == 0 || len(p.group) >= maxPipeGroup {
			p.flush()
		}
		if err != nil || quit {
			break
		}
	}
	p.flush()
	close(p.outq)
	<-p.done
	return out.Flush()
}

// maxPipeGroup bounds the updates applied in one store call.
const maxPipeGroup = 1 << 16

// pipeState holds the pipe's answers not yet written and its group of
// single-ARG updates not yet applied.
type pipeState struct {
	ctx     context.Context
	db      seriesStore
	out     *bufio.Writer
	answers []pipeAnswer
	last    func() error // the wait of the newest applied update: it covers the earlier ones
	group   []store.Update
	groupAt []int                 // the answer of each update of the group
	nds     map[string]pipeSeries // data sources per series, learnt since the last other command
	vals    []string
	// outq takes answers to the writer goroutine, which writes them once
	// their updates are durable: the reader goes on reading (and forming
	// the next group) during the fsync.
	outq chan pipeBatch
	done chan struct{} // closed when the writer has finished
}

// pipeBatch is answers handed to the writer: written once wait returns
// (an error answers the lines that applied updates); barrier, when set,
// is closed once everything before it is written.
type pipeBatch struct {
	answers []pipeAnswer
	wait    func() error
	barrier chan struct{}
}

// pipeAnswer is the answer of one line: an error, or OK (once durable
// when it applied updates).
type pipeAnswer struct {
	t0      time.Time
	err     error
	durable bool
}

// pipeSeries is what a grouped update needs of its series: the number of
// data sources and those an update gives (nil: all; never COMPUTE ones).
type pipeSeries struct {
	nds  int
	tmpl []int
}

// join adds "update NAME ARG" to the group; false leaves the line to the
// full update command (options, several ARGs, an unknown series).
func (p *pipeState) join(args []string, t0 time.Time) bool {
	if len(args) != 2 || strings.HasPrefix(args[0], "-") || strings.HasPrefix(args[1], "-") {
		return false
	}
	name, arg := args[0], args[1]
	ps, ok := p.nds[name]
	if !ok {
		spec, err := p.db.Spec(name)
		if err != nil {
			return false
		}
		ps = pipeSeries{nds: len(spec.DS), tmpl: spec.InputIndexes()}
		p.nds[name] = ps
	}
	nds := ps.nds
	k := len(p.vals)
	p.vals = append(p.vals, make([]string, nds)...)
	u, err := store.ParseUpdateArgInto(arg, ps.tmpl, nds, time.Time{}, p.vals[k:k+nds])
	if err != nil {
		p.vals = p.vals[:k]
		p.answers = append(p.answers, pipeAnswer{t0: t0, err: fmt.Errorf("%s: %w", name, err)})
		return true
	}
	u.Series = name
	p.group = append(p.group, u)
	p.groupAt = append(p.groupAt, len(p.answers))
	p.answers = append(p.answers, pipeAnswer{t0: t0, durable: true})
	return true
}

// applyGroup applies the group in one store call, ordered by series.
func (p *pipeState) applyGroup() {
	if len(p.group) == 0 {
		return
	}
	order := make([]int, len(p.group))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(p.group[a].Series, p.group[b].Series) })
	sorted := make([]store.Update, len(p.group))
	for i, k := range order {
		sorted[i] = p.group[k]
	}
	res, wait, err := p.db.ApplyAsync(p.ctx, store.Batch{Updates: sorted})
	switch {
	case err != nil:
		for _, a := range p.groupAt {
			p.answers[a] = pipeAnswer{t0: p.answers[a].t0, err: err}
		}
	default:
		for _, ue := range res.Errors {
			a := p.groupAt[order[ue.Index]]
			p.answers[a] = pipeAnswer{t0: p.answers[a].t0, err: ue}
		}
		p.last = wait
	}
	clear(p.group)
	p.group, p.groupAt, p.vals = p.group[:0], p.groupAt[:0], nil
}

// flush applies the group and hands the answers so far to the writer.
func (p *pipeState) flush() {
	p.applyGroup()
	if len(p.answers) == 0 {
		return
	}
	p.outq <- pipeBatch{answers: p.answers, wait: p.last}
	p.answers, p.last = nil, nil
}

// drain flushes and returns once the writer has written every answer: the
// caller then writes to out itself.
func (p *pipeState) drain() {
	p.flush()
	b := make(chan struct{})
	p.outq <- pipeBatch{barrier: b}
	<-b
}

func (p *pipeState) writer() {
	defer close(p.done)
	for b := range p.outq {
		if b.barrier != nil {
			close(b.barrier)
			continue
		}
		var err error
		if b.wait != nil {
			err = b.wait()
		}
		// all are answered at this moment: one getrusage serves them
		u, s := cpuTimes()
		for _, a := range b.answers {
			switch {
			case a.err != nil:
				fmt.Fprintf(p.out, "ERROR: %v\n", a.err)
			case a.durable && err != nil:
				fmt.Fprintf(p.out, "ERROR: %v\n", err)
			default:
				writeOK(p.out, u, s, a.t0)
			}
		}
		if len(p.outq) == 0 {
			p.out.Flush()
		}
	}
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
