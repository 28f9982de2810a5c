package push

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"rrdash/ingest/horizon"
	"rrdash/ingest/listen"
	"rrdash/store"
)

// PointWriter takes points and returns once they are durable; *Writer is
// one. Readers of streams hand batches over with Submit, which lets a
// *Writer make them durable while the stream is read on.
type PointWriter interface {
	Write(ctx context.Context, pts []Point) (WriteResult, error)
}

var _ PointWriter = (*Writer)(nil)

// ParseGraphiteLine parses one plaintext-protocol line
// `name value timestamp` (fields separated by spaces or tabs; timestamp in
// epoch seconds, a fraction allowed; -1 means now). Tags in the name
// (`a.b;k=v`) are sorted by key.
func ParseGraphiteLine(line []byte, now time.Time) (Point, error) {
	return parseGraphiteLine(line, func() time.Time { return now }, nil, nil)
}

// graphiteNames maps a connection's raw series names to their checked,
// tag-sorted form: a connection names the same series again and again,
// and a hit costs neither the checks nor the name's allocation. Its
// points carry the name's seriesRef, through which the writer finds the
// series' state without a lookup of its own. A nil *graphiteNames caches
// nothing.
//
// Collectors send their series in the same order every interval, so each
// entry remembers the entry looked up after it last time: a line naming
// that one again is found by one comparison, without hashing its name
// and probing the map (a time-major stream through 10,000 series).
type graphiteNames struct {
	m    map[string]*nameEntry
	last *nameEntry // the previous lookup's
}

type nameEntry struct {
	key string // the raw name
	graphiteName
	next *nameEntry // the entry looked up after this one, last time
}

type graphiteName struct {
	name string
	ref  *seriesRef
}

// get looks raw up.
func (c *graphiteNames) get(raw []byte) (graphiteName, bool) {
	if c == nil {
		return graphiteName{}, false
	}
	if l := c.last; l != nil && l.next != nil && l.next.key == string(raw) {
		c.last = l.next
		return c.last.graphiteName, true
	}
	e, ok := c.m[string(raw)]
	if !ok {
		return graphiteName{}, false
	}
	c.follow(e)
	return e.graphiteName, true
}

// put adds raw (not cached) as gn, starting afresh beyond max entries.
func (c *graphiteNames) put(raw string, gn graphiteName, max int) {
	if c.m == nil || len(c.m) >= max {
		c.m = make(map[string]*nameEntry, min(max, 1024))
		c.last = nil // (the old entries' chain goes with them)
	}
	e := &nameEntry{key: raw, graphiteName: gn}
	c.m[raw] = e
	c.follow(e)
}

func (c *graphiteNames) follow(e *nameEntry) {
	if c.last != nil {
		c.last.next = e
	}
	c.last = e
}

// maxGraphiteNames bounds a connection's name cache; beyond it the cache
// starts afresh.
const maxGraphiteNames = 1 << 16

// graphiteFields splits a line into exactly three fields separated by
// spaces or tabs, without allocating; ok is false when the line has
// another byte bytes.Fields would take for a separator (other ASCII
// space, or any non-ASCII byte, which may be Unicode space), so the
// caller falls back to bytes.Fields for the same result. n is the number
// of fields found.
func graphiteFields(line []byte) (f [3][]byte, n int, ok bool) {
	i := 0
	for {
		for i < len(line) && graphiteByte[line[i]] == gSep {
			i++
		}
		if i == len(line) {
			return f, n, true
		}
		j := i
		// eight bytes at a time while none is a separator, other space
		// or non-ASCII (fieldWord); the byte table from the first word
		// that may hold one
		for j+8 <= len(line) && fieldWord(binary.LittleEndian.Uint64(line[j:])) {
			j += 8
		}
		for j < len(line) && graphiteByte[line[j]] == gField {
			j++
		}
		if j < len(line) && graphiteByte[line[j]] == gOther {
			return f, n, false
		}
		if n < 3 {
			f[n] = line[i:j:j]
		}
		n++
		i = j
	}
}

// fieldWord tells whether the eight bytes of w (little endian) are all
// in 0x21–0x7f: field bytes, none a separator or another byte that ends
// or spoils a field. A byte below 0x21 sets its high bit in w − 0x21…21
// unless a byte below it (less significant) borrowed, and that one is
// below 0x21 itself; a byte from 0x80 has its high bit set: so false
// only when some byte is outside the range (or, rarely, a lower one is).
// (Control bytes 0x00–0x08 and 0x0e–0x1f are field bytes too: they
// make the word false and go through the byte table.)
func fieldWord(w uint64) bool {
	const ones = 0x0101010101010101
	return ((w-0x21*ones)|w)&(0x80*ones) == 0
}

// Byte classes of graphiteFields: a field byte, a separator (space, tab),
// or another byte bytes.Fields may split on (other ASCII white space, any
// non-ASCII byte).
const (
	gField = iota
	gSep
	gOther
)

// graphiteByte is the class of each byte: one load per byte of a line.
var graphiteByte = func() (t [256]uint8) {
	for c := range t {
		switch {
		case c == ' ' || c == '\t':
			t[c] = gSep
		case c == '\n' || c == '\v' || c == '\f' || c == '\r' || c >= 0x80:
			t[c] = gOther
		}
	}
	return t
}()

// valueArena holds the value text of a batch's points: one allocation
// for thousands of values instead of one each. Bytes once handed out are
// never written again (a full chunk is left to the strings that point
// into it), so the strings stay immutable.
type valueArena struct{ buf []byte }

const valueArenaChunk = 64 << 10

func (a *valueArena) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if a == nil {
		return string(b)
	}
	if cap(a.buf)-len(a.buf) < len(b) {
		a.buf = make([]byte, 0, max(valueArenaChunk, len(b)))
	}
	n := len(a.buf)
	a.buf = append(a.buf, b...)
	return unsafe.String(&a.buf[n], len(b))
}

// parseGraphiteLine is ParseGraphiteLine with a connection's name cache
// and value arena (either may be nil); now is read only for a timestamp
// of -1.
func parseGraphiteLine(line []byte, now func() time.Time, names *graphiteNames, arena *valueArena) (Point, error) {
	var p Point
	f, nf, ok := graphiteFields(line)
	if !ok {
		ff := bytes.Fields(line)
		nf = len(ff)
		copy(f[:], ff)
	}
	if nf != 3 {
		return p, fmt.Errorf("want `name value timestamp`, got %d fields", nf)
	}
	gn, ok := names.get(f[0])
	if !ok {
		name, err := seriesWithSortedTags(string(f[0]))
		if err != nil {
			return p, err
		}
		if err := store.ValidSeriesName(name); err != nil {
			return p, err
		}
		gn = graphiteName{name: name}
		if names != nil {
			gn.ref = &seriesRef{}
			names.put(string(f[0]), gn, maxGraphiteNames)
		}
	}
	name := gn.name
	p.ref = gn.ref
	if !floatSyntax(f[1]) {
		return p, fmt.Errorf("value %q is not a decimal number", f[1])
	}
	if !floatInRange(f[1]) {
		return p, fmt.Errorf("value %q is out of range", f[1])
	}
	if sec, ok := epochDigits(f[2]); ok {
		p.Sec = sec // the usual form: whole seconds, nothing to allocate
	} else if string(f[2]) == "-1" {
		t := now()
		p.Sec, p.Usec = t.Unix(), int64(t.Nanosecond()/1000)
	} else {
		var err error
		if p.Sec, p.Usec, err = parseEpoch(string(f[2])); err != nil {
			return p, err
		}
	}
	p.Series, p.Graphite = name, true
	if v, ok := graphiteNumber(f[1]); ok {
		p.Num, p.Numeric = v, true
	} else {
		p.Value = arena.str(f[1])
	}
	return p, nil
}

// graphiteNumber reads a value that passed floatSyntax and floatInRange
// as a number when the store's numeric path (store.Update.Nums) gives
// exactly what its text path gives on the text itself, for every data
// source type: the text must be what store.AppendReading writes for the
// number (so COUNTER and DERIVE, which go back to text, see the same
// text, and a sink other than the store gets it), and the number must be
// rrdtool's rrd_strtod reading of it (store.ParseFloatPrefix; strconv
// rounds long mantissas and some scalings differently). That holds for
// integers of up to 15 digits without leading zeros or "-0", and for a
// non-integer written as its shortest text ("12.5", "1e-07"). Any other
// form ("1.50", "1.0", "007", ".5", "1e3", more digits) stays text, so
// the store parses and refuses it exactly as before.
func graphiteNumber(b []byte) (float64, bool) {
	// One pass over the usual forms, integers and short decimals (the
	// rules of graphiteInt and graphiteDecimal, graphitenum_test.go): a
	// sign, digits, at most one '.', up to 17 bytes.
	i := 0
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		i = 1
	}
	var n uint64
	dot := -1
	j := i
	for ; j < len(b) && j-i < 17; j++ {
		c := b[j]
		if d := c - '0'; d <= 9 {
			n = n*10 + uint64(d)
			continue
		}
		if c != '.' || dot >= 0 {
			break
		}
		dot = j
	}
	if j == len(b) {
		d := len(b) - i
		if dot < 0 {
			// an integer of up to 15 digits without leading zeros, not
			// "-0": exact, and written back the same by AppendReading
			if d >= 1 && d <= 15 && (b[i] != '0' || d == 1 && !neg) {
				v := float64(n)
				if neg {
					v = -v
				}
				return v, true
			}
		} else if v, ok := shortDecimal(b, i, dot, n); ok {
			return v, true
		}
	}
	if len(b) > 24 { // longer than any shortest text of a double
		return 0, false
	}
	s := unsafe.String(unsafe.SliceData(b), len(b)) // not kept
	v, m := store.ParseFloatPrefix(s)
	if m != len(s) || math.IsInf(v, 0) || v == math.Trunc(v) {
		return 0, false
	}
	var buf [32]byte
	if string(strconv.AppendFloat(buf[:0], v, 'g', -1, 64)) != s {
		return 0, false
	}
	return v, true
}

// shortDecimal reads the common `-?(0|[1-9][0-9]{0,5})\.[0-9]*[1-9]`
// with 1, 2, 4 or 8 decimals, from 1e-4 (at most 14 digits), given b's
// digits as n (b[i:] is digits and the one '.' at dot), without
// formatting it back: the digits are an exact integer and rrd_strtod
// divides it once by an exact power of ten, so the number is correctly
// rounded, and a decimal of at most 15 digits is the shortest text of
// its double (DBL_DIG), which %g writes without an exponent from 1e-4 to
// below 1e6: store.AppendReading gives the text back.
func shortDecimal(b []byte, i, dot int, n uint64) (float64, bool) {
	if len(b)-i > 16 || len(b)-i < 3 || b[i] == '0' && b[i+1] != '.' {
		return 0, false
	}
	if dot <= i || dot-i > 6 || b[len(b)-1] == '0' { // from 1e6 on %g writes an exponent
		return 0, false
	}
	var p10 float64
	switch len(b) - 1 - dot {
	case 1:
		p10 = 10
	case 2:
		p10 = 100
	case 4:
		p10 = 1e4
	case 8:
		p10 = 1e8
		if b[dot-1] == '0' && dot-i == 1 && b[dot+1] == '0' && b[dot+2] == '0' && b[dot+3] == '0' && b[dot+4] == '0' {
			return 0, false // below 1e-4: %g writes an exponent
		}
	default:
		return 0, false
	}
	v := float64(n) / p10
	if i == 1 {
		v = -v
	}
	return v, true
}

// floatInRange tells whether a number that passed floatSyntax is finite
// as a float64: without an exponent and with fewer than 300 bytes it
// cannot overflow, so strconv is asked only otherwise.
func floatInRange(b []byte) bool {
	if len(b) < 300 {
		exp := false
		for _, c := range b {
			exp = exp || c|0x20 == 'e' // bytes.IndexAny costs ~100 instructions a call here
		}
		if !exp {
			return true
		}
	}
	_, err := strconv.ParseFloat(string(b), 64)
	return err == nil
}

// epochDigits reads a timestamp of whole epoch seconds written as 1 to 12
// digits (up to year 33658, within maxSec); anything else is left to
// parseEpoch.
func epochDigits(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 12 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, n <= maxSec
}

// GraphiteStats counts what a Graphite listener did. Future counts points
// refused for a timestamp beyond the horizon (also counted in Bad);
// Aborted counts connections closed with a reset (see Serve).
type GraphiteStats struct {
	Conns, ConnsDone, Lines, Points, Bad, Future, Late, Refused, Aborted int64
}

// GraphiteConfig configures a Graphite listener; zero values take the
// defaults.
type GraphiteConfig struct {
	// MaxLine is the longest line accepted (default 64 KiB); BatchSize
	// the most points written at once (default 40000; ListenPickle 10000).
	MaxLine, BatchSize int
	// MaxConns bounds open connections (default listen.DefaultMaxConns);
	// IdleTimeout closes a connection silent for that long (default
	// listen.DefaultIdleTimeout).
	MaxConns    int
	IdleTimeout time.Duration
	// Horizon refuses points too far ahead of the clock.
	Horizon horizon.Horizon
	Logger  *slog.Logger
}

// GraphiteListener accepts the Graphite plaintext protocol on TCP and
// writes the points through a PointWriter. Bad lines are counted and
// logged (the first few per connection): the protocol has no replies.
//
// The one signal a client gets is how its connection ends. Batches are
// handed to the writer as they fill (or the client pauses) and made
// durable while the connection is read on. After the client closes its
// sending side (EOF), the listener hands over the last batch, waits until
// every batch is durable (journal fsync), and
// only then closes its side cleanly: a client that half-closes and then
// reads EOF knows every valid point it sent is stored (bad lines, points
// from beyond the horizon and late points are not, and are only counted
// and logged). Every other end (shutdown, idle timeout, a line too long,
// a store failure) resets the connection instead, and so does the kernel
// when the process dies (SO_LINGER 0 until the clean close): a reset
// guarantees nothing for that connection.
type GraphiteListener struct {
	ln   *listen.Listener
	sink PointWriter
	log  *slog.Logger
	hz   horizon.Horizon

	// MaxLine and BatchSize are GraphiteConfig's; set them before Serve.
	MaxLine, BatchSize int
	// MaxFrame is set for carbon's pickle protocol (ListenPickle): the
	// largest frame; zero means the plaintext protocol.
	MaxFrame int

	conns, connsDone, lines, points, bad, future, late, refused, aborted atomic.Int64
	// budget holds a token per batch waiting for durability, all
	// connections together
	budget chan struct{}
}

// ListenGraphite listens on addr (e.g. ":2003", or "127.0.0.1:0" in tests).
func ListenGraphite(addr string, sink PointWriter, cfg GraphiteConfig) (*GraphiteListener, error) {
	if err := cfg.Horizon.Validate(); err != nil {
		return nil, fmt.Errorf("graphite: %w", err)
	}
	if cfg.MaxConns < 0 || cfg.IdleTimeout < 0 || cfg.MaxLine < 0 || cfg.BatchSize < 0 {
		return nil, fmt.Errorf("graphite: negative limit in %+v", cfg)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxLine == 0 {
		cfg.MaxLine = 64 << 10
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = graphiteBatch
	}
	ln, err := listen.Listen(addr, listen.Config{Name: "graphite", MaxConns: cfg.MaxConns, IdleTimeout: cfg.IdleTimeout, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	return &GraphiteListener{ln: ln, sink: sink, log: cfg.Logger, hz: cfg.Horizon, MaxLine: cfg.MaxLine, BatchSize: cfg.BatchSize,
		budget: make(chan struct{}, batchesFor(graphiteBudgetPoints, cfg.BatchSize, 3, graphiteBudget))}, nil
}

// Addr is the address listened on.
func (g *GraphiteListener) Addr() net.Addr { return g.ln.Addr() }

// Status is the listener's state (running, retrying, stopped) for health.
func (g *GraphiteListener) Status() listen.Status { return g.ln.Status() }

// Stats returns the counters.
func (g *GraphiteListener) Stats() GraphiteStats {
	return GraphiteStats{Conns: g.conns.Load(), ConnsDone: g.connsDone.Load(), Lines: g.lines.Load(), Points: g.points.Load(),
		Bad: g.bad.Load(), Future: g.future.Load(), Late: g.late.Load(), Refused: g.refused.Load(), Aborted: g.aborted.Load()}
}

// Serve accepts connections until ctx ends, then closes the listener,
// interrupts reads, writes what was read and returns (connections not at
// their EOF are reset). Accept errors are retried (package listen); the
// error is a permanent one, after which the listener is stopped.
func (g *GraphiteListener) Serve(ctx context.Context) error {
	return g.ln.Serve(ctx, func(ctx context.Context, c net.Conn) {
		g.conns.Add(1)
		defer g.connsDone.Add(1)
		listen.ArmReset(c) // a crash before CloseClean resets: no false acknowledgement
		serve := g.serveConn
		if g.MaxFrame > 0 {
			serve = g.servePickleConn
		}
		if serve(ctx, c) {
			listen.CloseClean(c)
			return
		}
		g.aborted.Add(1)
		listen.Abort(c)
	})
}

const maxLoggedBadLines = 10

// graphiteInFlight is how many batches of a connection wait for
// durability while the connection is read on, and graphiteBudget how many
// all connections of a listener may hold at once: at most, and at most
// graphiteInFlightPoints and graphiteBudgetPoints points in those batches
// (a memory bound: ~100 bytes a point in the writer's buffer). More
// batches waiting means bigger group commits, and a time-major stream
// (one point per series per batch) writes each series' rows once per
// group: with 4 in flight a group held at most ~4 points per series, and
// the per-series row writes were most of its commit.
//
// graphiteBatch is the default batch: a commit usually takes one batch
// when it keeps up with the reading, and a series' second and later
// points of a commit cost less than its first (its store state is then
// in the CPU cache): 40,000 points rather than 10,000 cut the CPU per
// point of 10,000 time-major series by a fifth (docs/BENCHMARKS.md,
// session 7), at the same points in flight.
const (
	graphiteInFlight       = 16
	graphiteBudget         = 48
	graphiteInFlightPoints = 160_000
	graphiteBudgetPoints   = 480_000
	graphiteBatch          = 40_000
)

// batchesFor is how many batches of batch points fit in points, between
// lo and hi.
func batchesFor(points, batch, lo, hi int) int {
	return min(max(points/max(batch, 1), lo), hi)
}

// serveConn reads and writes the connection's points; true means the
// client's EOF was reached and every point is written durably, so the
// connection may be closed cleanly.
func (g *GraphiteListener) serveConn(ctx context.Context, c net.Conn) bool {
	remote := c.RemoteAddr().String()
	// Writes must finish even while shutting down: the lines were read.
	wctx := context.WithoutCancel(ctx)
	r := bufio.NewReaderSize(c, max(g.MaxLine+2, 4096))
	// grown as lines come: many clients send a few lines per connection
	batch := make([]Point, 0, min(g.BatchSize, 1024))
	var num, bad int64
	names := &graphiteNames{}
	// per batch rather than per line: one value allocation per 64 KiB of
	// values, the listener's counters added once a batch, the horizon's
	// clock read once a batch (a point beyond that reading is checked
	// again against the clock before it is refused: the reading only
	// falls behind)
	var arena valueArena
	var lines, points int64
	limit := g.hz.Limit()
	count := func() {
		g.lines.Add(lines)
		g.points.Add(points)
		lines, points = 0, 0
	}
	// Batches are handed to the writer in order and made durable while
	// the next ones are read (at most graphiteInFlight at once); the
	// connection is closed cleanly only once all of them are durable.
	inflight := make(chan struct{}, batchesFor(graphiteInFlightPoints, g.BatchSize, 2, graphiteInFlight))
	var wg sync.WaitGroup
	var failed atomic.Bool
	fail := func(err error) {
		if !failed.Swap(true) {
			g.log.Error("graphite: write failed; resetting the connection", "remote", remote, "err", err)
		}
	}
	submit := func() bool {
		count()
		limit = g.hz.Limit()
		if len(batch) == 0 || failed.Load() {
			return !failed.Load()
		}
		inflight <- struct{}{}
		g.budget <- struct{}{}
		release := func() { <-g.budget; <-inflight }
		pd, err := Submit(wctx, g.sink, batch)
		batch = batch[:0]
		if err != nil {
			release()
			fail(err)
			return false
		}
		wg.Go(func() {
			defer release()
			res, err := pd.Wait(wctx)
			g.late.Add(int64(res.Late))
			g.refused.Add(int64(res.Refused))
			if err != nil {
				fail(err)
				return
			}
			if res.Late > 0 || res.Refused > 0 {
				g.log.Warn("graphite: points not stored", "remote", remote, "late", res.Late, "refused", res.Refused, "first_refusal", res.FirstRefusal)
			}
		})
		return !failed.Load()
	}
	flush := func() bool {
		submit()
		wg.Wait()
		return !failed.Load()
	}
	for {
		line, err := readLine(r, g.MaxLine)
		// A line cut by a read error (shutdown, reset) is not parsed: only
		// a complete line, or the last one before EOF, is.
		if err == nil || errors.Is(err, io.EOF) && len(line) > 0 {
			num++
			lines++
			if !blank(line) {
				p, perr := parseGraphiteLine(line, time.Now, names, &arena)
				if perr == nil && limit.Check(p.Sec, p.Usec) != nil {
					limit = g.hz.Limit()
					if perr = limit.Check(p.Sec, p.Usec); perr != nil {
						g.future.Add(1)
					}
				}
				if perr != nil {
					bad++
					g.bad.Add(1)
					if bad <= maxLoggedBadLines {
						g.log.Warn("graphite: bad line", "remote", remote, "line", num, "err", perr)
					}
				} else {
					if len(batch) == cap(batch) && cap(batch) < g.BatchSize {
						// a stream, not a few lines: the whole batch at
						// once rather than doubling up to it (copies of
						// pointer-laden points, write barriers under GC)
						batch = append(make([]Point, 0, g.BatchSize), batch...)
					}
					batch = append(batch, p)
					points++
				}
			}
		}
		if err != nil {
			eof := errors.Is(err, io.EOF)
			if !eof && !errors.Is(err, net.ErrClosed) && !isTimeout(err) {
				g.log.Warn("graphite: read", "remote", remote, "line", num+1, "err", err)
			}
			if isTimeout(err) && ctx.Err() == nil {
				g.log.Info("graphite: idle connection reset", "remote", remote, "lines", num)
			}
			ok := flush()
			count()
			if bad > maxLoggedBadLines {
				g.log.Warn("graphite: bad lines on the connection", "remote", remote, "bad", bad)
			}
			return ok && eof
		}
		// Write when the batch is full or the sender paused (nothing buffered).
		if len(batch) >= g.BatchSize || r.Buffered() == 0 && len(batch) > 0 {
			if !submit() {
				wg.Wait()
				return false
			}
		}
	}
}

var errLineTooLong = errors.New("line too long")

// blank tells whether line is empty or only white space (bytes.TrimSpace
// would leave nothing), without looking further than its first other byte.
func blank(line []byte) bool {
	for _, c := range line {
		switch c {
		case ' ', '\t', '\n', '\v', '\f', '\r':
			continue
		}
		if c >= 0x80 {
			return len(bytes.TrimSpace(line)) == 0
		}
		return false
	}
	return true
}

// readLine returns a line without its "\n" (or "\r\n"); a line longer than
// max is an error that ends the connection.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) || len(line) > max {
		return nil, fmt.Errorf("%w (more than %d bytes)", errLineTooLong, min(max, r.Size()))
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	return line, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
