package ui

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/labstack/echo/v5"

	"rrdash/auth"
	"rrdash/store/meta"
)

// This file holds the request checks that do not depend on the login
// mode: the Host allow-list (DNS rebinding), the single-user mode's rule
// for writes (CSRF), and API token scopes.

// tokenScopeKey holds the auth.Scope of a request made with an API token.
const tokenScopeKey = "rrdash.token-scope"

// hostPolicy builds the Host allow-list: allowed_hosts, the hosts of
// base_url and of the OIDC redirect URL, and the listen address. A
// listen address on every interface (0.0.0.0, ::, or no host) allows any
// IP literal; names still need base_url or allowed_hosts.
func hostPolicy(cfg Config) (*auth.Hosts, error) {
	entries := append([]string(nil), cfg.AllowedHosts...)
	for _, u := range []string{cfg.BaseURL, cfg.OIDC.RedirectURL} {
		if h := auth.HostOf(u); h != "" {
			entries = append(entries, h)
		}
	}
	anyIP := false
	if cfg.ListenAddr != "" {
		host, _, err := net.SplitHostPort(cfg.ListenAddr)
		if err != nil {
			return nil, fmt.Errorf("listen address %q: %w", cfg.ListenAddr, err)
		}
		if a, err := netip.ParseAddr(host); host == "" || err == nil && a.IsUnspecified() {
			anyIP = true
		} else if err == nil && a.Is6() {
			entries = append(entries, "["+host+"]")
		} else {
			entries = append(entries, host)
		}
	}
	h, err := auth.ParseHosts(entries, anyIP)
	if err != nil {
		return nil, fmt.Errorf("allowed_hosts: %w", err)
	}
	return h, nil
}

// CheckHost answers 421 Misdirected Request to a request whose Host
// header is not one this server is configured for. Only GET and HEAD of
// /-/healthz, /-/readyz and /-/ready are exempt: load balancers probe with a Host
// of their own, and the answers hold states, no data and no secrets. Handler and GuardPush check
// already; wrap whatever else shares the listener (/-/metrics).
func (s *Server) CheckHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.hosts.Load().Allow(r.Host) || (r.URL.Path == "/-/healthz" || r.URL.Path == "/-/readyz" || r.URL.Path == "/-/ready") && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			next.ServeHTTP(w, r)
			return
		}
		s.log.Warn("request for a host not served here refused", "host", r.Host, "method", r.Method, "uri", r.URL.RequestURI(), "remote", r.RemoteAddr)
		h := w.Header()
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusMisdirectedRequest)
		fmt.Fprintf(w, "421 Misdirected Request: this rrdash does not serve the host %q.\n"+
			"If that is its name, set base_url or add the host to allowed_hosts (TOML; env RRDASH_ALLOWED_HOSTS; flag --allowed-host).\n", r.Host)
	})
}

// safeMethod: methods that change nothing, which need no CSRF check.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// localCSRFKey names the single-user mode's CSRF secret in metadata.db.
const localCSRFKey = "local-csrf"

func encodeCSRF(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// checkLocalWrite is the single-user mode's rule for a write without an
// API token. Every visitor acts as the local user, so the browser's
// ambient access is the credential a cross-site page would borrow: a
// write must show it comes from our own pages, by the CSRF token they
// carry (X-CSRF-Token) or by a same-origin Origin (or, without Origin,
// Referer). A request without any of them, a form post from another site
// with an old browser or a script, is refused; scripts use a token.
func (s *Server) checkLocalWrite(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return echo.NewHTTPError(http.StatusForbidden, "cross-site request refused (Sec-Fetch-Site: "+site+")")
	}
	if tok := r.Header.Get(csrfHeader); tok != "" {
		if subtle.ConstantTimeCompare([]byte(tok), []byte(s.localCSRF)) != 1 {
			return echo.NewHTTPError(http.StatusForbidden, "wrong CSRF token (reload the page)")
		}
		return nil
	}
	from, header := r.Header.Get("Origin"), "Origin"
	if from == "" {
		from, header = r.Header.Get("Referer"), "Referer"
	}
	if from != "" {
		if s.sameOrigin(r, from) {
			return nil
		}
		return echo.NewHTTPError(http.StatusForbidden, fmt.Sprintf("cross-origin request refused: %s %q is not this server", header, from))
	}
	return echo.NewHTTPError(http.StatusForbidden, "single-user mode: a write needs the X-CSRF-Token of an rrdash page, "+
		"a same-origin Origin header, or an API token (Authorization: Bearer rrd_…, made at /settings/tokens)")
}

// sameOrigin: from (an Origin or Referer) is the origin the request was
// sent to, or base_url's (the public origin behind a reverse proxy).
func (s *Server) sameOrigin(r *http.Request, from string) bool {
	o, ok := auth.Origin(from)
	if !ok {
		return false
	}
	if ro, ok := auth.RequestOrigin(r); ok && o == ro {
		return true
	}
	bo, ok := auth.Origin(s.cfg.BaseURL)
	return ok && o == bo
}

// tokenAuth authenticates a request by its API token, setting the user and
// the token's scope. Tokens are for /api/ only: pages are for people.
func (s *Server) tokenAuth(c *echo.Context) error {
	r := c.Request()
	if !isAPIPath(r.URL.Path) {
		return echo.NewHTTPError(http.StatusUnauthorized, "API tokens are for /api/ and the Graphite API only")
	}
	u, scope, err := s.tokenUser(r)
	if err != nil {
		return err
	}
	c.Set(userKey, u)
	c.Set(tokenScopeKey, scope)
	return nil
}

// bearer reports whether a request says it carries a bearer token. In the
// single-user mode other Authorization schemes (Basic from a reverse
// proxy in front) are the browser's ambient credentials, not ours.
func bearer(r *http.Request) bool {
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return strings.EqualFold(scheme, "Bearer")
}

// tokenUser resolves "Authorization: Bearer rrd_…" to its user and scope.
func (s *Server) tokenUser(r *http.Request) (meta.User, auth.Scope, error) {
	tok, ok := auth.BearerToken(r)
	if !ok {
		return meta.User{}, "", echo.NewHTTPError(http.StatusUnauthorized, "want Authorization: Bearer <API token>")
	}
	u, scope, err := s.meta.UserByAPIToken(r.Context(), auth.HashID(tok))
	if errors.Is(err, meta.ErrNotFound) {
		return meta.User{}, "", echo.NewHTTPError(http.StatusUnauthorized, "unknown or revoked API token")
	}
	return u, scope, err
}

// routeScopes is the scope an API token needs for each API route
// ("METHOD pattern"). Reading is read, changing graphs is write, and code
// monitors, which run code on the server, need admin even to change or
// run one. A route missing here is closed to tokens
// (TestEveryAPIRouteHasAScope keeps the table complete).
var routeScopes = map[string]auth.Scope{
	"GET /api/v1/series":                         auth.ScopeRead,
	"GET /api/v1/series/info":                    auth.ScopeRead,
	"GET /api/v1/xport":                          auth.ScopeRead,
	"POST /api/v1/xport":                         auth.ScopeRead,
	"POST /api/v1/chart":                         auth.ScopeRead,
	"POST /api/v1/validate":                      auth.ScopeRead,
	"POST /api/v1/parse":                         auth.ScopeRead,
	"GET /api/v1/graphs":                         auth.ScopeRead,
	"GET /api/v1/graphs/:id":                     auth.ScopeRead,
	"GET /api/v1/graphs/:id/chart":               auth.ScopeRead,
	"GET /api/v1/tracelog/charts/:chart":         auth.ScopeRead,
	"GET /api/v1/annotations":                    auth.ScopeRead,
	"POST /api/v1/annotations":                   auth.ScopeWrite,
	"DELETE /api/v1/annotations/:id":             auth.ScopeWrite,
	"GET /api/annotations":                       auth.ScopeRead,
	"POST /api/annotations":                      auth.ScopeWrite,
	"DELETE /api/annotations/:id":                auth.ScopeWrite,
	"GET /api/v1/dashboards":                     auth.ScopeRead,
	"GET /api/v1/dashboards/:id":                 auth.ScopeRead,
	"POST /api/v1/dashboards":                    auth.ScopeWrite,
	"PUT /api/v1/dashboards/:id":                 auth.ScopeWrite,
	"DELETE /api/v1/dashboards/:id":              auth.ScopeWrite,
	"POST /api/v1/dashboards/:id/copy":           auth.ScopeWrite,
	"GET /api/v1/dashboards/:id/panels/:n/chart": auth.ScopeRead,
	"POST /api/v1/graphs":                        auth.ScopeWrite,
	"PUT /api/v1/graphs/:id":                     auth.ScopeWrite,
	"DELETE /api/v1/graphs/:id":                  auth.ScopeWrite,
	"POST /api/v1/graphs/:id/copy":               auth.ScopeWrite,
	"GET /api/v1/monitors":                       auth.ScopeRead,
	"GET /api/v1/monitors/:name":                 auth.ScopeRead,
	"GET /api/v1/monitors/:name/runs":            auth.ScopeRead,
	"GET /api/v1/monitors/:name/alerts":          auth.ScopeRead,
	"GET /api/v1/monitors/:name/charts/:chart":   auth.ScopeRead,
	"POST /api/v1/monitors":                      auth.ScopeAdmin,
	"PUT /api/v1/monitors/:name":                 auth.ScopeAdmin,
	"DELETE /api/v1/monitors/:name":              auth.ScopeAdmin,
	"POST /api/v1/monitors/:name/run":            auth.ScopeAdmin,
	"DELETE /api/v1/series":                      auth.ScopeAdmin,
	"POST /api/v1/series/rename":                 auth.ScopeAdmin,
	// The Graphite API (graphiteroutes.go): reads, POST included.
	"GET /render":                    auth.ScopeRead,
	"POST /render":                   auth.ScopeRead,
	"GET /metrics/find":              auth.ScopeRead,
	"POST /metrics/find":             auth.ScopeRead,
	"GET /metrics/expand":            auth.ScopeRead,
	"POST /metrics/expand":           auth.ScopeRead,
	"GET /metrics/index.json":        auth.ScopeRead,
	"GET /version":                   auth.ScopeRead,
	"GET /functions":                 auth.ScopeRead,
	"GET /functions/:name":           auth.ScopeRead,
	"GET /tags":                      auth.ScopeRead,
	"GET /tags/:tag":                 auth.ScopeRead,
	"GET /tags/findSeries":           auth.ScopeRead,
	"POST /tags/findSeries":          auth.ScopeRead,
	"GET /tags/autoComplete/tags":    auth.ScopeRead,
	"POST /tags/autoComplete/tags":   auth.ScopeRead,
	"GET /tags/autoComplete/values":  auth.ScopeRead,
	"POST /tags/autoComplete/values": auth.ScopeRead,
	"POST /tags/delSeries":           auth.ScopeAdmin,
	"POST /tags/tagSeries":           auth.ScopeRead, // changes nothing: tags are names
	"POST /tags/tagMultiSeries":      auth.ScopeRead,
	// Tokens never manage tokens (tokenAdmin), whatever their scope.
	"GET /api/v1/tokens":        auth.ScopeAdmin,
	"POST /api/v1/tokens":       auth.ScopeAdmin,
	"DELETE /api/v1/tokens/:id": auth.ScopeAdmin,
}

// tokenScope refuses an API call made with a token whose scope does not
// cover the route; session and single-user requests pass.
func tokenScope(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		have, ok := c.Get(tokenScopeKey).(auth.Scope)
		if !ok {
			return next(c)
		}
		route := c.Request().Method + " " + c.Path()
		need, ok := routeScopes[route]
		switch {
		case !ok && c.RouteInfo().Method == echo.RouteNotFound: // the handler answers 404
			return next(c)
		case !ok:
			return echo.NewHTTPError(http.StatusForbidden, fmt.Sprintf("%s is not open to API tokens", route))
		case !have.Allows(need):
			return echo.NewHTTPError(http.StatusForbidden, fmt.Sprintf("this API token has scope %s; %s needs scope %s", have, route, need))
		}
		return next(c)
	}
}

// GuardPush guards push ingest, which lives outside the web service (its
// bodies are larger): the Host allow-list, then an API token of scope push
// (or write, admin); without a token, login mode answers 401 and the
// single-user mode applies its write rule (checkLocalWrite), so another
// site cannot post a form into it.
func (s *Server) GuardPush(h http.Handler) http.Handler {
	return s.CheckHost(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		switch {
		case bearer(r) || s.login != nil && r.Header.Get("Authorization") != "":
			var scope auth.Scope
			if _, scope, err = s.tokenUser(r); err == nil && !scope.Allows(auth.ScopePush) {
				err = echo.NewHTTPError(http.StatusForbidden, fmt.Sprintf("this API token has scope %s; push ingest needs scope push, write or admin", scope))
			}
		case s.login != nil:
			err = echo.NewHTTPError(http.StatusUnauthorized, "want Authorization: Bearer <API token>")
		case !safeMethod(r.Method):
			err = s.checkLocalWrite(r)
		}
		if err == nil {
			h.ServeHTTP(w, r)
			return
		}
		msg, code := "internal error", http.StatusInternalServerError
		var he *echo.HTTPError
		if errors.As(err, &he) {
			msg, code = he.Message, he.Code
		} else {
			s.log.Error("api token lookup", "error", err)
		}
		if code == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="rrdash"`)
		}
		body, _ := json.Marshal(apiError{Error: msg})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		w.Write(append(body, '\n'))
	}))
}
