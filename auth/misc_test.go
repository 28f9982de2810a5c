package auth

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	l := NewLimiter(6, 3, func() time.Time { return now })
	for i := range 3 {
		if !l.Allow("a") {
			t.Fatalf("request %d refused within the burst", i)
		}
	}
	if l.Allow("a") {
		t.Error("4th request allowed past a burst of 3")
	}
	if !l.Allow("b") {
		t.Error("another key is limited")
	}
	now = now.Add(10 * time.Second) // 6/min: one token per 10s
	if !l.Allow("a") || l.Allow("a") {
		t.Error("want exactly one token after 10s")
	}
	now = now.Add(time.Hour)
	for i := range 3 {
		if !l.Allow("a") {
			t.Fatalf("after an hour, request %d refused: the bucket should be full (and no fuller)", i)
		}
	}
	if l.Allow("a") {
		t.Error("the bucket refilled past its burst")
	}
}

func TestLimiterBoundedMemory(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	l := NewLimiter(1, 1, func() time.Time { return now })
	for i := range maxKeys + 10 {
		l.Allow(strings.Repeat("x", i%7) + string(rune(i)))
	}
	if n := len(l.buckets); n > maxKeys {
		t.Errorf("%d buckets, want at most %d", n, maxKeys)
	}
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	tok, hash := NewAPIToken()
	if !strings.HasPrefix(tok, TokenPrefix) || hash != HashID(tok) || len(tok) < 40 {
		t.Fatalf("token %q hash %q", tok, hash)
	}
	if again, _ := NewAPIToken(); again == tok {
		t.Fatal("two tokens are equal")
	}
	tests := []struct {
		header string
		want   string
		ok     bool
	}{
		{"Bearer " + tok, tok, true},
		{"bearer " + tok, tok, true},
		{"Bearer  " + tok + " ", tok, true},
		{"Basic " + tok, "", false},
		{"Bearer", "", false},
		{"Bearer sometoken", "", false},
		{"Bearer rrd_" + strings.Repeat("a", 300), "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		if tt.header != "" {
			r.Header.Set("Authorization", tt.header)
		}
		got, ok := BearerToken(r)
		if got != tt.want || ok != tt.ok {
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tt.header, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzBearerToken(f *testing.F) {
	f.Add("Bearer rrd_abc")
	f.Add("bearer   rrd_")
	f.Add("Basic x")
	f.Fuzz(func(t *testing.T, h string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["Authorization"] = []string{h}
		tok, ok := BearerToken(r)
		if ok && (!strings.HasPrefix(tok, TokenPrefix) || len(tok) > 200 || !strings.Contains(h, tok)) {
			t.Fatalf("BearerToken(%q) = %q", h, tok)
		}
		if !ok && tok != "" {
			t.Fatalf("BearerToken(%q) = %q but not ok", h, tok)
		}
	})
}

func TestAllowed(t *testing.T) {
	t.Parallel()
	p, err := NewProvider(Config{Issuer: "https://idp.example", ClientID: "c", RedirectURL: "https://r.example/auth/callback",
		AllowedDomains: []string{"example.com", "@corp.example"}, AllowedGroups: []string{"ops", "dev"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		claims map[string]any
		ok     bool
		msg    string
	}{
		{"domain and group", map[string]any{"email": "a@example.com", "groups": []any{"staff", "ops"}}, true, ""},
		{"domain with @ in config, upper case", map[string]any{"email": "a@CORP.example", "groups": "dev"}, true, ""},
		{"groups as a comma list", map[string]any{"email": "a@example.com", "groups": "x,dev"}, true, ""},
		{"other domain", map[string]any{"email": "a@evil.example", "groups": []any{"ops"}}, false, "allowed domain"},
		{"subdomain trick", map[string]any{"email": "a@example.com.evil.example", "groups": []any{"ops"}}, false, "allowed domain"},
		{"suffix trick", map[string]any{"email": "a@notexample.com", "groups": []any{"ops"}}, false, "allowed domain"},
		{"no email", map[string]any{"groups": []any{"ops"}}, false, "allowed domain"},
		{"unverified email", map[string]any{"email": "a@example.com", "email_verified": false, "groups": []any{"ops"}}, false, "not verified"},
		{"no group", map[string]any{"email": "a@example.com", "groups": []any{"staff"}}, false, "allowed groups"},
		{"no groups claim", map[string]any{"email": "a@example.com"}, false, "allowed groups"},
	}
	for _, tt := range tests {
		id := Identity{Subject: "s"}
		id.fill(tt.claims, "groups")
		err := p.allowed(id, tt.claims)
		if (err == nil) != tt.ok || (err != nil && !strings.Contains(err.Error(), tt.msg)) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

func TestNewProviderConfig(t *testing.T) {
	t.Parallel()
	for _, c := range []Config{
		{ClientID: "c", RedirectURL: "https://r/cb"},
		{Issuer: "https://i", RedirectURL: "https://r/cb"},
		{Issuer: "https://i", ClientID: "c"},
		{Issuer: "idp.example", ClientID: "c", RedirectURL: "https://r/cb"},
		{Issuer: "https://i", ClientID: "c", RedirectURL: "/auth/callback"},
	} {
		if _, err := NewProvider(c); err == nil {
			t.Errorf("NewProvider(%+v) accepted", c)
		}
	}
	p, err := NewProvider(Config{Issuer: "https://i", ClientID: "c", RedirectURL: "https://r/cb", Scopes: []string{"email"}})
	if err != nil || p.cfg.Scopes[0] != "openid" || p.cfg.GroupsClaim != "groups" {
		t.Errorf("defaults: %+v %v", p, err)
	}
}

func TestGroupsClaim(t *testing.T) {
	t.Parallel()
	claims := map[string]any{
		"groups":                      []any{"a", 7, "b"},
		"realm_access":                map[string]any{"roles": []any{"ops"}},
		"https://example.com/groups":  []any{"auth0"},
		"spaced":                      "x y,z",
		"realm_access.roles.notthere": nil,
	}
	tests := []struct {
		claim string
		want  []string
	}{
		{"groups", []string{"a", "b"}},
		{"realm_access.roles", []string{"ops"}},
		{"https://example.com/groups", []string{"auth0"}},
		{"spaced", []string{"x", "y", "z"}},
		{"missing", nil},
		{"realm_access.missing", nil},
		{"groups.deeper", nil},
	}
	for _, tt := range tests {
		var id Identity
		id.fill(claims, tt.claim)
		if strings.Join(id.Groups, "|") != strings.Join(tt.want, "|") || (tt.want == nil) != (id.Groups == nil) {
			t.Errorf("groups claim %q: %q, want %q", tt.claim, id.Groups, tt.want)
		}
	}
}
