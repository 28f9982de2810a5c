package auth

import (
	"net/url"
	"strings"
)

// SafeReturnTo returns target if it is a path on this server, else "/".
// Only "/path?query" forms pass: no scheme, no host, no "//host" or
// "/\host" (browsers read a backslash as a slash), no control characters
// (browsers drop tabs and newlines, turning "/\t/host" into "//host").
func SafeReturnTo(target string) string {
	if target == "" || len(target) > 2048 || target[0] != '/' {
		return "/"
	}
	if len(target) > 1 && (target[1] == '/' || target[1] == '\\') {
		return "/"
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	return target
}
