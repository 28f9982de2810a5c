package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
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
// come in line order. An update's r: counts from the read that brought
// its line. Three goroutines share the work: this one reads and parses,
// an applier applies each group (and journals it) while the next is
// parsed, and a writer answers each batch of lines once durable.
//
// dir is the session's working directory (pipedir.go): file names in
// commands are relative to it, and cd, pwd, mkdir, ls and quit move in it.
func runPipe(ctx context.Context, db seriesStore, dir *pipeDir, stdin io.Reader, stdout io.Writer) error {
	tr := &timedReader{r: stdin}
	in := bufio.NewReaderSize(tr, 1<<20)
	out := bufio.NewWriter(stdout)
	p := pipeState{ctx: ctx, db: db, dir: dir, out: out, nds: map[string]pipeSeries{}, outq: make(chan pipeBatch, 16), done: make(chan struct{}),
		jobs: make(chan pipeJob, 4), free: make(chan *pipeGroup, 2)}
	p.cur = &pipeGroup{}
	p.free <- &pipeGroup{}
	go p.writer()
	go p.applier()
	var sc updateScratch
	var words []string
	var long []byte
	for {
		line, err := readLine(in, &long)
		if len(line) == 0 && err != nil {
			break
		}
		quit := false
		if !p.fastUpdate(line, tr.at) {
			quit = p.slowLine(string(line), tr.at, &words, &sc)
		}
		switch {
		case in.Buffered() == 0 || p.n >= maxPipeBatch:
			p.flush()
		case len(p.cur.ups) >= maxPipeGroup:
			p.submitGroup()
		}
		if err != nil || quit {
			break
		}
	}
	p.flush()
	close(p.jobs)
	<-p.done
	return out.Flush()
}

// slowLine runs any line fastUpdate does not take; read is when it was
// read. It reports whether the line was quit.
func (p *pipeState) slowLine(line string, read time.Time, words *[]string, sc *updateScratch) (quit bool) {
	args, perr := splitCommand((*words)[:0], line)
	if perr == nil {
		*words = args
	}
	if perr == nil && len(args) > 0 {
		args = p.dir.mapArgs(args)
	}
	switch {
	case perr != nil:
		p.answer(read, perr)
	case len(args) == 0:
	case dirCommand(args[0]):
		p.drain()
		t0 := time.Now()
		var errLine string
		if quit, errLine = p.dir.run(args, p.out); errLine != "" {
			fmt.Fprintf(p.out, "ERROR: %s\n", errLine)
		} else if !quit {
			u, s := cpuTimes()
			writeOK(p.out, u, s, t0)
		}
	case args[0] == "update":
		if p.join(args[1:], read) {
			break
		}
		// earlier lines first
		p.submitGroup()
		p.syncApplier()
		wait, uerr := pipeUpdate(p.ctx, p.db, args[1:], sc)
		p.answer(read, uerr)
		if uerr == nil {
			p.last = wait // the applier is idle until the next job
		}
	default:
		p.drain()
		p.forgetSeries() // the command may create, change or delete series
		t0 := time.Now()
		var buf bytes.Buffer
		cerr := dispatch(p.ctx, p.db, args[0], args[1:], strings.NewReader(""), &buf, &buf)
		p.out.Write(buf.Bytes())
		if cerr != nil {
			fmt.Fprintf(p.out, "ERROR: %v\n", cerr)
		} else {
			u, s := cpuTimes()
			writeOK(p.out, u, s, t0)
		}
	}
	return quit
}

// timedReader notes when each read returned: the lines it brought were
// received then.
type timedReader struct {
	r  io.Reader
	at time.Time
}

func (t *timedReader) Read(b []byte) (int, error) {
	n, err := t.r.Read(b)
	t.at = time.Now()
	return n, err
}

// readLine returns the next line, with its "\n" when it has one; the bytes
// are valid until the next call. A line longer than r's buffer is
// gathered in long.
func readLine(r *bufio.Reader, long *[]byte) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if !errors.Is(err, bufio.ErrBufferFull) {
		return line, err
	}
	*long = append((*long)[:0], line...)
	for errors.Is(err, bufio.ErrBufferFull) {
		line, err = r.ReadSlice('\n')
		*long = append(*long, line...)
	}
	return *long, err
}

// maxPipeGroup bounds the updates applied in one store call: a group
// that small reuses its slices, warm in the cache, while the store's cost
// per call is spread over many updates; and the applier applies one group
// while the next is parsed. maxPipeBatch bounds the answers
// waiting for one fsync, when the input never runs dry.
const (
	maxPipeGroup = 8192
	maxPipeBatch = 1 << 16
	// maxPipeSeries bounds the series the pipe keeps what it learnt of
	// (and numbers: store.SeriesGrouper.GroupByKey)
	maxPipeSeries = 1 << 22
)

// pipeState holds the pipe's answers not yet handed on and its group of
// single-ARG updates not yet applied. Every answer of a batch is to an
// update line (other commands write their own answers, after the writer
// has written every earlier one): an error, or OK once durable.
//
// The reader (runPipe) owns the batch (n, errs, reads) and the group
// being parsed (cur); the applier owns the groups handed to it, its
// errors (aerrs) and last, which the reader sets only right after
// syncApplier, when the applier is idle.
type pipeState struct {
	ctx   context.Context
	db    seriesStore
	dir   *pipeDir // the working directory: file names are relative to it
	out   *bufio.Writer
	n     int                   // lines answered in the batch
	errs  []lineErr             // their errors (but the groups')
	reads []readRun             // when their lines were read
	cur   *pipeGroup            // the group being parsed
	nds   map[string]pipeSeries // data sources per series, learnt since the last other command
	// the series of the newest fast-path line: a run of lines of one
	// series skips the map look-up
	lastName string
	lastPS   pipeSeries
	// jobs takes groups and batches to the applier, in line order; free
	// gives the groups back once applied (two groups: one parsed, one
	// applied)
	jobs chan pipeJob
	free chan *pipeGroup
	// the applier's: the errors of the groups applied since the last
	// batch, the wait of the newest applied update (it covers the
	// earlier ones), its scratch space
	aerrs   []lineErr
	last    func() error
	grouper store.SeriesGrouper
	grouped []store.Update
	order   []int
	// outq takes answers to the writer goroutine, which writes them once
	// their updates are durable: the reader goes on reading (and forming
	// the next group) during the fsync.
	outq chan pipeBatch
	done chan struct{} // closed when the writer has finished
}

// pipeGroup is a group of single-ARG updates: the updates, the line (in
// its batch) of each, and their value text (the arena's, or vals).
type pipeGroup struct {
	ups   []store.Update
	keys  []int32 // the series' number of each (pipeSeries.key)
	at    []int
	vals  []string
	arena store.UpdateArena
}

// pipeJob is the applier's next step: apply g (when set), then hand batch
// to the writer (when set), then close sync (when set).
type pipeJob struct {
	g     *pipeGroup
	batch *pipeBatch
	sync  chan struct{}
}

// lineErr is the error answering line of a batch.
type lineErr struct {
	line int
	err  error
}

// readRun: the lines of a batch from line on were read at at (up to the
// next run).
type readRun struct {
	line int
	at   time.Time
}

// pipeBatch is n answers handed to the writer: written once wait returns
// (an error answers the lines without their own); barrier, when set, is
// closed once everything before it is written.
type pipeBatch struct {
	n       int
	errs    []lineErr // by line
	reads   []readRun
	wait    func() error
	barrier chan struct{}
}

// pipeSeries is what a grouped update needs of its series: its name, the
// number of data sources and those an update gives (nil: all; never
// COMPUTE ones).
type pipeSeries struct {
	name string
	key  int32 // a number of its own among the series the pipe knows (the applier groups by it)
	nds  int
	tmpl []int
}

// answer adds the answer of a line read at read: err, or OK once durable.
// It returns the line's number in the batch.
func (p *pipeState) answer(read time.Time, err error) int {
	line := p.n
	p.n++
	if k := len(p.reads); k == 0 || !p.reads[k-1].at.Equal(read) {
		p.reads = append(p.reads, readRun{line, read})
	}
	if err != nil {
		p.errs = append(p.errs, lineErr{line, err})
	}
	return line
}

// fastUpdate takes "update NAME ARG" straight from the line's bytes when
// NAME is a series the group has seen and ARG the plain form
// (store.UpdateArena): no words, no strings but the arena's. It reports
// false for any other line (slowLine runs it). It takes lines only where
// names need no mapping (pipeDir.mapArgs): at the top of a session
// without DIR, a name without ".rrd".
func (p *pipeState) fastUpdate(line []byte, read time.Time) bool {
	const verb = "update "
	if !bytes.HasPrefix(line, []byte(verb)) || p.dir.root != "" || p.dir.cwd != "" {
		return false
	}
	rest := bytes.TrimSuffix(bytes.TrimSuffix(line[len(verb):], []byte{'\n'}), []byte{'\r'})
	sp := bytes.IndexByte(rest, ' ')
	if sp <= 0 || !plainWord(rest[:sp]) || !plainWord(rest[sp+1:]) {
		return false
	}
	if bytes.HasSuffix(rest[:sp], []byte(".rrd")) {
		return false
	}
	ps := p.lastPS
	if name := rest[:sp]; p.lastName == "" || string(name) != p.lastName {
		var ok bool
		if ps, ok = p.nds[string(name)]; !ok { // no allocation for the look-up
			return false
		}
		p.lastName, p.lastPS = ps.name, ps
	}
	g := p.cur
	t, ok := g.arena.Add(rest[sp+1:], ps.tmpl, ps.nds, len(g.ups))
	if !ok {
		return false
	}
	g.ups = append(g.ups, store.Update{Series: ps.name, Time: t})
	g.keys = append(g.keys, ps.key)
	g.at = append(g.at, p.answer(read, nil))
	return true
}

// forgetSeries drops what the pipe learnt of series (another command may
// have created, changed or deleted them).
func (p *pipeState) forgetSeries() {
	clear(p.nds)
	p.lastName, p.lastPS = "", pipeSeries{}
}

// plainWord reports whether w is one word for splitCommand with nothing
// to unquote: not empty, no white space, quote or backslash.
func plainWord(w []byte) bool {
	if len(w) == 0 {
		return false
	}
	for _, c := range w {
		switch c {
		case ' ', '\t', '\r', '\n', '\v', '\f', '\'', '"', '\\':
			return false
		}
	}
	return true
}

// join adds "update NAME ARG" to the group; false leaves the line to the
// full update command (options, several ARGs, an unknown series).
func (p *pipeState) join(args []string, read time.Time) bool {
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
		if len(p.nds) >= maxPipeSeries {
			// numbers are only ever given once within a group
			p.submitGroup()
			p.forgetSeries()
		}
		name = strings.Clone(name) // not the whole line's string
		ps = pipeSeries{name: name, key: int32(len(p.nds)), nds: len(spec.DS), tmpl: spec.InputIndexes()}
		p.nds[name] = ps
	}
	nds := ps.nds
	g := p.cur
	k := len(g.vals)
	g.vals = append(g.vals, make([]string, nds)...)
	u, err := store.ParseUpdateArgInto(arg, ps.tmpl, nds, time.Time{}, g.vals[k:k+nds])
	if err != nil {
		g.vals = g.vals[:k]
		p.answer(read, fmt.Errorf("%s: %w", name, err))
		return true
	}
	u.Series = ps.name
	g.ups = append(g.ups, u)
	g.keys = append(g.keys, ps.key)
	g.at = append(g.at, p.answer(read, nil))
	return true
}

// submitGroup hands the group being parsed to the applier and takes the
// other group (once applied) to parse into.
func (p *pipeState) submitGroup() {
	if len(p.cur.ups) == 0 {
		return
	}
	p.jobs <- pipeJob{g: p.cur}
	p.cur = <-p.free
}

// syncApplier returns once every group submitted so far is applied.
func (p *pipeState) syncApplier() {
	done := make(chan struct{})
	p.jobs <- pipeJob{sync: done}
	<-done
}

// flush submits the group and hands the answers so far to the writer
// (through the applier, which adds the group's errors).
func (p *pipeState) flush() {
	p.submitGroup()
	if p.n == 0 {
		return
	}
	p.jobs <- pipeJob{batch: &pipeBatch{n: p.n, errs: p.errs, reads: p.reads}}
	p.n, p.errs, p.reads = 0, nil, nil
}

// drain flushes and returns once the writer has written every answer: the
// caller then writes to out itself.
func (p *pipeState) drain() {
	p.flush()
	b := make(chan struct{})
	p.jobs <- pipeJob{batch: &pipeBatch{barrier: b}}
	<-b
}

// applier runs the jobs in order: it applies each group in one store call
// and hands each batch to the writer with its groups' errors and the wait
// that makes them durable.
func (p *pipeState) applier() {
	defer close(p.outq)
	for j := range p.jobs {
		if j.g != nil {
			p.applyGroup(j.g)
			p.free <- j.g
		}
		if b := j.batch; b != nil {
			if b.barrier == nil {
				// a group's errors come after the lines answered since it started
				b.errs = append(b.errs, p.aerrs...)
				slices.SortStableFunc(b.errs, func(x, y lineErr) int { return x.line - y.line })
				b.wait = p.last
				p.aerrs, p.last = p.aerrs[:0], nil
			}
			p.outq <- *b
		}
		if j.sync != nil {
			close(j.sync)
		}
	}
}

// applyGroup applies g in one store call, ordered by series, and empties
// it.
func (p *pipeState) applyGroup(g *pipeGroup) {
	g.arena.Fill(g.ups)
	sorted, order := p.grouper.GroupByKey(g.ups, g.keys, p.grouped, p.order)
	res, wait, err := p.db.ApplyAsync(p.ctx, store.Batch{Updates: sorted})
	switch {
	case err != nil:
		for _, line := range g.at {
			p.aerrs = append(p.aerrs, lineErr{line, err})
		}
	default:
		for _, ue := range res.Errors {
			p.aerrs = append(p.aerrs, lineErr{g.at[order[ue.Index]], ue})
		}
		p.last = wait
	}
	if &sorted[0] != &g.ups[0] {
		clear(sorted)
		p.grouped = sorted[:0]
	}
	clear(g.ups)
	g.ups, g.keys, g.at, g.vals, p.order = g.ups[:0], g.keys[:0], g.at[:0], nil, order[:0]
}

func (p *pipeState) writer() {
	defer close(p.done)
	var ok []byte
	for b := range p.outq {
		if b.barrier != nil {
			close(b.barrier)
			continue
		}
		var err error
		if b.wait != nil {
			err = b.wait()
		}
		// all are answered at this moment: one getrusage and clock read
		// serve them, and the lines read together share their OK line
		u, s := cpuTimes()
		now := time.Now()
		prefix := fmt.Appendf(nil, "OK u:%.2f s:%.2f r:", u, s)
		errs, reads := b.errs, b.reads
		for line := range b.n {
			if len(reads) > 0 && reads[0].line == line {
				ok = strconv.AppendFloat(append(ok[:0], prefix...), now.Sub(reads[0].at).Seconds(), 'f', 2, 64)
				ok = append(ok, '\n')
				reads = reads[1:]
			}
			switch {
			case len(errs) > 0 && errs[0].line == line:
				fmt.Fprintf(p.out, "ERROR: %v\n", errs[0].err)
				errs = errs[1:]
			case err != nil:
				fmt.Fprintf(p.out, "ERROR: %v\n", err)
			default:
				p.out.Write(ok)
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
