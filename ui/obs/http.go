package obs

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v5"
)

// Unmatched is the route of requests no route pattern matched.
const Unmatched = "unmatched"

// reqInfo is filled in by inner layers (echo) for the outer middleware.
type reqInfo struct {
	route   string // METHOD:pattern, set by EchoRoute
	errCode string // set by EchoRoute from a handler's error
	id      RequestID
}

type ctxKey struct{}

// RequestID identifies one served request: sent back in the X-Request-Id
// header, logged with failed requests, and carried by request points.
type RequestID uint64

// String is the id as 16 lowercase hex digits.
func (id RequestID) String() string {
	var b [16]byte
	return string(id.Append(b[:0]))
}

// Append appends the id's 16 hex digits to b.
func (id RequestID) Append(b []byte) []byte {
	const hex = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, hex[(id>>uint(shift))&0xf])
	}
	return b
}

// RequestIDFrom returns the id Middleware gave the request of ctx (0 when
// it did not see it).
func RequestIDFrom(ctx context.Context) RequestID {
	if info, _ := ctx.Value(ctxKey{}).(*reqInfo); info != nil {
		return info.id
	}
	return 0
}

// Request is one served request as observers see it.
type Request struct {
	ID        RequestID
	Start     time.Time
	Duration  time.Duration
	Route     string // METHOD:pattern or Unmatched
	Status    int
	ErrorCode string // empty below 400; see the error code table in docs/MONITORING.md
}

// HTTPObserver receives one call per served request. It runs on the
// request path: it must be quick and must not keep r.
type HTTPObserver interface {
	ObserveRequest(r *Request)
}

// ObserveRequest implements HTTPObserver.
func (m *Metrics) ObserveRequest(r *Request) {
	m.ObserveHTTP(r.Route, r.Status, r.Duration)
}

// ErrorCodePanic is the error_code of a request whose handler panicked.
const ErrorCodePanic = "panic"

// Middleware wraps the outermost handler: every request gets a request
// id (the X-Request-Id response header), is timed and reported to each
// observer with its route — METHOD:pattern from echo's matched route (see
// EchoRoute) or from the http.ServeMux pattern, never the raw path, so
// cardinality stays bounded — and its status code. Server errors (5xx,
// panics) are logged with their request id.
func Middleware(next http.Handler, log *slog.Logger, observers ...HTTPObserver) http.Handler {
	var obs []HTTPObserver
	for _, o := range observers {
		if o != nil {
			obs = append(obs, o)
		}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ids := newIDSource()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		info := &reqInfo{id: ids.next()}
		w.Header()["X-Request-Id"] = []string{info.id.String()}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, info))
		sw := &statusWriter{ResponseWriter: w}
		panicked := true
		defer func() {
			status := sw.status
			switch {
			case panicked: // net/http logs it and drops the connection
				status = http.StatusInternalServerError
			case status == 0: // nothing written: net/http sends 200
				status = http.StatusOK
			}
			route := info.route
			if route == "" {
				route = muxRoute(r)
			}
			code := info.errCode
			switch {
			case panicked:
				code = ErrorCodePanic
			case code == "" && status >= 400:
				code = statusCode(status)
			}
			req := Request{ID: info.id, Start: t0, Duration: time.Since(t0), Route: route, Status: status, ErrorCode: code}
			if status >= 500 && info.route == "" || panicked {
				// echo's request log covers echo's routes, with the request id
				log.Warn("request failed", "request_id", info.id.String(), "route", route, "status", status, "error_code", code)
			}
			for _, o := range obs {
				o.ObserveRequest(&req)
			}
		}()
		next.ServeHTTP(sw, r)
		panicked = false
	})
}

// idSource hands out request ids: a random 64-bit start per process,
// counting up, so ids are unique within a process and across restarts in
// all likelihood, at the cost of one atomic add per request.
type idSource struct{ n atomic.Uint64 }

func newIDSource() *idSource {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	s := &idSource{}
	s.n.Store(binary.LittleEndian.Uint64(b[:]))
	return s
}

func (s *idSource) next() RequestID {
	for {
		if id := RequestID(s.n.Add(1)); id != 0 { // 0 means "no id"
			return id
		}
	}
}

// muxRoute turns the ServeMux pattern that served r ("POST /api/v1/write",
// "/") into METHOD:pattern. The catch-all "/" (the echo server) did not
// match anything of its own when echo left no route.
func muxRoute(r *http.Request) string {
	p := r.Pattern
	if p == "" || p == "/" {
		return Unmatched
	}
	method, path, ok := strings.Cut(p, " ")
	if !ok {
		method, path = r.Method, p
	}
	if i := strings.IndexByte(path, '/'); i > 0 {
		path = path[i:] // drop a host
	}
	return method + ":" + path
}

// statusCode is the error_code of a failed request without a more
// specific one: its status text in snake case ("not_found").
func statusCode(status int) string {
	t := http.StatusText(status)
	if t == "" {
		return "status_" + strconv.Itoa(status)
	}
	return strings.ReplaceAll(strings.ToLower(strings.NewReplacer("-", " ", "'", "").Replace(t)), " ", "_")
}

// EchoRoute is echo middleware reporting the matched route pattern (and
// a handler's error class) to Middleware further out. Without Middleware
// it only looks up a context value.
func EchoRoute(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		err := next(c)
		info, _ := c.Request().Context().Value(ctxKey{}).(*reqInfo)
		if info == nil {
			return err
		}
		ri := c.RouteInfo()
		if ri.Method == c.Request().Method && ri.Path != "" {
			info.route = ri.Method + ":" + echoPattern(ri.Path)
		} else {
			info.route = Unmatched
		}
		switch {
		case err == nil:
		case errors.Is(err, context.DeadlineExceeded):
			info.errCode = "timeout"
		case errors.Is(err, context.Canceled):
			info.errCode = "canceled"
		}
		return err
	}
}

// echoPattern writes echo's ":id" parameters as "{id}", as ServeMux does.
func echoPattern(p string) string {
	if !strings.Contains(p, ":") {
		return p
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") {
			segs[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(segs, "/")
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flush,
// deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush forwards to the wrapped writer, for streaming handlers that type-assert.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}
