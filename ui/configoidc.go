package ui

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"
)

// readSecretFile reads a secret from a file (trimmed, not empty).
func readSecretFile(key, path string) (Secret, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	v := Secret(strings.TrimSpace(string(b)))
	if v == "" {
		return "", fmt.Errorf("%s %s: empty", key, path)
	}
	return v, nil
}

// OIDCConfig is the [oidc] section (see README "Login (OpenID Connect)").
type OIDCConfig struct {
	Issuer           string `toml:"issuer"`
	ClientID         string `toml:"client_id"`
	ClientSecret     Secret `toml:"client_secret"`
	ClientSecretFile string `toml:"client_secret_file"`
	RedirectURL      string `toml:"redirect_url"`
	// PostLogoutRedirectURL is where the provider sends the browser after
	// logout; default: /logged-out beside redirect_url.
	PostLogoutRedirectURL string   `toml:"post_logout_redirect_url"`
	Scopes                []string `toml:"scopes"`
	AllowedDomains        []string `toml:"allowed_domains"`
	AllowedGroups         []string `toml:"allowed_groups"`
	GroupsClaim           string   `toml:"groups_claim"`
	// CookieSecure forces Secure cookies; they are Secure anyway when
	// redirect_url is https.
	CookieSecure    bool   `toml:"cookie_secure"`
	SessionIdle     string `toml:"session_idle"`     // Go duration, default 8h
	SessionAbsolute string `toml:"session_absolute"` // Go duration, default 168h
	LoginRate       int64  `toml:"login_rate"`       // login requests per minute per client IP, default 30
}

// Secret is a string that never prints: logs and errors show "[redacted]".
type Secret string

func (Secret) String() string { return "[redacted]" }

func (Secret) GoString() string { return "[redacted]" }

func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

func (Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// durations parses the session durations (zero: default).
func (o OIDCConfig) durations() (idle, absolute time.Duration, err error) {
	for _, d := range []struct {
		key string
		v   string
		out *time.Duration
	}{{"oidc.session_idle", o.SessionIdle, &idle}, {"oidc.session_absolute", o.SessionAbsolute, &absolute}} {
		if d.v == "" {
			continue
		}
		if *d.out, err = time.ParseDuration(d.v); err != nil || *d.out <= 0 {
			return 0, 0, fmt.Errorf("%s %q: want a positive duration like 8h or 30m", d.key, d.v)
		}
	}
	return idle, absolute, nil
}

func (o OIDCConfig) validate() error {
	if o.Issuer == "" {
		if o.ClientID != "" || o.RedirectURL != "" || o.ClientSecret != "" || o.ClientSecretFile != "" {
			return errors.New("oidc: client settings are given but oidc.issuer is empty")
		}
		return nil
	}
	if o.ClientID == "" || o.RedirectURL == "" {
		return errors.New("oidc: with an issuer, client_id and redirect_url are required")
	}
	for _, k := range []struct{ key, v string }{{"oidc.issuer", o.Issuer}, {"oidc.redirect_url", o.RedirectURL}, {"oidc.post_logout_redirect_url", o.PostLogoutRedirectURL}} {
		if k.v == "" {
			continue
		}
		u, err := url.Parse(k.v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s %q: want an absolute http:// or https:// URL", k.key, k.v)
		}
	}
	if o.ClientSecret != "" && o.ClientSecretFile != "" {
		return errors.New("oidc: set client_secret or client_secret_file, not both")
	}
	if o.LoginRate < 0 {
		return fmt.Errorf("oidc.login_rate %d: must not be negative", o.LoginRate)
	}
	_, _, err := o.durations()
	return err
}
