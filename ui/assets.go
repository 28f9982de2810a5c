package ui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/labstack/echo/v5"
)

// Cache lifetimes: a URL carrying the asset's content hash never changes
// meaning, so it is cached for a year; a bare URL (old pages, bookmarks)
// is revalidated with its ETag every time.
const (
	immutableCache = "public, max-age=31536000, immutable"
	revalidate     = "no-cache"
)

// assetSet is the embedded static files with their content hashes,
// computed once at startup; the gzip and brotli forms of a text asset are
// made on its first request (echarts.min.js is 1 MB, tests start many
// servers) and kept.
type assetSet struct {
	files map[string]*asset
}

type asset struct {
	body  []byte
	ctype string
	hash  string // first 16 hex digits of the SHA-256 of body

	gzOnce sync.Once
	gz     []byte // nil: not worth compressing
	brOnce sync.Once
	br     []byte // nil: not worth compressing
}

// brotliQuality: 9 compresses echarts.min.js (1 MB) to 297 kB in about
// 0.3 s; 11 saves 25 kB more but takes about 10 s (pure Go), too long
// for a first request to wait.
const brotliQuality = 9

func newAssetSet(fsys fs.FS) (*assetSet, error) {
	set := &assetSet{files: map[string]*asset{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("asset %s: %w", p, err)
		}
		sum := sha256.Sum256(b)
		set.files[p] = &asset{body: b, ctype: assetType(p), hash: hex.EncodeToString(sum[:8])}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embedded assets: %w", err)
	}
	return set, nil
}

func assetType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	return "application/octet-stream"
}

// url is the versioned URL of an asset: /assets/NAME?v=HASH. An asset not
// embedded (echarts.min.js in a build without make) keeps its bare URL,
// whose 404 explains what is missing.
func (set *assetSet) url(name string) string {
	a := set.files[name]
	if a == nil {
		return "/assets/" + name
	}
	return "/assets/" + name + "?v=" + a.hash
}

// scriptURL versions a URL under /assets/ and leaves any other alone.
func (set *assetSet) scriptURL(u string) string {
	if name, ok := strings.CutPrefix(u, "/assets/"); ok && !strings.Contains(name, "?") {
		return set.url(name)
	}
	return u
}

func (a *asset) gzipped() []byte {
	a.gzOnce.Do(func() {
		if !strings.HasPrefix(a.ctype, "text/") && a.ctype != "image/svg+xml" {
			return
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf) // BestCompression: 2× the time for 0.2% less
		_, _ = zw.Write(a.body)    // a bytes.Buffer does not fail
		if zw.Close() == nil && buf.Len() < len(a.body) {
			a.gz = buf.Bytes()
		}
	})
	return a.gz
}

func (a *asset) brotli() []byte {
	a.brOnce.Do(func() {
		if !strings.HasPrefix(a.ctype, "text/") && a.ctype != "image/svg+xml" {
			return
		}
		var buf bytes.Buffer
		bw := brotli.NewWriterLevel(&buf, brotliQuality)
		_, _ = bw.Write(a.body) // a bytes.Buffer does not fail
		if bw.Close() == nil && buf.Len() < len(a.body) {
			a.br = buf.Bytes()
		}
	})
	return a.br
}

// acceptsGzip: the Accept-Encoding lists gzip (or *) without q=0.
func acceptsGzip(h string) bool { return acceptsCoding(h, "gzip") }

// acceptsCoding: the Accept-Encoding lists want (or *) without q=0.
func acceptsCoding(h, want string) bool {
	for part := range strings.SplitSeq(h, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != want && coding != "*" {
			continue
		}
		if v, ok := strings.CutPrefix(strings.ReplaceAll(strings.ToLower(params), " ", ""), "q="); ok {
			if q, err := strconv.ParseFloat(v, 64); err != nil || q <= 0 {
				continue
			}
		}
		return true
	}
	return false
}

// serve answers GET /assets/NAME: brotli when the client takes it (it is
// a quarter smaller than gzip for echarts), else gzip when it takes that,
// immutable caching when the URL carries the current hash, else an ETag
// to revalidate against.
func (set *assetSet) serve(c *echo.Context, name string) error {
	a := set.files[name]
	if a == nil {
		if name == "echarts.min.js" {
			return echo.NewHTTPError(http.StatusNotFound, "echarts.min.js is not embedded: build with make (it copies it from tools/web/node_modules)")
		}
		return echo.NewHTTPError(http.StatusNotFound, "no such asset")
	}
	r := c.Request()
	h := c.Response().Header()
	body, etag := a.body, `"`+a.hash+`"`
	ae := r.Header.Get("Accept-Encoding")
	if gz := a.gzipped(); gz != nil {
		h.Add("Vary", "Accept-Encoding")
		switch br := a.brotli(); {
		case br != nil && acceptsCoding(ae, "br"):
			body, etag = br, `"`+a.hash+`.br"`
			h.Set("Content-Encoding", "br")
		case acceptsGzip(ae):
			body, etag = gz, `"`+a.hash+`.gz"`
			h.Set("Content-Encoding", "gzip")
		}
	}
	if v := c.QueryParam("v"); v == a.hash {
		h.Set("Cache-Control", immutableCache)
	} else {
		h.Set("Cache-Control", revalidate)
	}
	h.Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, a.ctype, body)
}

func etagMatch(header, etag string) bool {
	for part := range strings.SplitSeq(header, ",") {
		t := strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
