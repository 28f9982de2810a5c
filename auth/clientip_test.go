package auth

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestClientIP(t *testing.T) {
	t.Parallel()
	trusted, err := ParseProxies([]string{"10.0.0.0/8", "192.0.2.1", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"direct client", "203.0.113.5:4000", nil, "203.0.113.5"},
		{"direct client spoofing XFF", "203.0.113.5:4000", []string{"198.51.100.9"}, "203.0.113.5"},
		{"behind a trusted proxy", "10.1.2.3:80", []string{"203.0.113.5"}, "203.0.113.5"},
		{"two trusted proxies", "10.1.2.3:80", []string{"203.0.113.5, 10.9.9.9"}, "203.0.113.5"},
		{"client prepends a fake hop", "10.1.2.3:80", []string{"198.51.100.9, 203.0.113.5"}, "203.0.113.5"},
		{"client fakes a trusted hop", "10.1.2.3:80", []string{"10.0.0.1, 203.0.113.5"}, "203.0.113.5"},
		{"XFF in several headers", "10.1.2.3:80", []string{"198.51.100.9", "203.0.113.5"}, "203.0.113.5"},
		{"hop with a port", "10.1.2.3:80", []string{"203.0.113.5:1234"}, "203.0.113.5"},
		{"IPv6 hop", "[::1]:80", []string{"2001:db8::7"}, "2001:db8::7"},
		{"bracketed IPv6 hop with port", "[::1]:80", []string{"[2001:db8::7]:443"}, "2001:db8::7"},
		{"IPv4-mapped peer", "[::ffff:192.0.2.1]:80", []string{"203.0.113.5"}, "203.0.113.5"},
		{"garbage hop stops the walk", "10.1.2.3:80", []string{"203.0.113.5, garbage, 10.9.9.9"}, "10.9.9.9"},
		{"trusted proxy without XFF", "10.1.2.3:80", nil, "10.1.2.3"},
		{"all hops trusted", "10.1.2.3:80", []string{"10.4.4.4, 10.5.5.5"}, "10.4.4.4"},
		{"empty XFF", "10.1.2.3:80", []string{""}, "10.1.2.3"},
		{"unparsable RemoteAddr", "pipe", []string{"203.0.113.5"}, "pipe"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		for _, x := range tt.xff {
			r.Header.Add("X-Forwarded-For", x)
		}
		if got := ClientIP(r, trusted); got != tt.want {
			t.Errorf("%s: ClientIP = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestParseProxiesErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"10.0.0.0/33", "proxy.example", "10.0.0", ""} {
		if _, err := ParseProxies([]string{in}); err == nil || !strings.Contains(err.Error(), "trusted proxy") {
			t.Errorf("ParseProxies(%q): %v, want an error naming it", in, err)
		}
	}
}

// FuzzClientIP: the answer is always the peer or one of the addresses in
// X-Forwarded-For, and without a trusted peer always the peer.
func FuzzClientIP(f *testing.F) {
	f.Add("10.1.2.3:80", "203.0.113.5, 10.9.9.9")
	f.Add("203.0.113.5:1", "1.2.3.4")
	f.Add("[::1]:80", "[2001:db8::1]:80, ::1")
	f.Add("10.0.0.1:1", ",,,")
	trusted, _ := ParseProxies([]string{"10.0.0.0/8", "::1"})
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		got := ClientIP(r, trusted)
		if got == "" && remote != "" {
			if _, err := netip.ParseAddrPort(remote); err == nil {
				t.Fatalf("ClientIP(%q, %q) is empty", remote, xff)
			}
		}
		peer, err := netip.ParseAddrPort(remote)
		if err != nil || isTrusted(peer.Addr().Unmap(), trusted) {
			return
		}
		if got != peer.Addr().Unmap().String() {
			t.Fatalf("untrusted peer %q with XFF %q: ClientIP = %q", remote, xff, got)
		}
	})
}
