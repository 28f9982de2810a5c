package push

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"rrdash/ingest/horizon"
)

// Streaming: a request body is parsed in chunks of whole lines (or one
// JSON point at a time) and its points are handed to the writer in batches
// as they fill, a few batches in flight at once, so a request holds about
// chunkBytes of its body and (maxOutstanding+1) batches of points however
// large the body is. The answer waits for every batch to be durable.
const (
	chunkBytes     = 256 << 10 // also the longest line-protocol line
	batchPoints    = 8192
	maxOutstanding = 4
	// RequestCharge is what one streaming request counts against
	// HandlerConfig.MaxInflightBytes at most: its chunk and its batches
	// in flight, as body bytes.
	RequestCharge = 4 << 20
)

// budget is a weighted semaphore over the bytes ingest requests hold.
type budget struct {
	mu      sync.Mutex
	max     int64
	used    int64
	changed chan struct{} // closed and replaced when bytes are released
}

func newBudget(max int64) *budget { return &budget{max: max, changed: make(chan struct{})} }

// acquire takes n bytes, waiting until ctx ends; n above the whole budget
// is cut to it.
func (b *budget) acquire(ctx context.Context, n int64) error {
	n = min(n, b.max)
	for {
		b.mu.Lock()
		if b.used+n <= b.max {
			b.used += n
			b.mu.Unlock()
			return nil
		}
		ch := b.changed
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (b *budget) release(n int64) {
	n = min(n, b.max)
	b.mu.Lock()
	b.used -= n
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
}

// applier writes one request's batches, at most maxOutstanding at once,
// and sums their results.
type applier struct {
	h    *Handlers
	ctx  context.Context
	slot chan struct{}
	wg   sync.WaitGroup

	mu     sync.Mutex
	res    WriteResult
	err    error
	failed bool
}

func (h *Handlers) newApplier(ctx context.Context) *applier {
	return &applier{h: h, ctx: ctx, slot: make(chan struct{}, maxOutstanding)}
}

// submit hands *pts to the writer in order (Submit: a later batch's
// points never overtake an earlier one's, so a series spread over batches
// stays in time order) and returns a batch to fill next; the writer has
// copied what it keeps. It waits while maxOutstanding batches are not yet
// durable.
func (a *applier) submit(pts *[]Point) *[]Point {
	if len(*pts) == 0 {
		return pts
	}
	a.slot <- struct{}{}
	pd, err := Submit(a.ctx, a.h.sink, *pts)
	*pts = (*pts)[:0]
	if err != nil {
		<-a.slot
		a.add(WriteResult{}, err)
		return pts
	}
	a.wg.Go(func() {
		defer func() { <-a.slot }()
		a.add(pd.Wait(a.ctx))
	})
	return pts
}

func (a *applier) add(res WriteResult, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.res.Accepted += res.Accepted
	a.res.Late += res.Late
	a.res.Replaced += res.Replaced
	a.res.Refused += res.Refused
	if a.res.FirstRefusal == nil {
		a.res.FirstRefusal = res.FirstRefusal
	}
	if err != nil && a.err == nil {
		a.err, a.failed = err, true
	}
}

// stopped tells whether a batch failed, after which reading stops.
func (a *applier) stopped() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.failed
}

// wait waits for every batch and returns the sum.
func (a *applier) wait() (WriteResult, error) {
	a.wg.Wait()
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.res, a.err
}

// streamLineProtocol parses body chunk by chunk and submits its points.
// It returns the parse errors (nil if none), the conversion counts, and a
// read error (the body limit, a broken connection) that ended it early.
func (h *Handlers) streamLineProtocol(body io.Reader, c *Converter, a *applier) (*ParseError, error) {
	bufp := h.getChunk()
	defer h.chunks.Put(bufp)
	buf := *bufp
	batch := h.getPoints()
	defer func() { h.putPoints(a.submit(batch)) }()
	var perr *ParseError
	bad := func(se *SyntaxError) {
		if perr == nil {
			perr = &ParseError{First: se}
		}
		perr.Bad++
	}
	n, line, eof := 0, 1, false
	for !eof || n > 0 {
		for n < len(buf) && !eof {
			m, err := body.Read(buf[n:])
			n += m
			if errors.Is(err, io.EOF) {
				eof = true
			} else if err != nil {
				return perr, err
			}
		}
		end := n
		if !eof {
			i := bytes.LastIndexByte(buf[:n], '\n')
			if i < 0 {
				// One line fills the whole chunk: refuse it and skip to its end.
				bad(&SyntaxError{Line: line, Col: 1, Reason: fmt.Sprintf("line longer than %d bytes", len(buf)), Text: string(buf[:60]) + "…"})
				line++
				var err error
				if n, eof, err = skipLine(body, buf); err != nil {
					return perr, err
				}
				continue
			}
			end = i + 1
		}
		p := NewParser(buf[:end])
		p.num = line - 1
		for {
			l, err := p.Next()
			if err == nil && l == nil {
				break
			}
			if err == nil {
				*batch, err = c.Convert(p, l, *batch)
			}
			if err != nil {
				se, ok := err.(*SyntaxError)
				if !ok {
					return perr, err
				}
				bad(se)
				continue
			}
			if len(*batch) >= batchPoints {
				batch = a.submit(batch)
				if a.stopped() {
					return perr, nil
				}
			}
		}
		line = p.num + 1
		n = copy(buf, buf[end:n])
	}
	return perr, nil
}

// skipLine reads past the next '\n', leaving what follows it at the start
// of buf: its length and whether the body ended.
func skipLine(body io.Reader, buf []byte) (int, bool, error) {
	for {
		m, err := body.Read(buf)
		if i := bytes.IndexByte(buf[:m], '\n'); i >= 0 {
			return copy(buf, buf[i+1:m]), errors.Is(err, io.EOF), nil
		}
		if errors.Is(err, io.EOF) {
			return 0, true, nil
		}
		if err != nil {
			return 0, false, err
		}
	}
}

// jsonOutcome is what streaming a JSON body found besides the points.
type jsonOutcome struct {
	bad, future int
	first       *PointError
}

// streamJSON reads points one at a time and submits them in batches. A
// read error (body limit, broken connection) is returned; a JSON syntax
// error ends the body and is reported in the outcome.
func (h *Handlers) streamJSON(body io.Reader, a *applier) (jsonOutcome, error) {
	var out jsonOutcome
	jr := NewJSONPointReader(body, DefaultMaxPointBytes)
	jr.Horizon = h.hz
	batch := h.getPoints()
	defer func() { h.putPoints(a.submit(batch)) }()
	for {
		p, err := jr.Next()
		if err == io.EOF { // a *PointError may wrap io.EOF: that is no end
			return out, nil
		}
		if err != nil {
			var pe *PointError
			if !errors.As(err, &pe) {
				return out, err
			}
			if pe.Fatal && pe.Err != nil && isReadError(pe.Err) {
				return out, pe.Err
			}
			out.bad++
			if errors.Is(err, horizon.ErrFuture) {
				out.future++
			}
			if out.first == nil {
				out.first = pe
			}
			if pe.Fatal {
				return out, nil
			}
			continue
		}
		*batch = append(*batch, p)
		if len(*batch) >= batchPoints {
			batch = a.submit(batch)
			if a.stopped() {
				return out, nil
			}
		}
	}
}

// readError marks an error of the body's reader (not of its content).
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

func isReadError(err error) bool {
	var re *readError
	return errors.As(err, &re)
}

// markedReader wraps every read error in *readError, so that a JSON
// decoder's error can be told apart from the transport's.
type markedReader struct{ r io.Reader }

func (m markedReader) Read(b []byte) (int, error) {
	n, err := m.r.Read(b)
	if err != nil && !errors.Is(err, io.EOF) {
		err = &readError{err}
	}
	return n, err
}
