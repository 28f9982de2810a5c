// Package otlp receives OpenTelemetry metrics over OTLP/HTTP: POST
// /v1/metrics with an ExportMetricsServiceRequest in protobuf
// (application/x-protobuf) or JSON (application/json), optionally gzip.
//
// Naming: the metric name is the series name and the attributes of the
// resource, the scope and the data point become Graphite tags (a data
// point's attribute wins over the scope's, the scope's over the
// resource's; tags sorted, empty values left out): http.server.duration
// with service.name=api and http.route=/ becomes
// `http.server.duration;http.route=/;service.name=api`. Non-string
// attribute values are written as their literals; arrays and maps as
// compact JSON-like text.
//
// Types: gauges are GAUGE; sums that are cumulative and monotonic are
// DERIVE with minimum 0 (a reset reads as unknown, not as a wrap),
// cumulative non-monotonic sums (up-down counters: levels) GAUGE, and
// delta sums ABSOLUTE (a count per interval). Counter values are rounded
// to integers, as rrdtool's DERIVE takes only those. Histograms become
// NAME.count and NAME.sum (DERIVE when cumulative, ABSOLUTE when delta),
// NAME.bucket;le=BOUND with Prometheus-style cumulative bucket counts
// (the last le=+Inf), and NAME.min and NAME.max (GAUGE) when sent.
// Exponential histograms keep count, sum, min and max (their buckets are
// not stored). Summaries keep NAME.count, NAME.sum (DERIVE) and
// NAME;quantile=Q (GAUGE). The unit is kept as the series' units.
//
// Answers follow the OTLP/HTTP specification: 200 with an
// ExportMetricsServiceResponse (in the request's encoding) once every
// point is durable, its partial_success naming the count and the first
// rejected data point (resource, scope, metric and point index) when some
// were bad — the good ones are stored; 400 with a google.rpc.Status for a
// body that does not decode; 429 and 503 (retryable) when busy or when
// the store fails.
package otlp

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	metrics "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"rrdash/ingest/push"
)

// Limiter is the shared in-flight budget (*push.Handlers is one).
type Limiter = push.Limiter

// Config configures a Handler.
type Config = push.ProtocolConfig

// Stats are a handler's running totals.
type Stats struct {
	Requests    int64
	Points      int64 // values handed to the writer (a histogram point gives several)
	Bad         int64 // data points rejected
	BadRequests int64 // requests refused whole (4xx)
	NoValue     int64 // data points flagged "no recorded value"
	Late        int64 // at or before their series' last stored second
	Refused     int64 // refused by the store
	Failed      int64 // requests answered 503: the store failed
	Busy        int64 // requests answered 429
}

// Handler serves POST /v1/metrics.
type Handler struct {
	w     push.PointWriter
	cfg   Config
	pool  sync.Pool    // *converter
	cache *seriesCache // series names across requests, shared by the converters

	requests, points, bad, badReq, noValue, late, refused, failed, busy atomic.Int64
}

// New returns a handler writing through w.
func New(w push.PointWriter, cfg Config) (*Handler, error) {
	cfg, err := cfg.WithDefaults("otlp")
	if err != nil {
		return nil, err
	}
	return &Handler{w: w, cfg: cfg, cache: newSeriesCache()}, nil
}

// Stats returns the running totals.
func (h *Handler) Stats() Stats {
	return Stats{Requests: h.requests.Load(), Points: h.points.Load(), Bad: h.bad.Load(), BadRequests: h.badReq.Load(),
		NoValue: h.noValue.Load(), Late: h.late.Load(), Refused: h.refused.Load(), Failed: h.failed.Load(), Busy: h.busy.Load()}
}

type encoding int

const (
	encProto encoding = iota
	encJSON
)

func (e encoding) contentType() string {
	if e == encJSON {
		return "application/json"
	}
	return "application/x-protobuf"
}

func (e encoding) marshal(m proto.Message) ([]byte, error) {
	if e == encJSON {
		return protojson.Marshal(m)
	}
	return proto.Marshal(m)
}

// reply writes m with status in the request's encoding.
func reply(w http.ResponseWriter, enc encoding, code int, m proto.Message) {
	b, err := enc.marshal(m)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", enc.contentType())
	w.WriteHeader(code)
	w.Write(b) // the client may be gone; nothing to do about it
}

// fail answers a google.rpc.Status, as OTLP/HTTP does for errors.
func (h *Handler) fail(w http.ResponseWriter, enc encoding, code int, format string, args ...any) {
	switch code {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
	default:
		h.badReq.Add(1)
	}
	grpcCode := int32(3) // INVALID_ARGUMENT
	switch code {
	case http.StatusTooManyRequests:
		grpcCode = 8 // RESOURCE_EXHAUSTED
	case http.StatusServiceUnavailable:
		grpcCode = 14 // UNAVAILABLE
	}
	reply(w, enc, code, &status.Status{Code: grpcCode, Message: fmt.Sprintf(format, args...)})
}

// ServeHTTP handles one export.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	enc := encProto
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case err == nil && mt == "application/json":
		enc = encJSON
	case err == nil && mt == "application/x-protobuf":
	default:
		h.fail(w, enc, http.StatusUnsupportedMediaType, "otlp: Content-Type %q: want application/x-protobuf or application/json", r.Header.Get("Content-Type"))
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.fail(w, enc, http.StatusMethodNotAllowed, "otlp: use POST")
		return
	}
	if r.ContentLength > h.cfg.MaxBodyBytes {
		h.fail(w, enc, http.StatusRequestEntityTooLarge, "otlp: body of %d bytes is over the %d byte limit", r.ContentLength, h.cfg.MaxBodyBytes)
		return
	}
	charge := h.cfg.MaxBodyBytes
	if r.ContentLength >= 0 && r.Header.Get("Content-Encoding") == "" {
		charge = r.ContentLength
	}
	if h.cfg.Limiter != nil {
		release, ok := h.cfg.Limiter.Admit(r.Context(), charge)
		if !ok {
			h.busy.Add(1)
			h.fail(w, enc, http.StatusTooManyRequests, "otlp: ingest is at its in-flight limit; retry")
			return
		}
		defer release()
	}
	body, err := h.read(w, r)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			h.fail(w, enc, http.StatusRequestEntityTooLarge, "otlp: body over the %d byte limit (after decompression too)", h.cfg.MaxBodyBytes)
			return
		}
		h.fail(w, enc, http.StatusBadRequest, "otlp: reading the body: %v", err)
		return
	}
	c, _ := h.pool.Get().(*converter)
	if c == nil {
		c = &converter{cache: h.cache}
	}
	defer func() {
		// A converter grown by an unusually large export is not kept.
		if cap(c.vals) <= 4<<20 && cap(c.pts) <= 1<<18 {
			h.pool.Put(c)
		}
	}()
	c.hz = h.cfg.Horizon
	if err := c.decodeAndConvert(enc, body); err != nil {
		h.fail(w, enc, http.StatusBadRequest, "otlp: ExportMetricsServiceRequest (%s): %v; nothing of this request was stored", enc.contentType(), err)
		return
	}
	h.bad.Add(int64(c.bad))
	h.noValue.Add(int64(c.noValue))
	h.points.Add(int64(len(c.pts)))
	res, err := h.w.Write(r.Context(), c.pts)
	if err != nil {
		if r.Context().Err() != nil {
			return // the client is gone; the writer applies its points later
		}
		h.failed.Add(1)
		h.cfg.Logger.Error("otlp: store write failed", "err", err)
		h.fail(w, enc, http.StatusServiceUnavailable, "otlp: store: %v; retry", err)
		return
	}
	h.late.Add(int64(res.Late))
	h.refused.Add(int64(res.Refused))
	var rejected int64
	var msg strings.Builder
	if c.bad > 0 || res.Refused > 0 {
		if c.bad > 0 {
			fmt.Fprintf(&msg, "%d data points rejected, the first: %v; ", c.bad, c.first)
		}
		fmt.Fprintf(&msg, "%d values stored durably, %d late, %d refused by the store", res.Accepted, res.Late, res.Refused)
		if res.FirstRefusal != nil {
			fmt.Fprintf(&msg, " (%v)", res.FirstRefusal)
		}
		rejected = int64(c.bad + res.Refused)
	}
	w.Header().Set("Content-Type", enc.contentType())
	w.WriteHeader(http.StatusOK)
	w.Write(exportResponse(enc, rejected, msg.String())) // the client may be gone; nothing to do about it
}

// decodeAndConvert converts body into c.pts: protobuf through the wire
// decoder (the generated types for what it leaves to them), JSON
// through the generated types.
func (c *converter) decodeAndConvert(enc encoding, body []byte) error {
	c.reset()
	if enc == encProto {
		err := c.convertWire(body)
		if err == nil {
			c.finish()
			return nil
		}
		if !errors.Is(err, errFallback) {
			return err
		}
		c.reset()
	}
	req, err := decode(enc, body)
	if err != nil {
		return err
	}
	c.convert(req)
	c.finish()
	return nil
}

// decode reads an ExportMetricsServiceRequest. JSON follows OTLP's JSON
// mapping (protojson reads its camelCase names, integer enums and int64
// as strings); unknown fields are skipped, as the specification asks.
// It decodes into MetricsData, whose only field (resource_metrics = 1) is
// the request's, on the wire and in JSON: the generated collector package
// would link gRPC and grpc-gateway (some 60 packages, their init run by
// every rrdash command) for one message.
func decode(enc encoding, body []byte) (*metrics.MetricsData, error) {
	req := &metrics.MetricsData{}
	var err error
	if enc == encJSON {
		err = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(body, req)
	} else {
		err = proto.Unmarshal(body, req)
	}
	return req, err
}

var errTooLarge = errors.New("body too large")

// read returns the (gunzipped) body, at most MaxBodyBytes either way.
func (h *Handler) read(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	var body io.Reader = http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes)
	switch enc := strings.ToLower(r.Header.Get("Content-Encoding")); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, tooLarge(fmt.Errorf("gzip body: %w", err))
		}
		defer zr.Close()
		body = zr
	default:
		return nil, fmt.Errorf("content encoding %q: want gzip or none", enc)
	}
	b, err := io.ReadAll(io.LimitReader(body, h.cfg.MaxBodyBytes+1))
	if err != nil {
		return nil, tooLarge(err)
	}
	if int64(len(b)) > h.cfg.MaxBodyBytes {
		return nil, errTooLarge
	}
	return b, nil
}

func tooLarge(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errTooLarge
	}
	return err
}
