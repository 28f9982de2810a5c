package auth

import (
	"crypto/tls"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHostsAllow(t *testing.T) {
	t.Parallel()
	named, err := ParseHosts([]string{"rrdash.example.com", "Proxy.Example:8443", "10.1.2.3", "[2001:db8::5]", " spaced.example "}, false)
	if err != nil {
		t.Fatal(err)
	}
	anyIP, err := ParseHosts(nil, true)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		hosts *Hosts
		host  string
		want  bool
	}{
		// always: localhost and loopback, with or without port
		{named, "localhost", true},
		{named, "localhost:8080", true},
		{named, "LOCALHOST.:8080", true},
		{named, "127.0.0.1", true},
		{named, "127.0.0.1:8080", true},
		{named, "127.1.2.3:8080", true},
		{named, "[::1]", true},
		{named, "[::1]:8080", true},
		{named, "[::ffff:127.0.0.1]:8080", true},
		// configured names: any port unless the entry has one
		{named, "rrdash.example.com", true},
		{named, "rrdash.example.com:443", true},
		{named, "RRDash.Example.COM.", true},
		{named, "proxy.example:8443", true},
		{named, "proxy.example", false},
		{named, "proxy.example:8080", false},
		{named, "10.1.2.3:8080", true},
		{named, "[2001:db8::5]:80", true},
		{named, "spaced.example", true},
		// DNS rebinding: the attacker's names
		{named, "evil.example", false},
		{named, "evil.example:8080", false},
		{named, "rrdash.example.com.evil.example", false},
		{named, "localhost.evil.example", false},
		{named, "127.0.0.1.nip.io:8080", false},
		{named, "10.1.2.4", false},
		{named, "[2001:db8::6]", false},
		// malformed
		{named, "", false},
		{named, ":8080", false},
		{named, "localhost:http", false},
		{named, "[::1", false},
		{named, "[evil.example]:80", false},
		{named, "[::1]x", false},
		{named, "evil example", false},
		{named, "rrdash.example.com@evil.example", false},
		// listening on every interface: any IP literal, still no foreign names
		{anyIP, "192.168.1.5:8080", true},
		{anyIP, "[2001:db8::1]:8080", true},
		{anyIP, "localhost:8080", true},
		{anyIP, "evil.example:8080", false},
	}
	for _, tt := range tests {
		if got := tt.hosts.Allow(tt.host); got != tt.want {
			t.Errorf("Allow(%q) = %v, want %v (anyIP %v)", tt.host, got, tt.want, tt.hosts.anyIP)
		}
	}
}

func TestParseHostsErrors(t *testing.T) {
	t.Parallel()
	for _, e := range []string{"", "https://rrdash.example.com", "rrdash.example.com/path", "*.example.com", "host:port", "[::1", "exa mple", "host:123456"} {
		if _, err := ParseHosts([]string{e}, false); err == nil || !strings.Contains(err.Error(), "allowed host") {
			t.Errorf("ParseHosts(%q) = %v, want an error naming the entry", e, err)
		}
	}
}

func TestHostOfAndOrigin(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://rrdash.example.com/x": "rrdash.example.com",
		"http://RRDASH.example:8080":   "rrdash.example",
		"http://[::1]:8080/":           "[::1]",
		"http://10.0.0.1":              "10.0.0.1",
		"":                             "",
		"/relative":                    "",
	} {
		if got := HostOf(in); got != want {
			t.Errorf("HostOf(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"https://rrdash.example.com":      "https://rrdash.example.com",
		"https://rrdash.example.com:443/": "https://rrdash.example.com",
		"HTTP://Localhost:80":             "http://localhost",
		"http://localhost:8080/page?q=1":  "http://localhost:8080",
		"http://[::1]:8080":               "http://[::1]:8080",
		"null":                            "",
		"file:///etc/passwd":              "",
		"ftp://host":                      "",
	} {
		got, ok := Origin(in)
		if got != want || ok != (want != "") {
			t.Errorf("Origin(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	r := httptest.NewRequest("POST", "/", nil)
	r.Host = "LocalHost:8080"
	if o, ok := RequestOrigin(r); !ok || o != "http://localhost:8080" {
		t.Errorf("RequestOrigin = %q, %v", o, ok)
	}
	r.Host, r.TLS = "rrdash.example.com:443", &tls.ConnectionState{}
	if o, ok := RequestOrigin(r); !ok || o != "https://rrdash.example.com" {
		t.Errorf("RequestOrigin over TLS = %q, %v", o, ok)
	}
}

func TestScopes(t *testing.T) {
	t.Parallel()
	// allowed[have] lists what a token of scope have may do.
	allowed := map[Scope][]Scope{
		ScopePush:  {ScopePush},
		ScopeRead:  {ScopeRead},
		ScopeWrite: {ScopePush, ScopeRead, ScopeWrite},
		ScopeAdmin: {ScopePush, ScopeRead, ScopeWrite, ScopeAdmin},
		"":         nil,
		"root":     nil,
	}
	for have, ok := range allowed {
		for _, need := range Scopes {
			want := false
			for _, s := range ok {
				want = want || s == need
			}
			if got := have.Allows(need); got != want {
				t.Errorf("%q.Allows(%q) = %v, want %v", have, need, got, want)
			}
		}
	}
	for _, s := range Scopes {
		if got, err := ParseScope(string(s)); err != nil || got != s {
			t.Errorf("ParseScope(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "Admin", "root", "push "} {
		if _, err := ParseScope(s); err == nil || !strings.Contains(err.Error(), "push, read, write, admin") {
			t.Errorf("ParseScope(%q) = %v, want an error listing the scopes", s, err)
		}
	}
}

// FuzzHostsAllow: any Host header is answered without a panic, and one
// that is allowed by a names-only list is localhost, loopback or listed.
func FuzzHostsAllow(f *testing.F) {
	for _, s := range []string{"localhost:8080", "[::1]:80", "evil.example", "[", "]:", "a:b:c", "127.0.0.1.", "[::ffff:127.0.0.1]", "rrdash.example.com:443"} {
		f.Add(s)
	}
	h, err := ParseHosts([]string{"rrdash.example.com"}, false)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, host string) {
		if !h.Allow(host) {
			return
		}
		name, _, err := splitHost(host)
		if err != nil {
			t.Fatalf("Allow(%q) but splitHost fails: %v", host, err)
		}
		if name != "localhost" && name != "rrdash.example.com" && !strings.HasPrefix(name, "127.") && name != "::1" {
			t.Errorf("Allow(%q): %q is neither listed nor loopback", host, name)
		}
		Origin("http://" + host)
	})
}
