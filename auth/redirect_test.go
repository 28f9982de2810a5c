package auth

import (
	"net/url"
	"strings"
	"testing"
)

func TestSafeReturnTo(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"/", "/"},
		{"/graphs?q=cpu", "/graphs?q=cpu"},
		{"/g/abc?from=-1h&to=now", "/g/abc?from=-1h&to=now"},
		{"/u/alice#top", "/u/alice#top"},
		{"/%2F%2Fevil.example", "/%2F%2Fevil.example"}, // stays a path here
		{"", "/"},
		{"//evil.example", "/"},
		{"//evil.example/path", "/"},
		{`/\evil.example`, "/"},
		{`/\/evil.example`, "/"},
		{`/path\..\x`, "/"},
		{"/\t/evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/\r\nSet-Cookie: x=y", "/"},
		{"https://evil.example/", "/"},
		{"http:/evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"data:text/html,hi", "/"},
		{"evil.example", "/"},
		{"graphs", "/"},
		{"/" + strings.Repeat("a", 3000), "/"},
		{"/\x7f", "/"},
	}
	for _, tt := range tests {
		if got := SafeReturnTo(tt.in); got != tt.want {
			t.Errorf("SafeReturnTo(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzSafeReturnTo: whatever comes in, what goes out resolves to this
// server, as a browser would resolve it.
func FuzzSafeReturnTo(f *testing.F) {
	for _, s := range []string{"/", "/graphs?q=x", "//evil", `/\evil`, "/\t/evil", "https://evil/", "/%5c%5cevil", "/.//evil", "/a/../..//evil"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://rrdash.example/base/")
	f.Fuzz(func(t *testing.T, in string) {
		out := SafeReturnTo(in)
		if out != "/" && out != in {
			t.Fatalf("SafeReturnTo(%q) = %q: neither the input nor /", in, out)
		}
		if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") || strings.ContainsAny(out, "\\\t\r\n") {
			t.Fatalf("SafeReturnTo(%q) = %q", in, out)
		}
		u, err := base.Parse(out)
		if err != nil {
			t.Fatalf("SafeReturnTo(%q) = %q does not parse: %v", in, out, err)
		}
		if u.Host != base.Host || u.Scheme != base.Scheme {
			t.Fatalf("SafeReturnTo(%q) = %q resolves to %s", in, out, u)
		}
	})
}
