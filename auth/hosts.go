package auth

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// Hosts is the allow-list of Host headers a server answers. A page on a
// name the attacker controls can be made to resolve to this server (DNS
// rebinding); the browser then treats the server as that page's own
// origin, but still sends the attacker's name in Host. Refusing names we
// were not told about closes that hole.
//
// Loopback addresses and "localhost" are always allowed. With AnyIP, so
// is every IP address: a Host that is an IP literal names the address the
// browser connected to, which DNS rebinding cannot produce, so a server
// listening on every interface stays reachable by address.
type Hosts struct {
	names map[string][]string // host name or canonical IP -> ports; an empty port: any
	anyIP bool
}

// ParseHosts builds the allow-list from entries "name", "name:port", an
// IPv4 address, or an IPv6 address in brackets, each with an optional
// port. An entry without a port allows every port.
func ParseHosts(entries []string, anyIP bool) (*Hosts, error) {
	h := &Hosts{names: map[string][]string{}, anyIP: anyIP}
	for _, e := range entries {
		host, port, err := splitHost(strings.TrimSpace(e))
		if err != nil {
			return nil, fmt.Errorf("allowed host %q: %w", e, err)
		}
		h.names[host] = append(h.names[host], port)
	}
	return h, nil
}

// HostOf returns the host of an absolute URL (for base_url and the like)
// as an allow-list entry without port, or "" when there is none.
func HostOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return ""
	}
	host, _, err := splitHost(u.Host)
	if err != nil {
		return ""
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Is6() {
		return "[" + host + "]"
	}
	return host
}

// Allow reports whether a request's Host header (host or host:port) is
// served here.
func (h *Hosts) Allow(hostport string) bool {
	host, port, err := splitHost(hostport)
	if err != nil {
		return false
	}
	if a, err := netip.ParseAddr(host); err == nil && (a.IsLoopback() || h.anyIP) {
		return true
	}
	if host == "localhost" {
		return true
	}
	for _, p := range h.names[host] {
		if p == "" || p == port {
			return true
		}
	}
	return false
}

// splitHost splits "host[:port]" ("[v6]:port" for IPv6) into a canonical
// host (lower case, no trailing dot; an IP in its canonical form without
// brackets) and the port ("" when absent).
func splitHost(s string) (host, port string, err error) {
	if s == "" {
		return "", "", fmt.Errorf("empty host")
	}
	switch {
	case s[0] == '[':
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", fmt.Errorf("missing ] after an IPv6 address")
		}
		host, rest := s[1:end], s[end+1:]
		if rest != "" {
			if rest[0] != ':' {
				return "", "", fmt.Errorf("want [IPv6]:port")
			}
			port = rest[1:]
		}
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() {
			return "", "", fmt.Errorf("%q in brackets is not an IPv6 address", host)
		}
		return a.Unmap().String(), port, checkPort(port)
	case strings.Count(s, ":") > 1: // a bare IPv6 address (config entries only)
		a, err := netip.ParseAddr(s)
		if err != nil {
			return "", "", fmt.Errorf("not an IPv6 address (write [addr]:port for one with a port): %w", err)
		}
		return a.String(), "", nil
	}
	host, port, _ = strings.Cut(s, ":")
	if err := checkPort(port); err != nil {
		return "", "", err
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" {
		return "", "", fmt.Errorf("empty host")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap().String(), port, nil
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return "", "", fmt.Errorf("%q is not a host name (letters, digits, '-', '.', '_'; no scheme, path or wildcard)", host)
		}
	}
	return host, port, nil
}

func checkPort(p string) error {
	if p == "" {
		return nil
	}
	if len(p) > 5 {
		return fmt.Errorf("port %q: not a port number", p)
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return fmt.Errorf("port %q: not a port number", p)
		}
	}
	return nil
}

// Origin returns the web origin "scheme://host[:port]" of an absolute URL
// (an Origin or Referer header, base_url) in a canonical form: lower case,
// no default port, no path. ok is false for anything else ("null" too).
func Origin(rawURL string) (origin string, ok bool) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	return canonicalOrigin(scheme, u.Host)
}

// RequestOrigin is the origin a request was sent to as this server sees
// it: its Host header, https when the connection is TLS. Behind a proxy
// that ends TLS the browser's origin is https, which only base_url tells.
func RequestOrigin(r *http.Request) (string, bool) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return canonicalOrigin(scheme, r.Host)
}

func canonicalOrigin(scheme, hostport string) (string, bool) {
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host, port, err := splitHost(hostport)
	if err != nil {
		return "", false
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Is6() {
		host = "[" + host + "]"
	}
	if port == "" || scheme == "http" && port == "80" || scheme == "https" && port == "443" {
		return scheme + "://" + host, true
	}
	return scheme + "://" + host + ":" + port, true
}
