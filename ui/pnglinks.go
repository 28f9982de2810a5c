package ui

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
)

// Signed PNG links. With login on, a graph's PNG (its og:image and the
// "PNG" link a signed-in user copies into chat or e-mail) carries an HMAC
// of its path and query, so a chat server's preview fetcher, which has no
// session, can load that one image and nothing else: any other graph,
// range or size needs a new signature. The key lives in the metadata
// database ("png-links"); deleting it revokes every link.

const (
	pngKeyName = "png-links"
	sigParam   = "sig"
)

// signedPNGURL returns path?query with the signature added; unchanged in
// the local mode, where no request needs one.
func (s *Server) signedPNGURL(path string, q url.Values) string {
	if s.pngKey == nil {
		if len(q) == 0 {
			return path
		}
		return path + "?" + q.Encode()
	}
	q = cloneValues(q)
	q.Del(sigParam)
	q.Set(sigParam, s.pngSignature(path, q))
	return path + "?" + q.Encode()
}

// pngSignature is the HMAC-SHA256 of the path and the sorted query
// without the signature.
func (s *Server) pngSignature(path string, q url.Values) string {
	q = cloneValues(q)
	q.Del(sigParam)
	mac := hmac.New(sha256.New, s.pngKey)
	mac.Write([]byte(path + "?" + q.Encode()))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// signedPNGRequest reports whether r is a GET of a PNG with a valid
// signature.
func (s *Server) signedPNGRequest(r *http.Request, route string) bool {
	if s.pngKey == nil || r.Method != http.MethodGet {
		return false
	}
	isPNG := route == "/view.png" || route == "/g/:id" && strings.HasSuffix(r.URL.Path, ".png")
	if !isPNG {
		return false
	}
	q := r.URL.Query()
	got := q.Get(sigParam)
	if got == "" {
		return false
	}
	return hmac.Equal([]byte(got), []byte(s.pngSignature(r.URL.Path, q)))
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}
