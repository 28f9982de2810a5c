package obs

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v5"
)

// counts returns rrdash_http_requests_total by "route status".
func counts(m *Metrics) map[string]float64 {
	out := map[string]float64{}
	for _, f := range m.Registry.Gather() {
		if f.Name != "rrdash_http_requests_total" {
			continue
		}
		for _, p := range f.Points {
			out[p.LabelValues[0]+" "+p.LabelValues[1]] = p.Value
		}
	}
	return out
}

func TestMiddlewareRoutes(t *testing.T) {
	t.Parallel()
	e := echo.New()
	e.Use(EchoRoute)
	e.GET("/g/:id", func(c *echo.Context) error {
		if c.Param("id") == "missing" {
			return echo.NewHTTPError(http.StatusNotFound, "no such graph")
		}
		return c.String(http.StatusOK, "graph "+c.Param("id"))
	})
	e.GET("/u/:user/g/:id", func(c *echo.Context) error { return c.NoContent(http.StatusNoContent) })
	e.GET("/assets/*", func(c *echo.Context) error { return c.String(http.StatusOK, "asset") })
	e.GET("/slow", func(c *echo.Context) error { return context.DeadlineExceeded })
	api := e.Group("/api/v1")
	api.GET("/series", func(c *echo.Context) error { return c.JSON(http.StatusOK, []string{}) })
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/write", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /plain", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "no WriteHeader") })
	mux.HandleFunc("POST /panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	mux.Handle("/", e)
	m := NewMetrics()
	srv := httptest.NewUnstartedServer(Middleware(mux, nil, m))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the panic's stack trace
	srv.Start()
	defer srv.Close()

	tests := []struct {
		method, path string
		status       int
		route        string
	}{
		{"GET", "/g/abc123", 200, "GET:/g/{id}"},
		{"GET", "/g/zzz999", 200, "GET:/g/{id}"},
		{"GET", "/g/missing", 404, "GET:/g/{id}"},
		{"GET", "/u/ann/g/x1", 204, "GET:/u/{user}/g/{id}"},
		{"GET", "/assets/app.js", 200, "GET:/assets/*"},
		{"GET", "/api/v1/series?q=a", 200, "GET:/api/v1/series"},
		{"GET", "/api/v1/nosuch/deep/path", 404, Unmatched},
		{"GET", "/nosuch", 404, Unmatched},
		{"DELETE", "/g/abc", 405, Unmatched},
		{"POST", "/api/v1/write", 204, "POST:/api/v1/write"},
		{"GET", "/plain", 200, "GET:/plain"},
		{"GET", "/slow", 500, "GET:/slow"},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
	}
	// POST: the client does not retry it when the connection drops.
	if _, err := srv.Client().Post(srv.URL+"/panic", "text/plain", strings.NewReader("x")); err == nil {
		t.Error("POST /panic: want the connection dropped")
	}
	got := counts(m)
	want := map[string]float64{}
	for _, tc := range tests {
		want[tc.route+" "+strconv.Itoa(tc.status)]++
	}
	want["POST:/panic 500"]++
	for k, v := range want {
		if got[k] != v {
			t.Errorf("requests %q: %v, want %v", k, got[k], v)
		}
	}
	for k := range got {
		if strings.Contains(k, "abc") || strings.Contains(k, "nosuch") || strings.Contains(k, "missing") {
			t.Errorf("raw path in a route label: %q", k)
		}
	}
	if len(got) != len(want) {
		t.Errorf("routes %v, want %v", got, want)
	}
}

func TestStatusCodeSlug(t *testing.T) {
	t.Parallel()
	for status, want := range map[int]string{404: "not_found", 500: "internal_server_error", 413: "request_entity_too_large",
		400: "bad_request", 418: "im_a_teapot", 599: "status_599"} {
		if got := statusCode(status); got != want {
			t.Errorf("statusCode(%d) = %q, want %q", status, got, want)
		}
	}
}

func TestMiddlewareWithoutObservers(t *testing.T) {
	t.Parallel()
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	rec := httptest.NewRecorder()
	Middleware(h, nil).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 200 {
		t.Errorf("status %d", rec.Code)
	}
}

func TestRouteNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ method, pattern, want string }{
		{"POST", "POST /api/v1/write", "POST:/api/v1/write"},
		{"GET", "/-/metrics", "GET:/-/metrics"},
		{"GET", "GET example.com/x/{id}", "GET:/x/{id}"},
		{"PUT", "", Unmatched},
		{"GET", "/", Unmatched},
	} {
		r := httptest.NewRequest(tc.method, "/whatever", nil)
		r.Pattern = tc.pattern
		if got := muxRoute(r); got != tc.want {
			t.Errorf("muxRoute(%s %q) = %q, want %q", tc.method, tc.pattern, got, tc.want)
		}
	}
	for in, want := range map[string]string{"/g/:id": "/g/{id}", "/u/:user/g/:id": "/u/{user}/g/{id}", "/assets/*": "/assets/*", "/": "/"} {
		if got := echoPattern(in); got != want {
			t.Errorf("echoPattern(%q) = %q, want %q", in, got, want)
		}
	}
}
