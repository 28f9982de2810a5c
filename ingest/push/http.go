package push

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// HandlerConfig configures the HTTP handlers.
type HandlerConfig struct {
	// MaxBodyBytes bounds a request body, after gzip decompression too
	// (default 32 MiB); larger bodies get 413.
	MaxBodyBytes int64
	Logger       *slog.Logger
}

// Handlers serves POST /api/v1/write (InfluxDB line protocol) and POST
// /api/v1/points (JSON). A 2xx means every stored point is durable.
type Handlers struct {
	sink  PointWriter
	max   int64
	log   *slog.Logger
	convs sync.Pool // *Converter: keeps the series-name cache between requests
	bufs  sync.Pool // *bytes.Buffer
	pts   sync.Pool // *[]Point: the writer copies what it keeps

	requests, bad, tooLarge, failed, partial, points, stringFields, boolFields atomic.Int64
}

// HandlerStats are the handlers' running totals.
type HandlerStats struct {
	Requests     int64 // write and points requests
	Bad          int64 // refused with 400 for a bad body (nothing written)
	TooLarge     int64 // refused with 413
	Failed       int64 // 500: the store failed
	Partial      int64 // 400 partial writes (late or refused points)
	Points       int64 // points handed to the writer
	StringFields int64 // line-protocol string fields, ignored
	BoolFields   int64 // line-protocol boolean fields, stored as 1 or 0
}

// Stats returns the running totals.
func (h *Handlers) Stats() HandlerStats {
	return HandlerStats{Requests: h.requests.Load(), Bad: h.bad.Load(), TooLarge: h.tooLarge.Load(), Failed: h.failed.Load(),
		Partial: h.partial.Load(), Points: h.points.Load(), StringFields: h.stringFields.Load(), BoolFields: h.boolFields.Load()}
}

// NewHandlers returns the handlers writing through sink.
func NewHandlers(sink PointWriter, cfg HandlerConfig) *Handlers {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 32 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handlers{sink: sink, max: cfg.MaxBodyBytes, log: cfg.Logger}
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Line    int    `json:"line,omitempty"`
	Point   *int   `json:"point,omitempty"`
	// For partial writes.
	Accepted int `json:"accepted,omitempty"`
	Late     int `json:"late,omitempty"`
	Refused  int `json:"refused,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do about it
}

var errTooLarge = errors.New("body too large")

// readBody reads the (possibly gzip-compressed) body, at most h.max bytes
// before and after decompression.
func (h *Handlers) readBody(w http.ResponseWriter, r *http.Request, buf *bytes.Buffer) error {
	body := io.Reader(http.MaxBytesReader(w, r.Body, h.max))
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return errTooLarge
			}
			return fmt.Errorf("gzip body: %w", err)
		}
		defer zr.Close()
		body = zr
	default:
		return fmt.Errorf("content encoding %q: want gzip or none", enc)
	}
	n, err := buf.ReadFrom(io.LimitReader(body, h.max+1))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe) || n > h.max:
		return errTooLarge
	case err != nil:
		return fmt.Errorf("reading body: %w", err)
	}
	return nil
}

func (h *Handlers) bodyError(w http.ResponseWriter, err error) {
	if errors.Is(err, errTooLarge) {
		h.tooLarge.Add(1)
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Code: "request too large",
			Message: fmt.Sprintf("body larger than %d bytes (after decompression too)", h.max)})
		return
	}
	h.bad.Add(1)
	writeJSON(w, http.StatusBadRequest, errorBody{Code: "invalid", Message: err.Error()})
}

func (h *Handlers) getBuf() *bytes.Buffer {
	if b, ok := h.bufs.Get().(*bytes.Buffer); ok {
		b.Reset()
		return b
	}
	return new(bytes.Buffer)
}

func (h *Handlers) getPoints() *[]Point {
	if p, ok := h.pts.Get().(*[]Point); ok {
		return p
	}
	return new([]Point)
}

// putPoints keeps a points slice for the next request unless it is huge.
func (h *Handlers) putPoints(p *[]Point) {
	if cap(*p) > 1<<20 {
		return
	}
	clear(*p) // drop the strings it references
	h.pts.Put(p)
}

// ServeWrite handles POST /api/v1/write: line protocol, `precision` query
// parameter (ns, us, ms, s, m, h; v1's n and u too). 204 when every point
// is durable; 400 naming the first bad line (nothing is written then) or
// reporting a partial write (late or refused points; the rest is durable);
// 413 over the body limit; 500 when the store fails.
func (h *Handlers) ServeWrite(w http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Code: "method not allowed", Message: "use POST"})
		return
	}
	prec, err := ParsePrecision(r.URL.Query().Get("precision"))
	if err != nil {
		h.bad.Add(1)
		writeJSON(w, http.StatusBadRequest, errorBody{Code: "invalid", Message: err.Error()})
		return
	}
	buf := h.getBuf()
	defer h.bufs.Put(buf)
	if err := h.readBody(w, r, buf); err != nil {
		h.bodyError(w, err)
		return
	}
	c, _ := h.convs.Get().(*Converter)
	if c == nil {
		c = &Converter{}
	}
	c.Precision, c.Stats = prec, ConvertStats{}
	ptsBuf := h.getPoints()
	defer h.putPoints(ptsBuf)
	pts, err := c.ParseLineProtocol(buf.Bytes(), (*ptsBuf)[:0])
	*ptsBuf = pts
	st := c.Stats
	h.convs.Put(c)
	if err != nil {
		h.bad.Add(1)
		var pe *ParseError
		if errors.As(err, &pe) {
			writeJSON(w, http.StatusBadRequest, errorBody{Code: "invalid", Message: "unable to parse: " + pe.Error() + "; nothing written", Line: pe.First.Line})
			return
		}
		writeJSON(w, http.StatusBadRequest, errorBody{Code: "invalid", Message: err.Error()})
		return
	}
	h.stringFields.Add(int64(st.StringFields))
	h.boolFields.Add(int64(st.BoolFields))
	h.finish(w, r, pts, http.StatusNoContent)
}

// ServePoints handles POST /api/v1/points: a JSON array of
// {timestamp, name, value, units?, tags?}. 200 with the counts when every
// point is durable; otherwise as ServeWrite.
func (h *Handlers) ServePoints(w http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Code: "method not allowed", Message: "use POST"})
		return
	}
	buf := h.getBuf()
	defer h.bufs.Put(buf)
	if err := h.readBody(w, r, buf); err != nil {
		h.bodyError(w, err)
		return
	}
	pts, err := DecodeJSONPoints(buf, nil)
	if err != nil {
		h.bad.Add(1)
		var pe *PointError
		body := errorBody{Code: "invalid", Message: err.Error() + "; nothing written"}
		if errors.As(err, &pe) && pe.Index >= 0 {
			body.Point = &pe.Index
		}
		writeJSON(w, http.StatusBadRequest, body)
		return
	}
	h.finish(w, r, pts, http.StatusOK)
}

func (h *Handlers) finish(w http.ResponseWriter, r *http.Request, pts []Point, okStatus int) {
	h.points.Add(int64(len(pts)))
	res, err := h.sink.Write(r.Context(), pts)
	if err != nil {
		if r.Context().Err() != nil {
			return // the client is gone; its points stay buffered and are written later
		}
		h.failed.Add(1)
		h.log.Error("push: write failed", "path", r.URL.Path, "points", len(pts), "err", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{Code: "internal error", Message: err.Error()})
		return
	}
	if res.Late > 0 || res.Refused > 0 {
		h.partial.Add(1)
		msg := fmt.Sprintf("partial write: %d points stored durably, %d late (at or before their series' last stored second), %d refused by the store",
			res.Accepted, res.Late, res.Refused)
		if res.FirstRefusal != nil {
			msg += ": " + res.FirstRefusal.Error()
		}
		writeJSON(w, http.StatusBadRequest, errorBody{Code: "partial write", Message: msg, Accepted: res.Accepted, Late: res.Late, Refused: res.Refused})
		return
	}
	if okStatus == http.StatusNoContent {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, okStatus, map[string]int{"accepted": res.Accepted, "replaced": res.Replaced})
}
