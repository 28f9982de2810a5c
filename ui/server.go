// Package ui is rrdash's web service: trace-log dashboards, the graph
// builder, saved graphs, share links, PNG rendering and the JSON API, on
// echo v5. Static assets (echarts included) are embedded.
package ui

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"

	"rrdash/auth"
	"rrdash/graph"
	"rrdash/store"
	"rrdash/store/meta"
	"rrdash/ui/obs"
)

//go:embed assets templates
var embedded embed.FS

// Store is what the web service reads from the time-series store;
// *store.DB satisfies it.
type Store interface {
	graph.Fetcher
	List(glob string) ([]string, error)
	Spec(name string) (store.Spec, error)
	LastUpdate(name string) (int64, error)
}

// UserFunc returns the user making a request. Until OIDC (auth/) is
// configured, LocalUser serves every request as the single local user.
type UserFunc func(r *http.Request) (meta.User, error)

// Config is the web service's configuration.
type Config struct {
	// BaseURL is the public URL prefix used in og:image and share links,
	// e.g. "https://rrdash.example.com". Empty: taken from the request.
	BaseURL string
	// LocalMode labels every page as the local single-user mode.
	LocalMode bool
	// SeriesAdmin says who may delete and rename series (seriesperm.go).
	SeriesAdmin SeriesAdminConfig
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// OIDC, when its issuer is set, turns on login (auth/): every page and
	// API call then needs a session or an API token.
	OIDC OIDCConfig
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed (IPs or CIDR prefixes).
	TrustedProxies []string
	// HTTPClient talks to the OIDC provider (http.DefaultClient when nil).
	HTTPClient *http.Client
	// Monitors is the code-monitor service; nil disables /monitors.
	Monitors Monitors
	// ListenAddr is the address served (HOST:PORT): its host is allowed
	// in Host headers; an address on every interface allows any IP.
	ListenAddr string
	// AllowedHosts are further names (or IPs) allowed in Host headers,
	// beside localhost, loopback addresses and the hosts of BaseURL and
	// the OIDC redirect URL ("name" or "name:port").
	AllowedHosts []string
	// Sources reports the configured ingest sources (listeners) for
	// /-/healthz and /-/readyz; nil: none.
	Sources func() []SourceStatus
	// EvalBudget bounds the work of one request's evaluation in
	// row-operations (rpn.Request.Budget): over it the request is refused
	// with 422. 0: DefaultEvalBudget; negative: no limit.
	EvalBudget int64
	// EvalTimeout stops an evaluation running longer (503). 0:
	// DefaultEvalTimeout; negative: no limit.
	EvalTimeout time.Duration
}

// SourceStatus is one ingest source's state. State "stopped" fails
// /-/healthz and /-/readyz (503); "retrying" (accept errors, backed off)
// fails /-/readyz only.
type SourceStatus struct {
	Name   string    `json:"name"`
	State  string    `json:"state"` // running, retrying, stopped, closed
	Since  time.Time `json:"since"`
	Error  string    `json:"error,omitempty"`
	Detail any       `json:"detail,omitempty"`
}

// Server is the web service.
type Server struct {
	cfg   Config
	store Store
	meta  *meta.DB
	user  UserFunc
	log   *slog.Logger
	echo  *echo.Echo
	tmpl  map[string]*template.Template
	login *login // nil in the local single-user mode
	// pngKey signs PNG links in login mode (pnglinks.go); nil otherwise.
	pngKey []byte
	// hosts is the Host allow-list (httpsec.go); SetAllowedHosts
	// replaces it while serving.
	hosts atomic.Pointer[auth.Hosts]
	// assets are the embedded static files with their content hashes.
	assets *assetSet
	// localCSRF is the single-user mode's CSRF token; "" in login mode,
	// where each session has its own.
	localCSRF string
}

// New builds the server and its routes.
func New(cfg Config, st Store, md *meta.DB, user UserFunc, log *slog.Logger) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, store: st, meta: md, user: user, log: log}
	hosts, err := hostPolicy(cfg)
	if err != nil {
		return nil, err
	}
	s.hosts.Store(hosts)
	if s.login, err = newLogin(cfg, md); err != nil {
		return nil, err
	}
	for _, n := range md.Notices() {
		log.Warn("metadata database upgraded", "notice", n)
	}
	if s.login == nil && user == nil {
		return nil, errors.New("ui: no OIDC issuer and no UserFunc for the local mode")
	}
	if s.login != nil {
		s.cfg.LocalMode = false // never label a login-mode server single-user
		if s.pngKey, err = md.Secret(context.Background(), pngKeyName, 32); err != nil {
			return nil, err
		}
	} else {
		// One token for the single user, kept across restarts so open
		// pages keep working.
		key, err := md.Secret(context.Background(), localCSRFKey, 24)
		if err != nil {
			return nil, err
		}
		s.localCSRF = encodeCSRF(key)
	}
	assets, err := fs.Sub(embedded, "assets")
	if err != nil {
		return nil, err
	}
	if s.assets, err = newAssetSet(assets); err != nil {
		return nil, err
	}
	if s.tmpl, err = parseTemplates(template.FuncMap{"asset": s.assets.url}); err != nil {
		return nil, err
	}
	// Every GET route answers HEAD too (load balancers, link unfurlers):
	// no GET handler here changes state, so running it for HEAD is safe.
	e := echo.NewWithConfig(echo.Config{Router: echo.NewRouter(echo.RouterConfig{AllowOverwritingRoute: true, AutoHandleHEAD: true})})
	e.Logger = log
	e.HTTPErrorHandler = s.handleError
	e.Use(obs.EchoRoute) // route patterns for metrics and self-monitoring
	e.Use(middleware.Recover())
	e.Use(s.requestLog())
	e.Use(s.securityHeaders)
	e.Use(middleware.BodyLimit(1 << 20))
	e.Use(s.withUser)

	e.GET("/", s.pageDashboards)
	e.GET("/metrics", s.pageBuilder)
	e.GET("/graphs", s.pageGraphs)
	e.GET("/u/:user", s.pageUser)
	e.GET("/g/:id", s.pageGraph) // also /g/{id}.png
	e.GET("/view", s.pageView)
	e.GET("/dashboards", s.pageBoards)
	e.GET("/dashboards/new", s.pageBoardEdit)
	e.GET("/d/:id", s.pageBoard)
	e.GET("/d/:id/edit", s.pageBoardEdit)
	e.GET("/view.png", s.viewPNG)
	e.GET("/-/healthz", s.healthz)
	e.GET("/-/readyz", s.readyz)
	e.GET("/-/ready", s.readyz) // the name issue 20 and some orchestrators use
	e.GET("/monitors", s.pageMonitors)
	e.GET("/monitors/new", s.pageMonitorEdit)
	e.GET("/monitors/alerts", s.pageMonitorAlerts)
	e.GET("/monitors/:name", s.pageMonitor)
	e.GET("/monitors/:name/edit", s.pageMonitorEdit)
	e.GET("/assets/*", func(c *echo.Context) error { return s.assets.serve(c, c.Param("*")) })
	e.GET("/favicon.ico", func(c *echo.Context) error { return s.assets.serve(c, "favicon.svg") })

	api := e.Group("/api/v1", sameOriginWrites, tokenScope)
	api.GET("/series", s.apiSeries)
	api.GET("/series/info", s.apiSeriesInfo)
	api.GET("/xport", s.apiXport)
	api.POST("/xport", s.apiXport)
	api.POST("/chart", s.apiChart)
	api.POST("/validate", s.apiValidate)
	api.POST("/parse", s.apiParse)
	api.GET("/graphs", s.apiListGraphs)
	api.POST("/graphs", s.apiCreateGraph)
	api.GET("/graphs/:id", s.apiGetGraph)
	api.PUT("/graphs/:id", s.apiUpdateGraph)
	api.DELETE("/graphs/:id", s.apiDeleteGraph)
	api.POST("/graphs/:id/copy", s.apiCopyGraph)
	api.GET("/graphs/:id/chart", s.apiGraphChart)
	api.GET("/tracelog/charts/:chart", s.apiTracelogChart)
	api.GET("/dashboards", s.apiListBoards)
	api.POST("/dashboards", s.apiCreateBoard)
	api.GET("/dashboards/:id", s.apiGetBoard)
	api.PUT("/dashboards/:id", s.apiUpdateBoard)
	api.DELETE("/dashboards/:id", s.apiDeleteBoard)
	api.POST("/dashboards/:id/copy", s.apiCopyBoard)
	api.GET("/dashboards/:id/panels/:n/chart", s.apiBoardPanelChart)
	api.GET("/tokens", s.apiListTokens)
	api.POST("/tokens", s.apiCreateTokens)
	api.DELETE("/tokens/:id", s.apiRevokeToken)
	e.GET("/settings/tokens", s.pageTokens)
	s.loginRoutes(e)
	api.GET("/monitors", s.apiListMonitors)
	api.POST("/monitors", s.apiCreateMonitor)
	api.GET("/monitors/:name", s.apiGetMonitor)
	api.PUT("/monitors/:name", s.apiUpdateMonitor)
	api.DELETE("/monitors/:name", s.apiDeleteMonitor)
	api.POST("/monitors/:name/run", s.apiRunMonitor)
	api.DELETE("/series", s.apiDeleteSeries)
	api.POST("/series/rename", s.apiRenameSeries)
	api.GET("/monitors/:name/runs", s.apiMonitorRuns)
	api.GET("/monitors/:name/alerts", s.apiMonitorAlerts)
	api.GET("/monitors/:name/charts/:chart", s.apiMonitorChart)
	s.graphiteRoutes(e)
	s.annotationRoutes(e)
	s.echo = e
	return s, nil
}

// Handler returns the HTTP handler, behind the Host allow-list.
func (s *Server) Handler() http.Handler { return s.CheckHost(s.echo) }

// LocalUser returns a UserFunc for the single-user mode: the user "local"
// is created in the metadata database once and used for every request.
func LocalUser(ctx context.Context, md *meta.DB) (UserFunc, error) {
	u, err := md.EnsureUser(ctx, meta.User{Handle: "local", Issuer: meta.LocalIssuer, Subject: "local", Name: "local user"})
	if err != nil {
		return nil, fmt.Errorf("local user: %w", err)
	}
	return func(*http.Request) (meta.User, error) { return u, nil }, nil
}

const userKey = "rrdash.user"

func (s *Server) withUser(next echo.HandlerFunc) echo.HandlerFunc {
	if s.login != nil {
		return s.authenticate(next)
	}
	// The single-user mode: a request with an API token is that token's
	// (its scope applies); any other is the local user's, and its writes
	// must come from our pages (checkLocalWrite).
	return func(c *echo.Context) error {
		r := c.Request()
		if bearer(r) {
			if err := s.tokenAuth(c); err != nil {
				return err
			}
			return next(c)
		}
		if !readOnlyRequest(r) {
			if err := s.checkLocalWrite(r); err != nil {
				return err
			}
		}
		u, err := s.user(r)
		if err != nil {
			return echo.NewHTTPError(http.StatusUnauthorized, "not signed in").Wrap(err)
		}
		c.Set(userKey, u)
		return next(c)
	}
}

func currentUser(c *echo.Context) meta.User {
	u, _ := c.Get(userKey).(meta.User)
	return u
}

// requestLog logs one structured line per request.
func (s *Server) requestLog() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogURI: true, LogMethod: true, LogLatency: true, LogRemoteIP: true, LogRoutePath: true,
		LogResponseSize: true, HandleError: true,
		LogValuesFunc: func(c *echo.Context, v middleware.RequestLoggerValues) error {
			attrs := []slog.Attr{
				slog.String("method", v.Method), slog.String("uri", v.URI), slog.String("route", v.RoutePath),
				slog.Int("status", v.Status), slog.Duration("latency", v.Latency),
				slog.String("remote", v.RemoteIP), slog.Int64("bytes", v.ResponseSize),
			}
			if id := obs.RequestIDFrom(c.Request().Context()); id != 0 {
				attrs = append(attrs, slog.String("request_id", id.String()))
			}
			level := slog.LevelInfo
			if v.Error != nil {
				attrs = append(attrs, slog.String("error", v.Error.Error()))
				if v.Status >= 500 {
					level = slog.LevelError
				}
			}
			s.log.LogAttrs(c.Request().Context(), level, "request", attrs...)
			return nil
		},
	})
}

// securityHeaders sets the headers of every response and the nonce the
// HTML pages' Content-Security-Policy names (pageCSP).
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		c.Set(nonceKey, auth.RandomString(18))
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		return next(c)
	}
}

// pageCSP is the Content-Security-Policy of an HTML page, sent with pages
// only (an image or JSON opened directly must not carry it: the browser
// would apply it to its own image viewer). The pages load only their own
// scripts (echarts is embedded), each tag carrying this response's nonce,
// and only the stylesheet (app.js draws echarts tooltips in richText mode,
// so echarts writes no style attributes). Forms may post here, and to the
// provider's logout endpoint (the redirect after POST /logout is checked
// too).
func (s *Server) pageCSP(nonce string) string {
	formAction := "'self'"
	if s.login != nil {
		formAction += " " + s.login.providerOrigin
	}
	return "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'nonce-" + nonce +
		"'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action " + formAction
}

// sameOriginWrites refuses state-changing API calls a browser sends from
// another site (Sec-Fetch-Site) and requires JSON bodies, which an HTML
// form cannot send. The CSRF token is checked before, in withUser.
func sameOriginWrites(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		r := c.Request()
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
			return echo.NewHTTPError(http.StatusForbidden, "cross-site request refused")
		}
		if r.Method != http.MethodDelete && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			return echo.NewHTTPError(http.StatusUnsupportedMediaType, "want Content-Type: application/json")
		}
		return next(c)
	}
}

// apiError is the JSON error body of the API.
type apiError struct {
	Error string `json:"error"`
	// For spec errors: the DEF/CDEF/VDEF or item line (0-based), token position and token.
	Line  *int   `json:"line,omitempty"`
	Pos   int    `json:"pos,omitempty"`
	Token string `json:"token,omitempty"`
	// For a request over the evaluation budget (422): the statement of the
	// costliest operator, the estimated cost (or the work done when the
	// budget was reached) and the limit, in row-operations.
	Stmt  string  `json:"stmt,omitempty"`
	Cost  float64 `json:"cost,omitempty"`
	Limit int64   `json:"limit,omitempty"`
}

func (s *Server) handleError(c *echo.Context, err error) {
	if r, _ := echo.UnwrapResponse(c.Response()); r != nil && r.Committed {
		return
	}
	code := http.StatusInternalServerError
	msg := "internal error"
	var he *echo.HTTPError
	var je *jsonError
	var sc echo.HTTPStatusCoder
	switch {
	case errors.As(err, &je):
		if strings.HasPrefix(c.Request().URL.Path, "/api/") {
			_ = c.JSON(je.code, je.body)
			return
		}
		code, msg = je.code, je.body.Error
	case errors.As(err, &he):
		code, msg = he.Code, he.Message
		if msg == "" {
			msg = http.StatusText(code)
		}
	case errors.As(err, &sc):
		code, msg = sc.StatusCode(), http.StatusText(sc.StatusCode())
	case errors.Is(err, meta.ErrNotFound):
		code, msg = http.StatusNotFound, err.Error()
	case errors.Is(err, meta.ErrForbidden):
		code, msg = http.StatusForbidden, err.Error()
	}
	if code >= 500 {
		s.log.Error("handler failed", "uri", c.Request().RequestURI, "error", err)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(code)
		return
	}
	if strings.HasPrefix(c.Request().URL.Path, "/api/") {
		_ = c.JSON(code, apiError{Error: msg})
		return
	}
	if isGraphitePath(c.Request().URL.Path) {
		_ = c.String(code, msg+"\n") // graphite-web answers errors as text
		return
	}
	_ = s.render(c, code, "error", pageData{Title: http.StatusText(code), Message: msg})
}

// healthz: 503 when the metadata database does not answer or an ingest
// source stopped for good; the body names every source's state.
func (s *Server) healthz(c *echo.Context) error { return s.health(c, false) }

// readyz is healthz that also fails while a source is retrying (e.g. its
// accepts fail for want of file descriptors), so a balancer sends elsewhere.
func (s *Server) readyz(c *echo.Context) error { return s.health(c, true) }

func (s *Server) health(c *echo.Context, ready bool) error {
	if err := s.meta.Ping(c.Request().Context()); err != nil {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "metadata database unavailable").Wrap(err)
	}
	var sources []SourceStatus
	if s.cfg.Sources != nil {
		sources = s.cfg.Sources()
	}
	status, code := "ok", http.StatusOK
	for _, src := range sources {
		switch {
		case src.State == "stopped":
			status, code = "failing", http.StatusServiceUnavailable
		case src.State == "retrying" && code == http.StatusOK:
			status = "degraded"
			if ready {
				code = http.StatusServiceUnavailable
			}
		}
	}
	// How code-monitor runs are contained (cgroup v1/v2, bubblewrap or none).
	var sandbox string
	if m, ok := s.cfg.Monitors.(interface{ SandboxMode() string }); ok {
		sandbox = m.SandboxMode()
	}
	return c.JSON(code, struct {
		Status         string         `json:"status"`
		Sources        []SourceStatus `json:"sources,omitempty"`
		MonitorSandbox string         `json:"monitor_sandbox,omitempty"`
	}{status, sources, sandbox})
}
