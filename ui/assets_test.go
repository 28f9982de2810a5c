package ui

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
)

// TestHeadFaviconCSP: every GET route answers HEAD with GET's status and
// headers and no body; the favicon is served; the page CSP goes with HTML
// pages only, not with PNGs, JSON or assets.
func TestHeadFaviconCSP(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	r := ts.do(t, "POST", "/api/v1/graphs", "", graphBody{Title: "g", Spec: testSpec()})
	if r.code != 201 {
		t.Fatalf("create graph = %d: %s", r.code, r.body)
	}
	id := decode[graphJSON](t, r).ID
	enc, err := EncodeSpecParam(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url   string
		code  int
		ctype string
		csp   bool
	}{
		{"/", 200, "text/html", true},
		{"/-/healthz", 200, "application/json", false},
		{"/-/readyz", 200, "application/json", false},
		{"/metrics", 200, "text/html", true},
		{"/graphs", 200, "text/html", true},
		{"/g/" + id, 200, "text/html", true},
		{"/g/" + id + ".png", 200, "image/png", false},
		{"/view.png?spec=" + enc, 200, "image/png", false},
		{"/settings/tokens", 200, "text/html", true},
		{"/monitors", 200, "text/html", true},
		{"/api/v1/graphs", 200, "application/json", false},
		{"/assets/app.js", 200, "text/javascript", false},
		{"/favicon.ico", 200, "image/svg+xml", false},
		{"/no/such/page", 404, "text/html", true},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			get := ts.do(t, "GET", tt.url, "", nil)
			head := ts.do(t, "HEAD", tt.url, "", nil)
			for _, r := range []struct {
				method string
				resp
			}{{"GET", get}, {"HEAD", head}} {
				if r.code != tt.code {
					t.Errorf("%s = %d, want %d: %.200s", r.method, r.code, tt.code, r.body)
				}
				if ct := r.hdr.Get("Content-Type"); tt.code == 200 && !strings.HasPrefix(ct, tt.ctype) {
					t.Errorf("%s: Content-Type %q, want %s", r.method, ct, tt.ctype)
				}
				// An error answers HEAD without the page, so without its CSP.
				if csp := r.hdr.Get("Content-Security-Policy"); (csp != "") != (tt.csp && (r.method == "GET" || tt.code == 200)) {
					t.Errorf("%s: Content-Security-Policy %q, want present=%v", r.method, csp, tt.csp)
				}
				if r.hdr.Get("X-Content-Type-Options") != "nosniff" {
					t.Errorf("%s: no nosniff", r.method)
				}
			}
			if len(head.body) != 0 {
				t.Errorf("HEAD has a body of %d bytes", len(head.body))
			}
			if tt.code == 200 && len(get.body) == 0 {
				t.Errorf("GET has no body")
			}
		})
	}
	// Writes are not turned into HEAD-able routes.
	if r := ts.do(t, "HEAD", "/api/v1/chart", "", nil); r.code < 400 {
		t.Errorf("HEAD on a POST-only route = %d, want refused", r.code)
	}
}

// TestAssetCaching: pages link assets by content hash; a hashed URL is
// cached for a year, a bare or stale one is revalidated by ETag; text
// assets are gzipped when the client accepts it.
func TestAssetCaching(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	page := ts.do(t, "GET", "/", "", nil)
	links := map[string]string{}
	for _, m := range regexp.MustCompile(`"/assets/([a-z.]+)\?v=([0-9a-f]{16})"`).FindAllStringSubmatch(string(page.body), -1) {
		links[m[1]] = m[2]
	}
	for _, name := range []string{"app.js", "app.css", "favicon.svg", "echarts.min.js"} {
		if links[name] == "" {
			t.Errorf("page does not link %s by hash: %v", name, links)
		}
	}
	appJS, err := embedded.ReadFile("assets/app.js")
	if err != nil {
		t.Fatal(err)
	}
	hash := links["app.js"]
	tests := []struct {
		name, url, acceptEnc, ifNoneMatch string
		code                              int
		cache, encoding, etag             string
	}{
		{"hashed", "/assets/app.js?v=" + hash, "", "", 200, immutableCache, "", `"` + hash + `"`},
		{"hashed br before gzip", "/assets/app.js?v=" + hash, "gzip, deflate, br", "", 200, immutableCache, "br", `"` + hash + `.br"`},
		{"hashed gzip", "/assets/app.js?v=" + hash, "gzip, deflate", "", 200, immutableCache, "gzip", `"` + hash + `.gz"`},
		{"br q=0 refused", "/assets/app.js?v=" + hash, "br;q=0, gzip", "", 200, immutableCache, "gzip", `"` + hash + `.gz"`},
		{"gzip q=0 refused", "/assets/app.js?v=" + hash, "gzip;q=0, deflate", "", 200, immutableCache, "", `"` + hash + `"`},
		{"star", "/assets/app.js?v=" + hash, "*", "", 200, immutableCache, "br", `"` + hash + `.br"`},
		{"revalidated br", "/assets/app.js", "br", `"` + hash + `.br"`, 304, revalidate, "br", `"` + hash + `.br"`},
		{"old URL still works", "/assets/app.js", "", "", 200, revalidate, "", `"` + hash + `"`},
		{"stale hash", "/assets/app.js?v=0000000000000000", "gzip", "", 200, revalidate, "gzip", `"` + hash + `.gz"`},
		{"revalidated", "/assets/app.js", "", `"` + hash + `"`, 304, revalidate, "", `"` + hash + `"`},
		{"revalidated gzip", "/assets/app.js", "gzip", `W/"x", "` + hash + `.gz"`, 304, revalidate, "gzip", `"` + hash + `.gz"`},
		{"changed", "/assets/app.js", "", `"0000000000000000"`, 200, revalidate, "", `"` + hash + `"`},
		{"missing", "/assets/nope.js", "gzip", "", 404, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest("GET", tt.url, nil)
			if tt.acceptEnc != "" {
				req.Header.Set("Accept-Encoding", tt.acceptEnc)
			}
			if tt.ifNoneMatch != "" {
				req.Header.Set("If-None-Match", tt.ifNoneMatch)
			}
			rec := httptest.NewRecorder()
			ts.srv.Handler().ServeHTTP(rec, req)
			h := rec.Header()
			if rec.Code != tt.code || h.Get("Cache-Control") != tt.cache || h.Get("Content-Encoding") != tt.encoding || h.Get("ETag") != tt.etag {
				t.Fatalf("= %d Cache-Control %q Content-Encoding %q ETag %q; want %d %q %q %q",
					rec.Code, h.Get("Cache-Control"), h.Get("Content-Encoding"), h.Get("ETag"), tt.code, tt.cache, tt.encoding, tt.etag)
			}
			if tt.code != 200 {
				return
			}
			if h.Get("Vary") != "Accept-Encoding" {
				t.Errorf("Vary %q", h.Get("Vary"))
			}
			body := rec.Body.Bytes()
			if tt.encoding == "br" {
				var err error
				if body, err = io.ReadAll(brotli.NewReader(bytes.NewReader(body))); err != nil {
					t.Fatal(err)
				}
			}
			if tt.encoding == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(body, appJS) {
				t.Errorf("body differs from the embedded app.js (%d vs %d bytes)", len(body), len(appJS))
			}
		})
	}
}

// TestAssetBrotli: every compressible asset (echarts.min.js included)
// is served as brotli to a client that takes br and gzip, and decodes to
// the embedded file; HEAD answers the same headers and no body; a
// client without br gets gzip; br is smaller than gzip.
func TestAssetBrotli(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	for _, name := range []string{"app.js", "app.css", "favicon.svg", "echarts.min.js"} {
		t.Run(name, func(t *testing.T) {
			want, err := embedded.ReadFile("assets/" + name)
			if err != nil {
				t.Fatal(err)
			}
			get := func(method, ae string) *httptest.ResponseRecorder {
				req := httptest.NewRequest(method, "/assets/"+name, nil)
				req.Header.Set("Accept-Encoding", ae)
				rec := httptest.NewRecorder()
				ts.srv.Handler().ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || rec.Header().Get("Vary") != "Accept-Encoding" {
					t.Fatalf("%s %s (%s): %d Vary %q", method, name, ae, rec.Code, rec.Header().Get("Vary"))
				}
				return rec
			}
			br := get("GET", "gzip, deflate, br")
			if enc := br.Header().Get("Content-Encoding"); enc != "br" {
				t.Fatalf("Content-Encoding %q, want br", enc)
			}
			body, err := io.ReadAll(brotli.NewReader(bytes.NewReader(br.Body.Bytes())))
			if err != nil || !bytes.Equal(body, want) {
				t.Fatalf("decoded brotli: %d bytes (%v), want the %d of the asset", len(body), err, len(want))
			}
			head := get("HEAD", "gzip, deflate, br")
			if head.Body.Len() != 0 || head.Header().Get("Content-Encoding") != "br" || head.Header().Get("ETag") != br.Header().Get("ETag") ||
				head.Header().Get("Content-Length") != strconv.Itoa(br.Body.Len()) {
				t.Errorf("HEAD: %d body bytes, headers %v; GET's %v", head.Body.Len(), head.Header(), br.Header())
			}
			gz := get("GET", "gzip")
			if enc := gz.Header().Get("Content-Encoding"); enc != "gzip" {
				t.Fatalf("without br: Content-Encoding %q, want gzip", enc)
			}
			if br.Body.Len() >= gz.Body.Len() {
				t.Errorf("brotli %d bytes, gzip %d", br.Body.Len(), gz.Body.Len())
			}
			t.Logf("%s: %d bytes, gzip %d, brotli %d", name, len(want), gz.Body.Len(), br.Body.Len())
		})
	}
}

func TestAcceptsGzip(t *testing.T) {
	t.Parallel()
	for h, want := range map[string]bool{
		"": false, "gzip": true, "GZIP": true, "deflate, br": false, "br, gzip;q=0.5": true,
		"gzip;q=0": false, "gzip; q=0.000": false, "gzip;q=0.001": true, "*;q=0": false, "gzip;q=x": false,
		"x-gzip": false,
	} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", h, got, want)
		}
	}
}

func TestAcceptsBrotli(t *testing.T) {
	t.Parallel()
	for h, want := range map[string]bool{
		"": false, "br": true, "BR": true, "gzip, deflate": false, "gzip, deflate, br": true,
		"br;q=0": false, "br; q=0.0": false, "br;q=0.5, gzip": true, "*": true, "*;q=0": false, "brotli": false,
	} {
		if got := acceptsCoding(h, "br"); got != want {
			t.Errorf("acceptsCoding(%q, br) = %v, want %v", h, got, want)
		}
	}
}

// FuzzAcceptsCoding: any Accept-Encoding header is parsed without a
// panic, and a coding refused with q=0 (listed alone) is never taken.
func FuzzAcceptsCoding(f *testing.F) {
	for _, s := range []string{"", "gzip, deflate, br", "br;q=0", "*;q=0.5", "gzip;q=x", ",,;;=", "br;q=1e400", "br;q=NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		for _, c := range []string{"br", "gzip"} {
			acceptsCoding(h, c)
			if acceptsCoding(c+";q=0", c) {
				t.Fatalf("%s;q=0 accepted", c)
			}
		}
	})
}

// BenchmarkAssetCompress measures what the first request of each text
// asset costs: the gzip and brotli forms of all of them, made once.
//
//	go test ./ui -run XXX -bench AssetCompress -benchtime 3x
func BenchmarkAssetCompress(b *testing.B) {
	sub, err := fs.Sub(embedded, "assets")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		set, err := newAssetSet(sub)
		if err != nil {
			b.Fatal(err)
		}
		var gz, br int
		for _, a := range set.files {
			gz += len(a.gzipped())
			br += len(a.brotli())
		}
		b.ReportMetric(float64(gz), "gzip-bytes")
		b.ReportMetric(float64(br), "br-bytes")
	}
}
