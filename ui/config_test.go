package ui

import (
	"bytes"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

func TestServeConfigOIDC(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, s string) string { return writeTestFile(t, dir, name, s) }
	secretFile := write("secret", "s3cr3t-from-file\n")
	good := write("oidc.toml", `trusted_proxies = ["10.0.0.0/8", "127.0.0.1"]
[oidc]
issuer = "https://keycloak.example/realms/ops"
client_id = "rrdash"
client_secret_file = "`+secretFile+`"
redirect_url = "https://rrdash.example/auth/callback"
scopes = ["openid", "profile", "email", "groups"]
allowed_domains = ["example.com"]
allowed_groups = ["ops"]
groups_claim = "groups"
cookie_secure = true
session_idle = "2h"
session_absolute = "24h"
login_rate = 10
`)
	tests := []configCase{
		{good, nil, func(c ServeConfig) bool {
			o := c.OIDC
			return o.ClientSecret == "s3cr3t-from-file" && o.ClientID == "rrdash" && o.CookieSecure && o.LoginRate == 10 &&
				len(o.Scopes) == 4 && o.AllowedGroups[0] == "ops" && len(c.TrustedProxies) == 2
		}, ""},
		{"", map[string]string{"RRDASH_OIDC_ISSUER": "https://dex.example", "RRDASH_OIDC_CLIENT_ID": "rrdash",
			"RRDASH_OIDC_CLIENT_SECRET": "from-env", "RRDASH_OIDC_REDIRECT_URL": "http://127.0.0.1:8080/auth/callback",
			"RRDASH_OIDC_COOKIE_SECURE": "true", "RRDASH_OIDC_ALLOWED_DOMAINS": "a.example, b.example"}, func(c ServeConfig) bool {
			return c.OIDC.ClientSecret == "from-env" && c.OIDC.CookieSecure && len(c.OIDC.AllowedDomains) == 2
		}, ""},
		{good, map[string]string{"RRDASH_OIDC_CLIENT_SECRET": "env-wins"}, nil, "not both"},
		{"", map[string]string{"RRDASH_OIDC_CLIENT_ID": "rrdash"}, nil, "oidc.issuer is empty"},
		{"", map[string]string{"RRDASH_OIDC_ISSUER": "https://i.example"}, nil, "client_id and redirect_url are required"},
		{"", map[string]string{"RRDASH_OIDC_ISSUER": "i.example", "RRDASH_OIDC_CLIENT_ID": "c", "RRDASH_OIDC_REDIRECT_URL": "https://r/cb"}, nil, "oidc.issuer"},
		{"", map[string]string{"RRDASH_OIDC_ISSUER": "https://i", "RRDASH_OIDC_CLIENT_ID": "c", "RRDASH_OIDC_REDIRECT_URL": "https://r/cb", "RRDASH_OIDC_SESSION_IDLE": "forever"}, nil, "oidc.session_idle"},
		{"", map[string]string{"RRDASH_OIDC_COOKIE_SECURE": "maybe"}, nil, "RRDASH_OIDC_COOKIE_SECURE"},
		{"", map[string]string{"RRDASH_OIDC_CLIENT_SECRET_FILE": filepath.Join(dir, "nope"), "RRDASH_OIDC_ISSUER": "https://i"}, nil, "oidc.client_secret_file"},
		{"", map[string]string{"RRDASH_TRUSTED_PROXIES": "10.0.0.0/8, proxy.example"}, nil, "trusted_proxies"},
	}
	checkServeConfigs(t, tests)
}

// The client secret never shows in formatted config or logs.
func TestSecretRedacted(t *testing.T) {
	t.Parallel()
	c := ServeConfig{OIDC: OIDCConfig{ClientSecret: "hunter2"}}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "oidc", c.OIDC, "secret", c.OIDC.ClientSecret)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "cfg", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%v", c.OIDC.ClientSecret), buf.String()} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("secret shown: %s", s)
		}
	}
}

func TestServeConfigAllowedHosts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := writeTestFile(t, dir, "hosts.toml", "allowed_hosts = [\"rrdash.lan\", \"proxy.lan:8443\"]\n")
	bad := writeTestFile(t, dir, "bad.toml", "allowed_hosts = [\"https://rrdash.lan\"]\n")
	checkServeConfigs(t, []configCase{
		{good, nil, func(c ServeConfig) bool { return len(c.AllowedHosts) == 2 && c.AllowedHosts[1] == "proxy.lan:8443" }, ""},
		{good, map[string]string{"RRDASH_ALLOWED_HOSTS": "a.lan, b.lan:80"}, func(c ServeConfig) bool {
			return len(c.AllowedHosts) == 2 && c.AllowedHosts[0] == "a.lan" && c.AllowedHosts[1] == "b.lan:80"
		}, ""},
		{bad, nil, nil, `allowed_hosts: allowed host "https://rrdash.lan"`},
		{"", map[string]string{"RRDASH_ALLOWED_HOSTS": "*.lan"}, nil, "allowed_hosts"},
		{"", map[string]string{"RRDASH_BASE_URL": "https://"}, nil, "base_url"},
	})
}

func TestServeConfigRetentionAndCarbonListeners(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, s string) string { return writeTestFile(t, dir, name, s) }
	good := write("ret.toml", `pickle_addr = "127.0.0.1:2004"
graphite_udp_addr = "127.0.0.1:2003"
[[retention]]
name = "carbon"
regex = ['^carbon\.']
retentions = "60:90d"

[[retention]]
pattern = "servers.*.cpu"
retentions = "10s:6h,1m:7d"
cf = ["AVERAGE", "MAX"]
xff = 0.3
model = "graphite"
late = "overwrite"
`)
	tests := []configCase{
		{good, nil, func(c ServeConfig) bool {
			r := c.Retention
			return c.PickleAddr == "127.0.0.1:2004" && c.GraphiteUDPAddr == "127.0.0.1:2003" && len(r) == 2 && r[0].Name == "carbon" &&
				r[1].Late == "overwrite" && *r[1].XFF == 0.3 && len(r[1].CF) == 2
		}, ""},
		{write("bad1.toml", "[[retention]]\npattern = \"a.*\"\n"), nil, nil, "retention rule 1 (retention[1]): retentions is required"},
		{write("bad2.toml", "[[retention]]\nretentions = \"1m:1d\"\nlate = \"overwrite\"\n"), nil, nil, "needs model"},
		{write("bad3.toml", "[[retention]]\nretentions = \"1m:1d\"\nkeep = 1\n"), nil, nil, "unknown key"},
		{"", map[string]string{"RRDASH_PICKLE_ADDR": "nope"}, nil, "pickle_addr"},
		{"", map[string]string{"RRDASH_GRAPHITE_UDP_ADDR": "nope"}, nil, "graphite_udp_addr"},
	}
	checkServeConfigs(t, tests)
}
