package obs

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"
)

// Unmatched is the route of requests no route pattern matched.
const Unmatched = "unmatched"

// reqInfo is filled in by inner layers (echo) for the outer middleware.
type reqInfo struct {
	route   string // METHOD:pattern, set by EchoRoute
	errCode string // set by EchoRoute from a handler's error
}

type ctxKey struct{}

// HTTPObserver receives one call per served request.
type HTTPObserver interface {
	ObserveRequest(route string, status int, errorCode string, d time.Duration)
}

// ObserveRequest implements HTTPObserver.
func (m *Metrics) ObserveRequest(route string, status int, _ string, d time.Duration) {
	m.ObserveHTTP(route, status, d)
}

// Middleware wraps the outermost handler: every request is timed and
// reported to each observer with its route — METHOD:pattern from echo's
// matched route (see EchoRoute) or from the http.ServeMux pattern, never
// the raw path, so cardinality stays bounded — and its status code.
func Middleware(next http.Handler, observers ...HTTPObserver) http.Handler {
	var obs []HTTPObserver
	for _, o := range observers {
		if o != nil {
			obs = append(obs, o)
		}
	}
	if len(obs) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		info := &reqInfo{}
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
			if code == "" && status >= 400 {
				code = statusCode(status)
			}
			d := time.Since(t0)
			for _, o := range obs {
				o.ObserveRequest(route, status, code, d)
			}
		}()
		next.ServeHTTP(sw, r)
		panicked = false
	})
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
