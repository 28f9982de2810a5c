package push

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"rrdash/ingest/horizon"
)

// HandlerConfig configures the HTTP handlers.
type HandlerConfig struct {
	// MaxBodyBytes bounds a request body, after gzip decompression too
	// (default 32 MiB); larger bodies get 413.
	MaxBodyBytes int64
	// MaxInflightBytes bounds what all push requests hold at once (default
	// 64 MiB): each counts min(Content-Length, RequestCharge) while it
	// runs (RequestCharge for gzip or an unknown length), as bodies are
	// streamed. A request that finds no room within QueueWait (default
	// 1 s) gets 429 with Retry-After.
	MaxInflightBytes int64
	QueueWait        time.Duration
	// Horizon refuses points too far ahead of the clock.
	Horizon horizon.Horizon
	Logger  *slog.Logger
}

// Handlers serves POST /api/v1/write (InfluxDB line protocol) and POST
// /api/v1/points (JSON). A 2xx means every point is durable.
type Handlers struct {
	sink      PointWriter
	max       int64
	budget    *budget
	queueWait time.Duration
	hz        horizon.Horizon
	log       *slog.Logger
	// convs keeps Converters, with their series-name caches, between
	// requests: a free list, not a sync.Pool, which every GC empties (a
	// cache rebuilt for every body cost a name allocation and check per
	// point)
	convs  chan *Converter
	chunks sync.Pool // *[]byte of chunkBytes
	pts    sync.Pool // *[]Point: the writer copies what it keeps

	requests, bad, tooLarge, failed, partial, points, stringFields, boolFields, future, busy, late atomic.Int64
}

// HandlerStats are the handlers' running totals.
type HandlerStats struct {
	Requests     int64 // write and points requests
	Bad          int64 // answered 400 for bad lines or points (the valid ones are stored)
	TooLarge     int64 // refused with 413
	Failed       int64 // 503: the store failed
	Partial      int64 // 400 partial writes (late, refused, bad or future points)
	Points       int64 // points handed to the writer
	StringFields int64 // line-protocol string fields, ignored
	BoolFields   int64 // line-protocol boolean fields, stored as 1 or 0
	Future       int64 // points refused for a timestamp beyond the horizon
	Busy         int64 // answered 429: the in-flight budget was full
	Late         int64 // points at or before their series' last stored second
}

// Stats returns the running totals.
func (h *Handlers) Stats() HandlerStats {
	return HandlerStats{Requests: h.requests.Load(), Bad: h.bad.Load(), TooLarge: h.tooLarge.Load(), Failed: h.failed.Load(),
		Partial: h.partial.Load(), Points: h.points.Load(), StringFields: h.stringFields.Load(), BoolFields: h.boolFields.Load(),
		Future: h.future.Load(), Busy: h.busy.Load(), Late: h.late.Load()}
}

// NewHandlers returns the handlers writing through sink.
func NewHandlers(sink PointWriter, cfg HandlerConfig) (*Handlers, error) {
	if cfg.MaxBodyBytes < 0 || cfg.MaxInflightBytes < 0 || cfg.QueueWait < 0 {
		return nil, fmt.Errorf("push: negative limit in max body %d, max in flight %d, queue wait %v", cfg.MaxBodyBytes, cfg.MaxInflightBytes, cfg.QueueWait)
	}
	if err := cfg.Horizon.Validate(); err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 32 << 20
	}
	if cfg.MaxInflightBytes == 0 {
		cfg.MaxInflightBytes = 64 << 20
	}
	if cfg.QueueWait == 0 {
		cfg.QueueWait = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handlers{sink: sink, max: cfg.MaxBodyBytes, budget: newBudget(cfg.MaxInflightBytes), queueWait: cfg.QueueWait,
		hz: cfg.Horizon, log: cfg.Logger, convs: make(chan *Converter, maxIdleConverters)}, nil
}

// maxIdleConverters bounds the Converters kept between requests (each
// caches up to maxInterned names).
const maxIdleConverters = 8

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Line    int    `json:"line,omitempty"`
	Point   *int   `json:"point,omitempty"`
	// For partial writes.
	Accepted int `json:"accepted,omitempty"`
	Late     int `json:"late,omitempty"`
	Refused  int `json:"refused,omitempty"`
	Bad      int `json:"bad,omitempty"`
	Future   int `json:"future,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do about it
}

// body opens the (possibly gzip-compressed) body, limited to h.max bytes
// before and after decompression.
func (h *Handlers) body(w http.ResponseWriter, r *http.Request) (io.Reader, func(), error) {
	body := io.Reader(http.MaxBytesReader(w, r.Body, h.max))
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, nil, errTooLarge
			}
			return nil, nil, fmt.Errorf("gzip body: %w", err)
		}
		return &limitedReader{r: zr, n: h.max}, func() { zr.Close() }, nil
	default:
		return nil, nil, fmt.Errorf("content encoding %q: want gzip or none", enc)
	}
	return &limitedReader{r: body, n: h.max}, func() {}, nil
}

var errTooLarge = errors.New("body too large")

// limitedReader fails with errTooLarge past n bytes (and maps the
// MaxBytesReader's error to it).
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(b []byte) (int, error) {
	if l.n < 0 {
		return 0, errTooLarge
	}
	if int64(len(b)) > l.n+1 {
		b = b[:l.n+1]
	}
	n, err := l.r.Read(b)
	l.n -= int64(n)
	var mbe *http.MaxBytesError
	if l.n < 0 || errors.As(err, &mbe) {
		return n, errTooLarge
	}
	return n, err
}

func (h *Handlers) getChunk() *[]byte {
	if b, ok := h.chunks.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, chunkBytes)
	return &b
}

func (h *Handlers) getPoints() *[]Point {
	if p, ok := h.pts.Get().(*[]Point); ok {
		return p
	}
	p := make([]Point, 0, batchPoints)
	return &p
}

// putPoints keeps a points slice for the next request unless it is huge.
func (h *Handlers) putPoints(p *[]Point) {
	if cap(*p) > 4*batchPoints {
		return
	}
	clear(*p) // drop the strings it references
	*p = (*p)[:0]
	h.pts.Put(p)
}

// admit takes the request's share of the in-flight budget, or answers 429
// and returns nil.
func (h *Handlers) admit(w http.ResponseWriter, r *http.Request) func() {
	n := int64(RequestCharge)
	if enc := r.Header.Get("Content-Encoding"); (enc == "" || strings.EqualFold(enc, "identity")) && r.ContentLength >= 0 {
		n = min(n, max(r.ContentLength, 1))
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.queueWait)
	defer cancel()
	if err := h.budget.acquire(ctx, n); err != nil {
		h.busy.Add(1)
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusTooManyRequests, errorBody{Code: "too many requests",
			Message: "push ingest is at its in-flight limit; retry after the Retry-After delay"})
		return nil
	}
	return func() { h.budget.release(n) }
}

func (h *Handlers) start(w http.ResponseWriter, r *http.Request) bool {
	h.requests.Add(1)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Code: "method not allowed", Message: "use POST"})
		return false
	}
	if r.ContentLength > h.max {
		h.tooLarge.Add(1)
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Code: "request too large",
			Message: fmt.Sprintf("body larger than %d bytes (after decompression too); nothing written", h.max)})
		return false
	}
	return true
}

// ServeWrite handles POST /api/v1/write: line protocol, `precision` query
// parameter (ns, us, ms, s, m, h; v1's n and u too). The body is parsed
// and written as it streams in. 204 when every point is durable; 400
// naming the first bad line and counting late, refused and bad points
// (every valid point is stored and durable, as InfluxDB does); 413 over
// the body limit; 429 over the in-flight limit; 503 when the store fails.
func (h *Handlers) ServeWrite(w http.ResponseWriter, r *http.Request) {
	if !h.start(w, r) {
		return
	}
	prec, err := ParsePrecision(r.URL.Query().Get("precision"))
	if err != nil {
		h.bad.Add(1)
		writeJSON(w, http.StatusBadRequest, errorBody{Code: "invalid", Message: err.Error()})
		return
	}
	release := h.admit(w, r)
	if release == nil {
		return
	}
	defer release()
	body, closeBody, err := h.body(w, r)
	if err != nil {
		h.bodyError(w, err, 0)
		return
	}
	defer closeBody()
	var c *Converter
	select {
	case c = <-h.convs:
	default:
		c = &Converter{}
	}
	c.Precision, c.Horizon, c.Stats = prec, h.hz, ConvertStats{}
	c.ResetClock()
	a := h.newApplier(r.Context())
	perr, rerr := h.streamLineProtocol(body, c, a)
	st := c.Stats
	select {
	case h.convs <- c:
	default: // enough kept
	}
	res, werr := a.wait()
	h.points.Add(int64(st.Points))
	h.stringFields.Add(int64(st.StringFields))
	h.boolFields.Add(int64(st.BoolFields))
	h.future.Add(int64(st.Future))
	o := outcome{res: res, werr: werr, rerr: rerr, future: st.Future}
	if perr != nil {
		o.bad, o.firstLine, o.firstBad = perr.Bad, perr.First.Line, perr.First.Error()
	}
	h.answer(w, r, o, http.StatusNoContent)
}

// ServePoints handles POST /api/v1/points: a JSON array of
// {timestamp, name, value, units?, tags?}, streamed. 200 with the counts
// when every point is durable; otherwise as ServeWrite, naming the first
// bad point. A JSON syntax error ends the body: the points before it are
// stored, nothing after it is read.
func (h *Handlers) ServePoints(w http.ResponseWriter, r *http.Request) {
	if !h.start(w, r) {
		return
	}
	release := h.admit(w, r)
	if release == nil {
		return
	}
	defer release()
	body, closeBody, err := h.body(w, r)
	if err != nil {
		h.bodyError(w, err, 0)
		return
	}
	defer closeBody()
	a := h.newApplier(r.Context())
	jo, rerr := h.streamJSON(markedReader{body}, a)
	res, werr := a.wait()
	h.future.Add(int64(jo.future))
	o := outcome{res: res, werr: werr, rerr: rerr, bad: jo.bad, future: jo.future, firstPoint: -1}
	if jo.first != nil {
		o.firstBad, o.firstPoint = jo.first.Error(), jo.first.Index
		if jo.first.Fatal {
			o.firstBad += "; nothing after it was read"
		}
	}
	h.points.Add(int64(res.Accepted + res.Late + res.Refused))
	h.answer(w, r, o, http.StatusOK)
}

// outcome is what became of one request.
type outcome struct {
	res        WriteResult
	werr, rerr error // the store's, the body's
	bad        int   // bad lines or points (future ones included)
	future     int
	firstBad   string
	firstLine  int
	firstPoint int // -1: none
}

func (h *Handlers) bodyError(w http.ResponseWriter, err error, stored int) {
	if errors.Is(err, errTooLarge) {
		h.tooLarge.Add(1)
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Code: "request too large", Accepted: stored,
			Message: fmt.Sprintf("body larger than %d bytes (after decompression too); %d points before the limit are stored durably", h.max, stored)})
		return
	}
	h.bad.Add(1)
	writeJSON(w, http.StatusBadRequest, errorBody{Code: "invalid", Accepted: stored,
		Message: fmt.Sprintf("%v; %d points before it are stored durably", err, stored)})
}

func (h *Handlers) answer(w http.ResponseWriter, r *http.Request, o outcome, okStatus int) {
	res := o.res
	h.late.Add(int64(res.Late))
	if o.werr != nil {
		if r.Context().Err() != nil {
			return // the client is gone; its points stay buffered and are written later
		}
		h.failed.Add(1)
		h.log.Error("push: write failed", "path", r.URL.Path, "err", o.werr)
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Code: "store unavailable", Accepted: res.Accepted,
			Message: fmt.Sprintf("%v; points of this request may not be stored", o.werr)})
		return
	}
	if o.rerr != nil {
		if r.Context().Err() != nil {
			return
		}
		h.bodyError(w, o.rerr, res.Accepted)
		return
	}
	if res.Late == 0 && res.Refused == 0 && o.bad == 0 {
		if okStatus == http.StatusNoContent {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSON(w, okStatus, map[string]int{"accepted": res.Accepted, "replaced": res.Replaced})
		return
	}
	body := errorBody{Code: "partial write", Accepted: res.Accepted, Late: res.Late, Refused: res.Refused, Bad: o.bad, Future: o.future}
	var msg strings.Builder
	if o.bad > 0 {
		h.bad.Add(1)
		body.Line = o.firstLine
		if o.firstPoint >= 0 {
			body.Point = &o.firstPoint
		}
		fmt.Fprintf(&msg, "unable to parse: %s", o.firstBad)
		if o.bad > 1 {
			fmt.Fprintf(&msg, " (and %d more bad)", o.bad-1)
		}
		msg.WriteString("; ")
	}
	h.partial.Add(1)
	fmt.Fprintf(&msg, "partial write: %d points stored durably, %d late (at or before their series' last stored second), %d refused by the store",
		res.Accepted, res.Late, res.Refused)
	if res.FirstRefusal != nil {
		msg.WriteString(": " + res.FirstRefusal.Error())
	}
	if o.bad > 0 {
		fmt.Fprintf(&msg, ", %d bad (%d beyond the %v horizon)", o.bad, o.future, h.hz.Max())
	}
	body.Message = msg.String()
	writeJSON(w, http.StatusBadRequest, body)
}
