// Package auth is rrdash's login: an OpenID Connect relying party
// (authorization code + PKCE S256, state, nonce), server-side sessions with
// idle and absolute expiry, CSRF tokens, personal API tokens, safe return
// URLs, the client IP behind trusted proxies and a login rate limit.
// Storage is behind interfaces (SessionStore) that store/meta implements.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config is the relying party's configuration.
type Config struct {
	Issuer       string // discovery URL base, exactly as the provider names itself
	ClientID     string
	ClientSecret string // empty for a public client (PKCE only)
	RedirectURL  string // absolute URL of the callback, registered at the provider
	// Scopes requested; "openid" is always added. Empty: openid profile email.
	Scopes []string
	// AllowedDomains, if set, admit only users whose (verified) email
	// ends in @one of them.
	AllowedDomains []string
	// AllowedGroups, if set, admit only users with one of these groups in
	// GroupsClaim (default "groups"), from the ID token or UserInfo.
	AllowedGroups []string
	GroupsClaim   string
	// HTTPClient talks to the provider (http.DefaultClient when nil).
	HTTPClient *http.Client
}

// Identity is who the provider says the user is. Issuer+Subject identify
// them; the rest is for display and authorization.
type Identity struct {
	Issuer            string
	Subject           string
	Name              string
	Email             string
	PreferredUsername string
	Groups            []string
}

// Pending is a started login, kept server-side until the callback.
type Pending struct {
	State    string
	Nonce    string
	Verifier string // PKCE code verifier
	ReturnTo string // local path to go back to
}

// ErrLogin marks a refused login (bad state, nonce, token, claims); its
// message is safe to show the user.
var ErrLogin = errors.New("login refused")

func loginErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrLogin, fmt.Sprintf(format, args...))
}

// Provider is the relying party for one issuer. Discovery happens on
// first use (and is retried until it succeeds) so rrdash starts while the
// provider is down.
type Provider struct {
	cfg Config

	mu         sync.Mutex
	op         *oidc.Provider
	oauth      oauth2.Config
	verifier   *oidc.IDTokenVerifier
	endSession string
}

// NewProvider checks the configuration; it does not contact the issuer.
func NewProvider(cfg Config) (*Provider, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.RedirectURL == "" {
		return nil, errors.New("oidc: issuer, client_id and redirect_url are required")
	}
	for name, v := range map[string]string{"issuer": cfg.Issuer, "redirect_url": cfg.RedirectURL} {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("oidc: %s %q: want an absolute http(s) URL", name, v)
		}
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"profile", "email"}
	}
	if !slices.Contains(cfg.Scopes, oidc.ScopeOpenID) {
		cfg.Scopes = append([]string{oidc.ScopeOpenID}, cfg.Scopes...)
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	return &Provider{cfg: cfg}, nil
}

// Issuer returns the configured issuer URL.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

func (p *Provider) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, p.cfg.HTTPClient)
}

// Discover fetches the provider's metadata unless already done.
func (p *Provider) Discover(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.op != nil {
		return nil
	}
	op, err := oidc.NewProvider(p.ctx(ctx), p.cfg.Issuer)
	if err != nil {
		return fmt.Errorf("oidc discovery at %s: %w", p.cfg.Issuer, err)
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := op.Claims(&extra); err != nil {
		return fmt.Errorf("oidc discovery at %s: %w", p.cfg.Issuer, err)
	}
	p.op, p.endSession = op, extra.EndSession
	p.oauth = oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, RedirectURL: p.cfg.RedirectURL,
		Endpoint: op.Endpoint(), Scopes: p.cfg.Scopes}
	p.verifier = op.Verifier(&oidc.Config{ClientID: p.cfg.ClientID})
	return nil
}

// RandomString returns n random bytes, base64url encoded.
func RandomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Start begins a login: fresh state, nonce and PKCE verifier, and the
// provider URL to send the browser to.
func (p *Provider) Start(ctx context.Context, returnTo string) (Pending, string, error) {
	if err := p.Discover(ctx); err != nil {
		return Pending{}, "", err
	}
	pl := Pending{State: RandomString(24), Nonce: RandomString(24), Verifier: oauth2.GenerateVerifier(), ReturnTo: SafeReturnTo(returnTo)}
	u := p.oauth.AuthCodeURL(pl.State, oauth2.S256ChallengeOption(pl.Verifier), oidc.Nonce(pl.Nonce))
	return pl, u, nil
}

// Result of a finished login.
type Result struct {
	Identity Identity
	IDToken  string // raw, kept as id_token_hint for logout
}

// Finish completes a login from the callback's query parameters: it checks
// state, redeems the code with the PKCE verifier, verifies the ID token
// (signature, issuer, audience, expiry) and its nonce, reads the claims
// (UserInfo for what the ID token lacks) and applies the allow lists.
func (p *Provider) Finish(ctx context.Context, pl Pending, q url.Values) (Result, error) {
	if err := p.Discover(ctx); err != nil {
		return Result{}, err
	}
	if e := q.Get("error"); e != "" {
		return Result{}, loginErr("the provider answered %s: %s", e, q.Get("error_description"))
	}
	if !equal(q.Get("state"), pl.State) {
		return Result{}, loginErr("state does not match this login")
	}
	code := q.Get("code")
	if code == "" {
		return Result{}, loginErr("no authorization code")
	}
	ctx = p.ctx(ctx)
	tok, err := p.oauth.Exchange(ctx, code, oauth2.VerifierOption(pl.Verifier))
	if err != nil {
		return Result{}, fmt.Errorf("%w: redeem code: %w", ErrLogin, err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Result{}, loginErr("the token response has no id_token")
	}
	idt, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		return Result{}, fmt.Errorf("%w: id token: %w", ErrLogin, err)
	}
	// go-oidc leaves the nonce to us.
	if !equal(idt.Nonce, pl.Nonce) {
		return Result{}, loginErr("id token nonce does not match this login")
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return Result{}, fmt.Errorf("%w: access token hash: %w", ErrLogin, err)
		}
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return Result{}, fmt.Errorf("%w: id token claims: %w", ErrLogin, err)
	}
	id := Identity{Issuer: idt.Issuer, Subject: idt.Subject}
	id.fill(claims, p.cfg.GroupsClaim)
	needGroups := len(p.cfg.AllowedGroups) > 0 && id.Groups == nil
	if (id.Email == "" || id.Name == "" || needGroups) && p.op.UserInfoEndpoint() != "" {
		ui, err := p.op.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return Result{}, fmt.Errorf("%w: userinfo: %w", ErrLogin, err)
		}
		if ui.Subject != id.Subject {
			return Result{}, loginErr("userinfo subject %q is not the id token's %q", ui.Subject, id.Subject)
		}
		uc := map[string]any{}
		if err := ui.Claims(&uc); err != nil {
			return Result{}, fmt.Errorf("%w: userinfo claims: %w", ErrLogin, err)
		}
		merged := map[string]any{}
		for k, v := range uc {
			merged[k] = v
		}
		for k, v := range claims {
			merged[k] = v
		}
		id.fill(merged, p.cfg.GroupsClaim)
		claims = merged
	}
	if err := p.allowed(id, claims); err != nil {
		return Result{}, err
	}
	return Result{Identity: id, IDToken: raw}, nil
}

func (id *Identity) fill(c map[string]any, groupsClaim string) {
	str := func(k string) string { s, _ := c[k].(string); return s }
	id.Name, id.Email, id.PreferredUsername = str("name"), str("email"), str("preferred_username")
	switch g := claimAt(c, groupsClaim).(type) {
	case []any:
		id.Groups = []string{}
		for _, v := range g {
			if s, ok := v.(string); ok {
				id.Groups = append(id.Groups, s)
			}
		}
	case string:
		id.Groups = strings.Fields(strings.ReplaceAll(g, ",", " "))
	}
}

// claimAt returns the claim named name, or, when there is none, the one
// at a dotted path into nested objects (Keycloak's "realm_access.roles").
// Names with dots (Auth0's "https://example.com/groups") match first.
func claimAt(c map[string]any, name string) any {
	if v, ok := c[name]; ok {
		return v
	}
	var cur any = c
	for _, part := range strings.Split(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

func (p *Provider) allowed(id Identity, claims map[string]any) error {
	if len(p.cfg.AllowedDomains) > 0 {
		if v, ok := claims["email_verified"].(bool); ok && !v {
			return loginErr("email %q is not verified", id.Email)
		}
		at := strings.LastIndexByte(id.Email, '@')
		if at < 0 || !slices.ContainsFunc(p.cfg.AllowedDomains, func(d string) bool {
			return strings.EqualFold(id.Email[at+1:], strings.TrimPrefix(d, "@"))
		}) {
			return loginErr("email %q is not in an allowed domain", id.Email)
		}
	}
	if len(p.cfg.AllowedGroups) > 0 && !slices.ContainsFunc(id.Groups, func(g string) bool { return slices.Contains(p.cfg.AllowedGroups, g) }) {
		return loginErr("user %q is in none of the allowed groups", id.Subject)
	}
	return nil
}

// LogoutURL is the provider's end_session_endpoint with an id_token_hint
// and where to come back, or "" when the provider advertises none.
func (p *Provider) LogoutURL(ctx context.Context, idToken, postLogout string) string {
	if p.Discover(ctx) != nil || p.endSession == "" {
		return ""
	}
	u, err := url.Parse(p.endSession)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("client_id", p.cfg.ClientID)
	if idToken != "" {
		q.Set("id_token_hint", idToken)
	}
	if postLogout != "" {
		q.Set("post_logout_redirect_uri", postLogout)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func equal(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
