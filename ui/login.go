package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/labstack/echo/v5"

	"rrdash/auth"
	"rrdash/store/meta"
)

// login is the OpenID Connect mode: the relying party, sessions, the
// login rate limit and the client-IP rule.
type login struct {
	prov           *auth.Provider
	sessions       *auth.Sessions
	limit          *auth.Limiter
	proxies        []netip.Prefix
	callbackPath   string
	postLogout     string
	providerOrigin string // scheme://host of the issuer, for CSP form-action
}

const (
	sessionKey = "rrdash.session"
	nonceKey   = "rrdash.nonce"
	csrfHeader = "X-CSRF-Token"
	csrfField  = "csrf"
	loggedOut  = "/logged-out"
)

// newLogin builds the login mode from the config; nil without an issuer.
func newLogin(cfg Config, md *meta.DB) (*login, error) {
	o := cfg.OIDC
	if o.Issuer == "" {
		return nil, nil
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	idle, absolute, err := o.durations()
	if err != nil {
		return nil, err
	}
	proxies, err := auth.ParseProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("trusted_proxies: %w", err)
	}
	prov, err := auth.NewProvider(auth.Config{Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: string(o.ClientSecret),
		RedirectURL: o.RedirectURL, Scopes: o.Scopes, AllowedDomains: o.AllowedDomains, AllowedGroups: o.AllowedGroups,
		GroupsClaim: o.GroupsClaim, HTTPClient: cfg.HTTPClient})
	if err != nil {
		return nil, err
	}
	ru, _ := url.Parse(o.RedirectURL) // validated above
	iu, _ := url.Parse(o.Issuer)
	l := &login{prov: prov, proxies: proxies, callbackPath: ru.Path, postLogout: o.PostLogoutRedirectURL,
		providerOrigin: iu.Scheme + "://" + iu.Host}
	if l.callbackPath == "" {
		l.callbackPath = "/"
	}
	if l.postLogout == "" {
		l.postLogout = (&url.URL{Scheme: ru.Scheme, Host: ru.Host, Path: loggedOut}).String()
	}
	for _, p := range []string{"/", "/login", "/logout", loggedOut, "/-/healthz", "/-/readyz", "/-/ready"} {
		if l.callbackPath == p {
			return nil, fmt.Errorf("oidc.redirect_url %q: its path %s is taken; use e.g. /auth/callback", o.RedirectURL, p)
		}
	}
	l.sessions = auth.NewSessions(md, auth.SessionConfig{Idle: idle, Absolute: absolute,
		Secure: o.CookieSecure || ru.Scheme == "https", Now: cfg.Now})
	rate := int(o.LoginRate)
	if rate == 0 {
		rate = 30
	}
	l.limit = auth.NewLimiter(rate, rate, cfg.Now)
	return l, nil
}

// Discover fetches the OIDC provider's metadata now (it is otherwise
// fetched at the first login); a no-op in the local mode.
func (s *Server) Discover(ctx context.Context) error {
	if s.login == nil {
		return nil
	}
	return s.login.prov.Discover(ctx)
}

func (s *Server) loginRoutes(e *echo.Echo) {
	if s.login == nil {
		return
	}
	e.GET("/login", s.loginStart)
	e.GET(s.login.callbackPath, s.loginCallback)
	e.POST("/logout", s.logout)
	e.GET(loggedOut, s.pageLoggedOut)
}

// public routes need no session. The decision is on the matched route
// (routing runs before middleware), not on the raw URL, so no spelling of
// a path ("/assets/../x", %2F…) can reach another handler as public.
func (s *Server) public(route string) bool {
	switch route {
	case "/-/healthz", "/-/readyz", "/-/ready", "/login", loggedOut, s.login.callbackPath, "/assets/*":
		return true
	}
	return false
}

// authenticate is withUser in login mode: an API token (API only) or a
// session; state-changing requests by session also need the CSRF token
// and must not come from another site.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		r := c.Request()
		ctx := r.Context()
		if s.public(c.Path()) || s.signedPNGRequest(r, c.Path()) {
			return next(c)
		}
		// Signed-in answers (pages carry the CSRF token) stay out of
		// shared caches; a handler may still say otherwise.
		c.Response().Header().Set("Cache-Control", "private, no-store")
		isAPI := isAPIPath(r.URL.Path)
		if r.Header.Get("Authorization") != "" {
			if err := s.tokenAuth(c); err != nil {
				return err
			}
			return next(c)
		}
		sess, err := s.login.sessions.Load(ctx, r)
		var u meta.User
		if err == nil {
			u, err = s.meta.UserByID(ctx, sess.UserID)
			if errors.Is(err, meta.ErrNotFound) {
				err = auth.ErrNoSession
			}
		}
		if errors.Is(err, auth.ErrNoSession) {
			if !isAPI && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
				return c.Redirect(http.StatusSeeOther, "/login?return="+url.QueryEscape(r.URL.RequestURI()))
			}
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="rrdash"`)
			return echo.NewHTTPError(http.StatusUnauthorized, "not signed in")
		}
		if err != nil {
			return fmt.Errorf("session: %w", err)
		}
		c.Set(userKey, u)
		c.Set(sessionKey, sess)
		if !readOnlyRequest(r) {
			if err := checkCSRF(r, sess); err != nil {
				return err
			}
		}
		return next(c)
	}
}

// checkCSRF: a cookie-authenticated write must come from our own pages
// (Sec-Fetch-Site, sent by every current browser) and carry the session's
// token in the X-CSRF-Token header or the csrf form field.
func checkCSRF(r *http.Request, sess auth.Session) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return echo.NewHTTPError(http.StatusForbidden, "cross-site request refused")
	}
	tok := r.Header.Get(csrfHeader)
	if tok == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		tok = r.PostFormValue(csrfField)
	}
	if !sess.CheckCSRF(tok) {
		return echo.NewHTTPError(http.StatusForbidden, "missing or wrong CSRF token (reload the page)")
	}
	return nil
}

func (s *Server) rateLimited(c *echo.Context) error {
	ip := auth.ClientIP(c.Request(), s.login.proxies)
	if s.login.limit.Allow(ip) {
		return nil
	}
	s.log.Warn("login rate limit", "client", ip)
	c.Response().Header().Set("Retry-After", "60")
	return echo.NewHTTPError(http.StatusTooManyRequests, "too many login attempts from your address; wait a minute")
}

// loginStart sends the browser to the provider.
func (s *Server) loginStart(c *echo.Context) error {
	if err := s.rateLimited(c); err != nil {
		return err
	}
	ctx := c.Request().Context()
	pl, to, err := s.login.prov.Start(ctx, c.QueryParam("return"))
	if err != nil {
		return echo.NewHTTPError(http.StatusBadGateway, "the login provider is unavailable").Wrap(err)
	}
	if err := s.login.sessions.StartLogin(ctx, c.Response(), pl); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// loginCallback finishes the login and starts a fresh session.
func (s *Server) loginCallback(c *echo.Context) error {
	if err := s.rateLimited(c); err != nil {
		return err
	}
	r := c.Request()
	ctx := r.Context()
	pl, err := s.login.sessions.TakeLogin(ctx, c.Response(), r)
	if errors.Is(err, auth.ErrNoSession) {
		return echo.NewHTTPError(http.StatusBadRequest, "no login in progress in this browser, or it expired: start again at /login").Wrap(err)
	}
	if err != nil {
		return err
	}
	res, err := s.login.prov.Finish(ctx, pl, r.URL.Query())
	if errors.Is(err, auth.ErrLogin) {
		s.log.Warn("login refused", "client", auth.ClientIP(r, s.login.proxies), "error", err)
		return echo.NewHTTPError(http.StatusUnauthorized, err.Error()).Wrap(err)
	}
	if err != nil {
		return echo.NewHTTPError(http.StatusBadGateway, "the login provider is unavailable").Wrap(err)
	}
	id := res.Identity
	u, err := s.meta.EnsureUser(ctx, meta.User{Handle: handleFor(id), Issuer: id.Issuer, Subject: id.Subject, Name: id.Name, Email: id.Email})
	if err != nil {
		return err
	}
	if _, err := s.login.sessions.Begin(ctx, c.Response(), r, u.ID, res.IDToken); err != nil {
		return err
	}
	s.log.Info("login", "user", u.Handle, "issuer", id.Issuer, "client", auth.ClientIP(r, s.login.proxies))
	return c.Redirect(http.StatusSeeOther, auth.SafeReturnTo(pl.ReturnTo))
}

// handleFor picks a URL name for a new user: preferred_username, the
// email's local part, or "user"; EnsureUser numbers duplicates.
func handleFor(id auth.Identity) string {
	src := id.PreferredUsername
	if src == "" {
		src, _, _ = strings.Cut(id.Email, "@")
	}
	var b strings.Builder
	for _, r := range strings.ToLower(src) {
		if b.Len() >= 40 {
			break
		}
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '_' || r == '-') {
			b.WriteRune(r)
		}
	}
	if h := strings.Trim(b.String(), ".-_"); h != "" {
		return h
	}
	return "user"
}

// logout ends the session, then ends the provider's session too when it
// advertises an end_session_endpoint.
func (s *Server) logout(c *echo.Context) error {
	r := c.Request()
	sess, err := s.login.sessions.End(r.Context(), c.Response(), r)
	if err != nil && !errors.Is(err, auth.ErrNoSession) {
		return err
	}
	if u := s.login.prov.LogoutURL(r.Context(), sess.IDToken, s.login.postLogout); u != "" && err == nil {
		return c.Redirect(http.StatusSeeOther, u)
	}
	return c.Redirect(http.StatusSeeOther, loggedOut)
}

func (s *Server) pageLoggedOut(c *echo.Context) error {
	return s.render(c, http.StatusOK, "error", pageData{Page: "logged-out", Title: "Signed out", Message: "You are signed out."})
}

// Token management is for people in a browser session: a token cannot
// mint or list tokens, so a leaked one cannot entrench itself.
func tokenAdmin(c *echo.Context) error {
	if _, via := c.Get(tokenScopeKey).(auth.Scope); via {
		return echo.NewHTTPError(http.StatusForbidden, "API tokens are managed from a browser session, not with a token")
	}
	return nil
}

func (s *Server) apiListTokens(c *echo.Context) error {
	if err := tokenAdmin(c); err != nil {
		return err
	}
	ts, err := s.meta.APITokens(c.Request().Context(), currentUser(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"tokens": ts})
}

func (s *Server) apiCreateTokens(c *echo.Context) error {
	if err := tokenAdmin(c); err != nil {
		return err
	}
	var b struct {
		Name  string `json:"name"`
		Scope string `json:"scope"` // default push, the narrowest
	}
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	b.Name = strings.TrimSpace(b.Name)
	if b.Name == "" || len(b.Name) > 200 {
		return badRequest("name: give the token a name of at most 200 bytes (what uses it?)")
	}
	if b.Scope == "" {
		b.Scope = string(auth.ScopePush)
	}
	scope, err := auth.ParseScope(b.Scope)
	if err != nil {
		return badRequest("scope: " + err.Error())
	}
	tok, t, err := NewAPIToken(c.Request().Context(), s.meta, currentUser(c), b.Name, scope)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"token": t, "secret": tok})
}

// NewAPIToken creates a personal API token of the scope for user and
// returns it (the only time it exists in clear) with its record.
func NewAPIToken(ctx context.Context, md *meta.DB, user meta.User, name string, scope auth.Scope) (string, meta.APIToken, error) {
	tok, hash := auth.NewAPIToken()
	t, err := md.CreateAPIToken(ctx, user, name, hash, scope)
	if err != nil {
		return "", meta.APIToken{}, err
	}
	return tok, t, nil
}

func (s *Server) apiRevokeToken(c *echo.Context) error {
	if err := tokenAdmin(c); err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return badRequest(fmt.Sprintf("token id %q: not a number", c.Param("id")))
	}
	if err := s.meta.RevokeAPIToken(c.Request().Context(), currentUser(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) pageTokens(c *echo.Context) error {
	return s.render(c, http.StatusOK, "tokens", pageData{Page: "tokens", Title: "API tokens"})
}

// requestNonce and requestCSRF feed the templates.
func requestNonce(c *echo.Context) string { n, _ := c.Get(nonceKey).(string); return n }

// requestCSRF is the session's CSRF token in login mode, the server's in
// the single-user mode.
func (s *Server) requestCSRF(c *echo.Context) string {
	if s.login == nil {
		return s.localCSRF
	}
	sess, _ := c.Get(sessionKey).(auth.Session)
	return sess.CSRF
}
