// Package graphite serves Graphite's HTTP read API over rrdash's store:
// /render (json, csv, raw), /metrics/find, /metrics/expand and
// /metrics/index.json, with graphite-web 1.1.8's time parsing, glob
// matching, archive choice, maxDataPoints consolidation and functions.
package graphite

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"rrdash/store/cluster"
)

// API is the Graphite API handler set.
type API struct {
	st    Store
	now   func() time.Time
	loc   *time.Location
	log   *slog.Logger
	funcs map[string]*function
}

// Options configure the API.
type Options struct {
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Location is the default time zone of absolute times and of csv
	// output (graphite-web's TIME_ZONE); UTC when nil. tz overrides it.
	Location *time.Location
	Logger   *slog.Logger
	// Annotations, when set, give events() rrdash's annotations.
	Annotations AnnotationStore
}

// New returns the API over a store.
func New(st Store, o Options) *API {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	funcs := buildFunctions()
	if o.Annotations != nil {
		funcs["events"] = eventsFunction(o.Annotations)
	}
	return &API{st: st, now: o.Now, loc: o.Location, log: o.Logger, funcs: funcs}
}

// Version is /version: the graphite-web version whose API this follows
// (Grafana reads it to choose its query editor's features).
func (a *API) Version(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, GraphiteWebVersion)
}

// GraphiteWebVersion is the graphite-web release the API follows.
const GraphiteWebVersion = "1.1.8"

// params merges the query string and a POST form as graphite-web does:
// list values (target) query first, single values the form's.
type params struct {
	q, f url.Values
}

func readParams(r *http.Request) (params, error) {
	p := params{q: r.URL.Query()}
	if r.Method == http.MethodPost {
		ct := r.Header.Get("Content-Type")
		if ct != "" && !strings.HasPrefix(ct, "application/x-www-form-urlencoded") && !strings.HasPrefix(ct, "multipart/form-data") {
			return p, fmt.Errorf("want a form body (application/x-www-form-urlencoded), got %s", ct)
		}
		if err := r.ParseForm(); err != nil {
			return p, fmt.Errorf("reading the form: %w", err)
		}
		p.f = r.PostForm
	}
	return p, nil
}

func (p params) has(k string) bool { return p.q.Has(k) || p.f.Has(k) }

func (p params) get(k string) string {
	if v, ok := p.f[k]; ok && len(v) > 0 {
		return v[len(v)-1]
	}
	if v, ok := p.q[k]; ok && len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}

func (p params) list(k string) []string { return append(append([]string{}, p.q[k]...), p.f[k]...) }

// badRequest is a 400 with a plain-text message, as graphite-web answers.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func bad(format string, a ...any) error { return &badRequest{fmt.Sprintf(format, a...)} }

func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var br *badRequest
	var pe *ParseError
	var ee *EvalError
	var nf *notFound
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, cluster.ErrUnavailable): // cluster mode: no replica of a shard answers now
		code = http.StatusServiceUnavailable
	case errors.As(err, &nf):
		code = http.StatusNotFound
	case errors.As(err, &br), errors.As(err, &pe), errors.As(err, &ee):
		code = http.StatusBadRequest
	case errors.Is(err, r.Context().Err()) && r.Context().Err() != nil:
		code = http.StatusServiceUnavailable
	}
	if code >= 500 {
		a.log.Error("graphite api", "uri", r.RequestURI, "error", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintln(w, err.Error())
}

// timeRange resolves tz, now, from and until as graphite-web's parseOptions.
func (a *API) timeRange(p params) (from, until, now int64, loc *time.Location, err error) {
	loc = a.loc
	if p.has("tz") {
		if loc, err = time.LoadLocation(p.get("tz")); err != nil {
			return 0, 0, 0, nil, bad("tz %q: unknown time zone", p.get("tz"))
		}
	}
	nowT := a.now()
	if p.has("now") {
		if nowT, err = ParseATTime(p.get("now"), loc, nowT); err != nil {
			return 0, 0, 0, nil, bad("now: %v", err)
		}
	}
	untilT := nowT
	if p.has("until") {
		if untilT, err = ParseATTime(p.get("until"), loc, nowT); err != nil {
			return 0, 0, 0, nil, bad("until: %v", err)
		}
	}
	fromT := nowT.Add(-24 * time.Hour)
	if p.has("from") {
		if fromT, err = ParseATTime(p.get("from"), loc, nowT); err != nil {
			return 0, 0, 0, nil, bad("from: %v", err)
		}
	}
	if fromT.After(untilT) {
		fromT, untilT = untilT, fromT
	}
	if fromT.Equal(untilT) {
		return 0, 0, 0, nil, bad("invalid empty time range")
	}
	return fromT.Unix(), untilT.Unix(), nowT.Unix(), loc, nil
}

// Render is /render: targets evaluated over [from, until], answered as
// json, csv or raw, or drawn (png, the default, svg, pdf) by the graph
// layout engine.
func (a *API) Render(w http.ResponseWriter, r *http.Request) {
	if err := a.render(w, r); err != nil {
		a.fail(w, r, err)
	}
}

func (a *API) render(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return bad("%v", err)
	}
	format := ""
	switch {
	case p.has("format"):
		format = p.get("format")
	case p.has("rawData"):
		format = "raw"
	case p.has("pickle"):
		format = "pickle"
	}
	var img *imageRequest
	switch format {
	case "json", "csv", "raw":
	case "", "png", "svg", "pdf":
		if img, err = parseImageRequest(p, format); err != nil {
			return err
		}
	default:
		return bad("format=%s is not supported: want json, csv, raw, png, svg or pdf", format)
	}
	if p.has("jsonp") {
		return bad("jsonp is not supported (it would let any site read your data)")
	}
	if gt := p.get("graphType"); gt != "" && gt != "line" {
		return bad("graphType=%s is not supported", gt)
	}
	maxDP := 0
	if p.has("maxDataPoints") {
		v := p.get("maxDataPoints")
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || !isDigits(v) {
			return bad("maxDataPoints %q: want a non-negative integer", v)
		}
		maxDP = n
	}
	from, until, now, loc, err := a.timeRange(p)
	if err != nil {
		return err
	}
	xff := 0.0
	if p.has("xFilesFactor") {
		if xff, err = strconv.ParseFloat(p.get("xFilesFactor"), 64); err != nil || xff < 0 || xff > 1 || math.IsNaN(xff) {
			return bad("xFilesFactor %q: want a number from 0 to 1", p.get("xFilesFactor"))
		}
	}
	targets := p.list("target")
	if len(targets) == 0 {
		targets = p.list("target[]")
	}
	var exprs []*Expr
	for _, t := range targets {
		if strings.TrimSpace(t) == "" {
			continue
		}
		e, err := Parse(t)
		if err != nil {
			return err
		}
		exprs = append(exprs, e)
	}
	ec := newEvalContext(r.Context(), a.funcs, newCatalog(a.st), from, until, now, loc, xff)
	data, err := ec.evalTargets(exprs)
	if err != nil {
		var ee *EvalError
		if errors.As(err, &ee) && !errors.Is(err, cluster.ErrUnavailable) {
			return bad("target: %v", err)
		}
		return err
	}
	if img != nil {
		b, ct, err := drawImage(img, data, from, until, loc)
		if err != nil {
			return err
		}
		return writeBody(w, ct, b)
	}
	if format == "json" {
		bp := getRenderBuf()
		defer putRenderBuf(bp)
		*bp = appendRenderJSON(*bp, data, maxDP, p.has("maxDataPoints"), p.has("noNullPoints"))
		body := *bp
		if p.get("pretty") != "" {
			var out bytes.Buffer
			if json.Indent(&out, body, "", "  ") == nil {
				body = out.Bytes()
			}
		}
		return writeBody(w, "application/json", body)
	}
	var buf bytes.Buffer
	ct := "application/json"
	switch format {
	case "csv":
		ct = "text/csv; charset=utf-8"
		if err := writeCSV(&buf, data, loc); err != nil {
			return err
		}
	case "raw":
		ct = "text/plain; charset=utf-8"
		writeRaw(&buf, data)
	}
	return writeBody(w, ct, buf.Bytes())
}

// writeBody sends a whole answer with its length (no chunked encoding).
func writeBody(w http.ResponseWriter, ct string, body []byte) error {
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	_, err := w.Write(body)
	return err
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// consolidateForMaxDataPoints is graphite-web's renderViewJson step: a
// series with more points than maxDataPoints over the request's range is
// read valuesPerPoint at a time, its start nudged so that buckets line up
// from one refresh to the next.
func consolidateForMaxDataPoints(data []*Series, maxDP int) {
	if len(data) == 0 {
		return
	}
	start, end := data[0].Start, data[0].End
	for _, s := range data {
		start, end = min(start, s.Start), max(end, s.End)
	}
	timeRange := float64(end - start)
	for _, s := range data {
		if maxDP == 1 {
			s.VPP = max(len(s.Values), 1)
			continue
		}
		if s.Step <= 0 {
			continue
		}
		n := timeRange / float64(s.Step)
		if float64(maxDP) >= n {
			continue
		}
		vpp := int64(math.Ceil(n / float64(maxDP)))
		spp := vpp * s.Step
		nudge := spp + mod(s.Start, s.Step) - mod(s.Start, spp)
		s.Start += nudge
		lose := int(nudge / s.Step)
		for r := 1; r < lose && len(s.Values) > 0; r++ {
			s.Values = s.Values[1:]
		}
		s.VPP = int(vpp)
	}
}

func writeCSV(buf *bytes.Buffer, data []*Series, loc *time.Location) error {
	w := csv.NewWriter(buf)
	w.UseCRLF = true
	for _, s := range data {
		for i, v := range s.points() {
			ts := time.Unix(s.Start+int64(i)*s.Step, 0).In(loc).Format("2006-01-02 15:04:05")
			val := ""
			if !math.IsNaN(v) {
				val = pyFloat(v)
				if math.IsInf(v, 1) {
					val = "inf"
				} else if math.IsInf(v, -1) {
					val = "-inf"
				}
			}
			if err := w.Write([]string{s.Name, ts, val}); err != nil {
				return err
			}
		}
	}
	w.Flush()
	return w.Error()
}

func writeRaw(buf *bytes.Buffer, data []*Series) {
	for _, s := range data {
		fmt.Fprintf(buf, "%s,%d,%d,%d|", s.Name, s.Start, s.End, s.Step)
		for i, v := range s.points() {
			if i > 0 {
				buf.WriteByte(',')
			}
			switch {
			case math.IsNaN(v):
				buf.WriteString("None")
			case math.IsInf(v, 1):
				buf.WriteString("inf")
			case math.IsInf(v, -1):
				buf.WriteString("-inf")
			default:
				buf.WriteString(pyFloat(v))
			}
		}
		buf.WriteByte('\n')
	}
}
