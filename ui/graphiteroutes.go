package ui

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v5"

	"rrdash/ui/graphite"
)

// The Graphite read API (ui/graphite) lives at graphite-web's paths, so
// that Grafana's Graphite data source and graphite-web clients use the
// server's root URL unchanged. It follows the API's rules: a session or
// an API token of scope read (routeScopes).
var graphitePaths = map[string]bool{
	"/render":             true,
	"/metrics/find":       true,
	"/metrics/expand":     true,
	"/metrics/index.json": true,
	"/version":            true,
}

// isGraphitePath reports whether a request is for the Graphite API.
func isGraphitePath(path string) bool {
	return graphitePaths[path] || path == "/tags" || strings.HasPrefix(path, "/tags/") ||
		path == "/functions" || strings.HasPrefix(path, "/functions/")
}

// isAPIPath: the JSON API and the Graphite API answer errors as data,
// take API tokens and never redirect to the login page.
func isAPIPath(path string) bool { return strings.HasPrefix(path, "/api/") || isGraphitePath(path) }

// readOnlyRequest: GET and HEAD, and the Graphite API's POSTs, which are
// reads with a form body (Grafana posts its targets): they change
// nothing, so they need no CSRF token; another site cannot read the
// answer (no CORS, no JSONP).
func readOnlyRequest(r *http.Request) bool {
	return safeMethod(r.Method) || r.Method == http.MethodPost && isGraphitePath(r.URL.Path) && r.URL.Path != "/tags/delSeries"
}

func (s *Server) graphiteRoutes(e *echo.Echo) {
	gopts := graphite.Options{Now: s.cfg.Now, Logger: s.log}
	if s.meta != nil {
		gopts.Annotations = s.meta // events() counts annotations
	}
	g := graphite.New(s.store, gopts)
	// route-level middleware: a root Group would add a catch-all route
	for path, h := range map[string]http.HandlerFunc{
		"/render":         g.Render,
		"/metrics/find":   g.Find,
		"/metrics/expand": g.Expand,
	} {
		e.GET(path, echo.WrapHandler(h), tokenScope)
		e.POST(path, echo.WrapHandler(h), tokenScope)
	}
	e.GET("/metrics/index.json", echo.WrapHandler(http.HandlerFunc(g.Index)), tokenScope)
	e.GET("/version", echo.WrapHandler(http.HandlerFunc(g.Version)), tokenScope)
	for path, h := range map[string]http.HandlerFunc{
		"/tags/findSeries":          g.FindSeries,
		"/tags/autoComplete/tags":   g.AutoCompleteTags,
		"/tags/autoComplete/values": g.AutoCompleteValues,
	} {
		e.GET(path, echo.WrapHandler(h), tokenScope)
		e.POST(path, echo.WrapHandler(h), tokenScope)
	}
	e.GET("/tags", echo.WrapHandler(http.HandlerFunc(g.Tags)), tokenScope)
	// they change nothing (rrdash's tags are in the names): reads
	e.POST("/tags/tagSeries", echo.WrapHandler(http.HandlerFunc(g.TagSeries)), tokenScope)
	e.POST("/tags/tagMultiSeries", echo.WrapHandler(http.HandlerFunc(g.TagMultiSeries)), tokenScope)
	// graphite-web's series deletion: it changes the store (seriesadmin.go)
	e.POST("/tags/delSeries", s.graphiteDelSeries, sameSite, tokenScope)
	e.GET("/functions", echo.WrapHandler(g.Functions("")), tokenScope)
	e.GET("/functions/:name", func(c *echo.Context) error {
		g.Functions(c.Param("name")).ServeHTTP(c.Response(), c.Request())
		return nil
	}, tokenScope)
	e.GET("/tags/:tag", func(c *echo.Context) error {
		g.TagDetails(c.Param("tag")).ServeHTTP(c.Response(), c.Request())
		return nil
	}, tokenScope)
}
