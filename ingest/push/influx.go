package push

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// InfluxDB compatibility: the write endpoints of InfluxDB 1.x (POST /write)
// and 2.x (POST /api/v2/write) over the same line-protocol path as
// /api/v1/write, answering in InfluxDB's own error JSON, and /ping and
// /health for clients that check the server first.
//
// rrdash keeps one namespace: db, rp, org and bucket are required where
// InfluxDB requires them and checked, but do not enter series names, so a
// point is the same series whichever database it was written to.

// InfluxVersion is what /ping, /health and the X-Influxdb-Version header
// report: clients pick their protocol by it.
const InfluxVersion = "1.8.10-rrdash"

// ServeInfluxV1Write handles POST /write (InfluxDB 1.x): db (required),
// rp (empty or autogen), precision (n, ns, u, us, ms, s, m, h). Errors are
// {"error": "…"} with the X-Influxdb-Error header, as InfluxDB 1.x answers.
func (h *Handlers) ServeInfluxV1Write(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	w.Header().Set("X-Influxdb-Version", InfluxVersion)
	switch rp := q.Get("rp"); {
	case q.Get("db") == "":
		h.bad.Add(1)
		influxV1Error(w, http.StatusBadRequest, "database is required")
		return
	case rp != "" && rp != "autogen":
		h.bad.Add(1)
		influxV1Error(w, http.StatusBadRequest, fmt.Sprintf("retention policy not found: %s (rrdash keeps each series by its own archives; leave rp empty or autogen)", rp))
		return
	}
	iw := &influxWriter{w: w, v2: false}
	h.ServeWrite(iw, r)
	iw.finish()
}

// ServeInfluxV2Write handles POST /api/v2/write (InfluxDB 2.x): org (or
// orgID) and bucket required, precision (ns, us, ms, s). Errors are
// {"code": "invalid", "message": "…", "line": N}, as InfluxDB 2.x answers.
func (h *Handlers) ServeInfluxV2Write(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	w.Header().Set("X-Influxdb-Version", InfluxVersion)
	if q.Get("bucket") == "" {
		h.bad.Add(1)
		influxV2Error(w, http.StatusBadRequest, "invalid", "bucket is required", 0)
		return
	}
	if q.Get("org") == "" && q.Get("orgID") == "" {
		h.bad.Add(1)
		influxV2Error(w, http.StatusBadRequest, "invalid", "org or orgID is required", 0)
		return
	}
	iw := &influxWriter{w: w, v2: true}
	h.ServeWrite(iw, r)
	iw.finish()
}

// ServeInfluxPing answers GET or HEAD /ping with 204 and the version
// headers, as InfluxDB does (no credentials needed).
func ServeInfluxPing(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Influxdb-Version", InfluxVersion)
	w.Header().Set("X-Influxdb-Build", "OSS")
	w.WriteHeader(http.StatusNoContent)
}

// ServeInfluxHealth answers GET /health as InfluxDB does.
func ServeInfluxHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Influxdb-Version", InfluxVersion)
	writeJSON(w, http.StatusOK, map[string]any{"name": "influxdb", "message": "ready for queries and writes",
		"status": "pass", "checks": []any{}, "version": InfluxVersion})
}

// InfluxAuth turns InfluxDB's credentials into rrdash's: the password (u/p
// query parameters, Basic auth) or the token (Authorization: Token …) is an
// rrdash API token, passed on as Authorization: Bearer for the push guard.
// The p parameter is removed so that it is not logged with the URL.
func InfluxAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := ""
		scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		switch {
		case strings.EqualFold(scheme, "Token"):
			tok = strings.TrimSpace(cred)
		case strings.EqualFold(scheme, "Basic"):
			if raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred)); err == nil {
				_, tok, _ = strings.Cut(string(raw), ":")
			}
		}
		q := r.URL.Query()
		_, hasP := q["p"]
		if tok == "" {
			tok = q.Get("p")
		}
		if hasP || tok != "" {
			r = r.Clone(r.Context())
		}
		if hasP {
			q.Del("p")
			r.URL.RawQuery = q.Encode()
		}
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		next.ServeHTTP(w, r)
	})
}

// influxWriter rewrites rrdash's error JSON into InfluxDB's. Error bodies
// are small (one message), so they are held until the handler is done.
type influxWriter struct {
	w      http.ResponseWriter
	v2     bool
	status int
	buf    bytes.Buffer
}

func (iw *influxWriter) Header() http.Header { return iw.w.Header() }

func (iw *influxWriter) WriteHeader(status int) {
	if iw.status != 0 {
		return
	}
	iw.status = status
	if status < 400 {
		iw.w.WriteHeader(status)
	}
}

func (iw *influxWriter) Write(b []byte) (int, error) {
	if iw.status == 0 {
		iw.WriteHeader(http.StatusOK)
	}
	if iw.status < 400 {
		return iw.w.Write(b)
	}
	return iw.buf.Write(b)
}

func (iw *influxWriter) finish() {
	if iw.status < 400 {
		return
	}
	var eb errorBody
	if err := json.Unmarshal(iw.buf.Bytes(), &eb); err != nil || eb.Message == "" {
		eb.Message = strings.TrimSpace(iw.buf.String())
	}
	if !iw.v2 {
		influxV1Error(iw.w, iw.status, eb.Message)
		return
	}
	influxV2Error(iw.w, iw.status, influxV2Code(iw.status), eb.Message, eb.Line)
}

// influxV2Code is InfluxDB 2.x's error code for an HTTP status.
func influxV2Code(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not found"
	case http.StatusMethodNotAllowed:
		return "method not allowed"
	case http.StatusRequestEntityTooLarge:
		return "request too large"
	case http.StatusTooManyRequests:
		return "too many requests"
	case http.StatusServiceUnavailable:
		return "unavailable"
	}
	return "internal error"
}

func influxV1Error(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("X-Influxdb-Error", strings.ReplaceAll(msg, "\n", " "))
	writeJSON(w, status, map[string]string{"error": msg})
}

func influxV2Error(w http.ResponseWriter, status int, code, msg string, line int) {
	body := map[string]any{"code": code, "message": msg}
	if line > 0 {
		body["line"] = line
	}
	w.Header().Set("X-Influxdb-Error", strings.ReplaceAll(msg, "\n", " "))
	writeJSON(w, status, body)
}
