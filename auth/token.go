package auth

import (
	"net/http"
	"strings"
)

// TokenPrefix starts every personal API token, so leaked ones are easy to
// find in logs and repositories.
const TokenPrefix = "rrd_"

// NewAPIToken returns a fresh token and the hash to store. The token is
// shown once; only the hash is kept.
func NewAPIToken() (token, hash string) {
	token = TokenPrefix + RandomString(32)
	return token, HashID(token)
}

// BearerToken returns the token of an "Authorization: Bearer <token>"
// header, and whether there was one that looks like ours.
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	if !strings.HasPrefix(tok, TokenPrefix) || len(tok) > 200 {
		return "", false
	}
	return tok, true
}
