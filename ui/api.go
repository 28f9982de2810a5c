package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v5"

	"rrdash/graph"
	"rrdash/rpn"
	"rrdash/store"
	"rrdash/store/meta"
)

func badRequest(msg string) error { return echo.NewHTTPError(http.StatusBadRequest, msg) }

// decodeJSON reads a JSON body strictly.
func decodeJSON(c *echo.Context, v any) error {
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("request body: " + err.Error())
	}
	return nil
}

type seriesEntry struct {
	Name string `json:"name"`
}

const maxSeriesResults = 200

// apiSeries lists series: q is a name prefix, or a glob when it has * ? or
// [; tag=k=v (repeatable) keeps series whose Graphite tags include k=v;
// match (repeatable) takes seriesByTag-like expressions (store.TagExpr).
func (s *Server) apiSeries(c *echo.Context) error {
	q := c.QueryParam("q")
	// A glob goes to the store as is (path.Match: * stops at '/'); a plain
	// prefix is matched here, since names like //host/check#m hold slashes.
	glob, prefix := "", q
	if strings.ContainsAny(q, "*?[") {
		glob, prefix = q, ""
		if _, err := path.Match(glob, ""); err != nil {
			return badRequest(fmt.Sprintf("q %q: bad glob: %v", q, err))
		}
	}
	names, err := s.store.List(glob)
	if err != nil {
		return fmt.Errorf("list series %q: %w", glob, err)
	}
	tags := c.QueryParams()["tag"]
	for _, t := range tags {
		if !strings.Contains(t, "=") {
			return badRequest(fmt.Sprintf("tag %q: want name=value", t))
		}
	}
	// match: seriesByTag-like expressions (name=…, tag=glob, tag!=v, tag=~re, tag!=~re).
	exprs, err := store.ParseTagQuery(c.QueryParams()["match"])
	if err != nil {
		return badRequest("match: " + err.Error())
	}
	out := []seriesEntry{}
	truncated := false
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) || !hasTags(n, tags) || !store.MatchTags(n, exprs) {
			continue
		}
		if len(out) == maxSeriesResults {
			truncated = true
			break
		}
		out = append(out, seriesEntry{Name: n})
	}
	return c.JSON(http.StatusOK, map[string]any{"series": out, "truncated": truncated})
}

// hasTags reports whether a Graphite-style name "a.b;k=v;k2=v2" carries every tag.
func hasTags(name string, tags []string) bool {
	if len(tags) == 0 {
		return true
	}
	parts := strings.Split(name, ";")[1:]
	for _, t := range tags {
		found := false
		for _, p := range parts {
			found = found || p == t
		}
		if !found {
			return false
		}
	}
	return true
}

func (s *Server) apiSeriesInfo(c *echo.Context) error {
	name := c.QueryParam("name")
	sp, err := s.store.Spec(name)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("series %q: %v", name, err))
	}
	last, err := s.store.LastUpdate(name)
	if err != nil {
		return fmt.Errorf("series %q: %w", name, err)
	}
	ds := make([]string, len(sp.DS))
	for i, d := range sp.DS {
		ds[i] = d.Name
	}
	cfs := []string{}
	seen := map[string]bool{}
	type rra struct {
		CF         string `json:"cf"`
		Resolution int64  `json:"resolution"`
		Rows       int64  `json:"rows"`
	}
	var rras []rra
	for _, r := range sp.RRA {
		if !seen[r.CF.String()] {
			seen[r.CF.String()] = true
			cfs = append(cfs, r.CF.String())
		}
		rras = append(rras, rra{CF: r.CF.String(), Resolution: r.Steps * sp.Step, Rows: r.Rows})
	}
	// may_change: the builder shows delete and rename to who may (seriesperm.go)
	_, admin := s.store.(SeriesAdmin)
	return c.JSON(http.StatusOK, map[string]any{"name": name, "step": sp.Step, "ds": ds, "cf": cfs, "rra": rras, "last_update": last,
		"may_change": admin && s.mayChangeSeries(c, name)})
}

// xportRequest is the POST body of /api/v1/xport; GET takes the same as
// query parameters (arg repeated).
type xportRequest struct {
	Args    []string `json:"args"`
	Start   string   `json:"start"`
	End     string   `json:"end"`
	Step    int64    `json:"step"`
	MaxRows int      `json:"maxrows"`
}

// apiXport runs DEF/CDEF/VDEF/XPORT arguments like `rrdtool xport --json`
// and answers with the same JSON as the CLI.
func (s *Server) apiXport(c *echo.Context) error {
	var req xportRequest
	if c.Request().Method == http.MethodPost {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	} else {
		q := c.QueryParams()
		req.Args, req.Start, req.End = q["arg"], q.Get("start"), q.Get("end")
		var err error
		if v := q.Get("step"); v != "" {
			if req.Step, err = strconv.ParseInt(v, 10, 64); err != nil || req.Step <= 0 {
				return badRequest(fmt.Sprintf("step %q: want a positive number of seconds", v))
			}
		}
		if v := q.Get("maxrows"); v != "" {
			if req.MaxRows, err = strconv.Atoi(v); err != nil || req.MaxRows <= 0 {
				return badRequest(fmt.Sprintf("maxrows %q: want a positive integer", v))
			}
		}
	}
	if len(req.Args) == 0 {
		return badRequest("no arguments: give DEF:…, CDEF:…, VDEF:… and XPORT:… (arg=… repeated)")
	}
	if req.MaxRows > 100000 {
		return badRequest("maxrows: at most 100000")
	}
	sc, err := rpn.ParseScript(req.Args)
	if err != nil {
		return specError(err)
	}
	start, end, err := graph.ResolveRange(req.Start, req.End, s.cfg.Now())
	if err != nil {
		return badRequest(err.Error())
	}
	ctx, cancel := s.evalContext(c)
	defer cancel()
	x, err := sc.Xport(ctx, s.store, rpn.Request{Start: start, End: end, Step: req.Step, MaxRows: req.MaxRows,
		Env: rpn.Env{Now: s.cfg.Now().Unix()}, Budget: s.evalBudget()})
	if err != nil {
		return evalError(err)
	}
	var buf bytes.Buffer
	if err := x.WriteJSON(&buf); err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, buf.Bytes())
}

// specError turns a spec/rpn error into a 400 with line, position and token.
func specError(err error) error {
	body := apiError{Error: err.Error()}
	var de *graph.DefError
	var re *rpn.Error
	switch {
	case errors.As(err, &de):
		if de.Line >= 0 {
			l := de.Line
			body.Line = &l
		}
		body.Pos, body.Token = de.Pos, de.Token
	case errors.As(err, &re):
		body.Pos, body.Token = re.Pos, re.Token
	}
	return &jsonError{code: http.StatusBadRequest, body: body}
}

// jsonError is an API error with a structured body.
type jsonError struct {
	code int
	body apiError
}

func (e *jsonError) Error() string   { return e.body.Error }
func (e *jsonError) StatusCode() int { return e.code }

type chartRequest struct {
	Spec  *graph.Spec `json:"spec"`
	From  string      `json:"from"`
	To    string      `json:"to"`
	Width int         `json:"width"`
}

func (s *Server) chart(c *echo.Context, spec *graph.Spec, from, to string, width int) error {
	if spec == nil {
		return badRequest("missing spec")
	}
	if err := spec.Validate(); err != nil {
		return badRequest(err.Error())
	}
	if width <= 0 {
		width, _ = spec.Size()
	}
	width = min(width, 4000)
	ctx, cancel := s.evalContext(c)
	defer cancel()
	data, err := graph.Evaluate(ctx, s.store, spec, graph.Options{Now: s.cfg.Now(), Start: from, End: to, Width: width, Budget: s.evalBudget()})
	if err != nil {
		return evalError(err)
	}
	ch, err := graph.EChart(spec, data)
	if err != nil {
		return err
	}
	// The legend's numbers are the PNG's: rows consolidated for the spec's
	// own width, one per pixel as rrdtool (and /g/ID.png) fetches them.
	if specW, _ := spec.Size(); graph.HasPrints(spec) {
		ld, err := graph.Evaluate(ctx, s.store, spec, graph.Options{Now: s.cfg.Now(), Start: from, End: to, Width: specW, MaxRows: specW, Budget: s.evalBudget()})
		if err != nil {
			return evalError(err)
		}
		if ch.Legend, err = graph.Legend(spec, ld); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, ch)
}

func (s *Server) apiChart(c *echo.Context) error {
	var req chartRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	return s.chart(c, req.Spec, req.From, req.To, req.Width)
}

func (s *Server) apiGraphChart(c *echo.Context) error {
	g, err := s.meta.Graph(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	spec, err := graph.ParseJSON([]byte(g.Spec))
	if err != nil {
		return fmt.Errorf("saved graph %s: %w", g.ID, err)
	}
	w, _ := strconv.Atoi(c.QueryParam("width"))
	return s.chart(c, spec, c.QueryParam("from"), c.QueryParam("to"), w)
}

// specLines are the builder's editable lines of a spec: its arguments
// without the options (title, range… have their own fields).
func specLines(s *graph.Spec) []string {
	opts := (&graph.Spec{Title: s.Title, VLabel: s.VLabel, Start: s.Start, End: s.End, Width: s.Width,
		Height: s.Height, Lower: s.Lower, Upper: s.Upper, Step: s.Step}).Args()
	return s.Args()[len(opts):]
}

type validateRequest struct {
	Title  string   `json:"title"`
	VLabel string   `json:"vlabel"`
	Lines  []string `json:"lines"`
	Start  string   `json:"start"`
	End    string   `json:"end"`
}

type validateResponse struct {
	OK       bool        `json:"ok"`
	Spec     *graph.Spec `json:"spec,omitempty"`
	Warnings []string    `json:"warnings,omitempty"`
	Error    *apiError   `json:"error,omitempty"`
}

// apiValidate checks builder lines: syntax (graph) and RPN (rpn), and says
// which line, token position and token are wrong.
func (s *Server) apiValidate(c *echo.Context) error {
	var req validateRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	spec, warnings, err := specFromLines(req)
	resp := validateResponse{Warnings: warnings}
	if err == nil {
		_, err = graph.Compile(spec)
		var de *graph.DefError
		if errors.As(err, &de) && de.Line >= 0 {
			// One position style: the editor line (and column) of the
			// DEF, not also the argument index rpn counts.
			if line := lineOfDef(req.Lines, spec.Defs[de.Line].Name); line >= 0 {
				err = lineError(req.Lines, line, de.Msg, de.Pos, de.Token)
			}
		}
	}
	if line := itemLine(req.Lines, err); line >= 0 {
		// "item 2 (LINE): …" from the spec's checks: the item's line.
		msg := errText(err)
		if k := strings.Index(msg, "): "); k >= 0 {
			msg = msg[k+3:]
		}
		err = lineError(req.Lines, line, msg, 0, "")
	}
	if err != nil {
		var je *jsonError
		var he *echo.HTTPError
		switch {
		case errors.As(err, &je):
		case errors.As(err, &he):
			je = &jsonError{body: apiError{Error: he.Message}}
		default:
			errors.As(specError(err), &je)
		}
		resp.Error = &je.body
		return c.JSON(http.StatusOK, resp)
	}
	resp.OK, resp.Spec = true, spec
	return c.JSON(http.StatusOK, resp)
}

// lineError is an error at an editor line (0-based), with the column
// (1-based) of the RPN token at pos (1-based) when given: "line 2:10: …".
func lineError(lines []string, line int, msg string, pos int, token string) error {
	where := fmt.Sprintf("line %d", line+1)
	if col := tokenColumn(lines[line], pos); col > 0 {
		where += fmt.Sprintf(":%d", col)
	}
	if token != "" {
		msg += fmt.Sprintf(" (token %d ‘%s’)", pos, token)
	}
	l := line
	return &jsonError{code: http.StatusBadRequest, body: apiError{Error: where + ": " + msg, Line: &l, Pos: pos, Token: token}}
}

// tokenColumn is the 1-based column of the pos-th (1-based) comma-separated
// token of a CDEF/VDEF expression line, 0 when unknown.
func tokenColumn(line string, pos int) int {
	eq := strings.IndexByte(line, '=')
	if pos <= 0 || eq < 0 {
		return 0
	}
	col := eq + 1
	for i, tok := range strings.Split(line[eq+1:], ",") {
		if i+1 == pos {
			return col + 1
		}
		col += len(tok) + 1
	}
	return 0
}

// itemLine is the editor line (0-based) of the item an "item N (TYPE): …"
// error names, -1 when err is not one: the N-th line that is neither a
// DEF/CDEF/VDEF nor an option.
func itemLine(lines []string, err error) int {
	var n int
	if err == nil {
		return -1
	}
	if _, scanErr := fmt.Sscanf(errText(err), "item %d (", &n); scanErr != nil || n < 1 {
		return -1
	}
	k := 0
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "-") || strings.HasPrefix(l, "DEF:") || strings.HasPrefix(l, "CDEF:") || strings.HasPrefix(l, "VDEF:") {
			continue
		}
		if k++; k == n {
			return i
		}
	}
	return -1
}

// errText is an error's message without echo's "code=…, message=" frame.
func errText(err error) string {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he.Message
	}
	return err.Error()
}

func lineOfDef(lines []string, name string) int {
	for i, l := range lines {
		l = strings.TrimSpace(l)
		for _, k := range []string{"DEF:", "CDEF:", "VDEF:"} {
			if strings.HasPrefix(l, k+name+"=") {
				return i
			}
		}
	}
	return -1
}

// specFromLines builds a spec from builder fields. Each non-empty line is
// one rrdtool graph argument; an argument error names its line.
func specFromLines(req validateRequest) (*graph.Spec, []string, error) {
	if len(req.Lines) > 400 {
		return nil, nil, badRequest("too many lines")
	}
	var args []string
	var lineOf []int
	for i, l := range req.Lines {
		if l = strings.TrimSpace(l); l != "" {
			args = append(args, l)
			lineOf = append(lineOf, i)
		}
	}
	// The leading "-" stands for the output file ParseArgs expects.
	argv := append([]string{"-"}, args...)
	spec, warnings, err := graph.ParseArgs(argv)
	if err != nil {
		var n int
		if _, scanErr := fmt.Sscanf(err.Error(), "argument %d", &n); scanErr == nil && n >= 2 && n-2 < len(lineOf) {
			line := lineOf[n-2]
			msg := err.Error()
			if k := strings.Index(msg, "): "); k >= 0 {
				msg = msg[k+3:]
			}
			return nil, nil, &jsonError{code: http.StatusBadRequest, body: apiError{Error: fmt.Sprintf("line %d: %s", line+1, msg), Line: &line}}
		}
		return nil, nil, badRequest(err.Error())
	}
	spec.Title, spec.VLabel, spec.Start, spec.End = req.Title, req.VLabel, req.Start, req.End
	if err := spec.Validate(); err != nil {
		return nil, nil, badRequest(err.Error())
	}
	return spec, warnings, nil
}

// apiParse turns a pasted `rrdtool graph` command line into a spec and
// builder lines.
func (s *Server) apiParse(c *echo.Context) error {
	var req struct {
		Command string `json:"command"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	argv, err := graph.SplitCommandLine(req.Command)
	if err != nil {
		return badRequest(err.Error())
	}
	spec, warnings, err := graph.ParseArgs(argv)
	if err != nil {
		return badRequest(err.Error())
	}
	return c.JSON(http.StatusOK, map[string]any{"spec": spec, "lines": specLines(spec), "warnings": warnings})
}

type graphBody struct {
	Title string      `json:"title"`
	Spec  *graph.Spec `json:"spec"`
}

// graphJSON is a saved graph as the API shows it.
type graphJSON struct {
	meta.Graph
	Spec *graph.Spec `json:"spec"`
	URL  string      `json:"url"`
}

func toGraphJSON(g meta.Graph) (graphJSON, error) {
	spec, err := graph.ParseJSON([]byte(g.Spec))
	if err != nil {
		return graphJSON{}, fmt.Errorf("saved graph %s: %w", g.ID, err)
	}
	return graphJSON{Graph: g, Spec: spec, URL: "/g/" + g.ID}, nil
}

func (b *graphBody) check() (string, error) {
	b.Title = strings.TrimSpace(b.Title)
	if b.Spec == nil {
		return "", badRequest("missing spec")
	}
	if b.Title == "" {
		b.Title = strings.TrimSpace(b.Spec.Title)
	}
	if b.Title == "" {
		return "", badRequest("a saved graph needs a title")
	}
	if len(b.Title) > 1000 || !utf8.ValidString(b.Title) {
		return "", badRequest("title: at most 1000 bytes of UTF-8")
	}
	b.Spec.Title = b.Title
	if err := b.Spec.Validate(); err != nil {
		return "", badRequest(err.Error())
	}
	if _, err := graph.Compile(b.Spec); err != nil {
		return "", specError(err)
	}
	js, err := json.Marshal(b.Spec)
	if err != nil {
		return "", err
	}
	return string(js), nil
}

func (s *Server) apiListGraphs(c *echo.Context) error {
	limit, _ := strconv.Atoi(c.QueryParam("limit"))
	offset, _ := strconv.Atoi(c.QueryParam("offset"))
	gs, err := s.meta.ListGraphs(c.Request().Context(), meta.ListQuery{Owner: c.QueryParam("user"), Search: c.QueryParam("q"), Limit: limit, Offset: max(offset, 0)})
	if err != nil {
		return err
	}
	out := []graphJSON{}
	for _, g := range gs {
		j, err := toGraphJSON(g)
		if err != nil {
			return err
		}
		out = append(out, j)
	}
	return c.JSON(http.StatusOK, map[string]any{"graphs": out})
}

func (s *Server) apiCreateGraph(c *echo.Context) error {
	var b graphBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	js, err := b.check()
	if err != nil {
		return err
	}
	g, err := s.meta.CreateGraph(c.Request().Context(), currentUser(c), b.Title, js)
	if err != nil {
		return err
	}
	out, err := toGraphJSON(g)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", out.URL)
	return c.JSON(http.StatusCreated, out)
}

func (s *Server) apiGetGraph(c *echo.Context) error {
	g, err := s.meta.Graph(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	out, err := toGraphJSON(g)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) apiUpdateGraph(c *echo.Context) error {
	var b graphBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	js, err := b.check()
	if err != nil {
		return err
	}
	g, err := s.meta.UpdateGraph(c.Request().Context(), currentUser(c), c.Param("id"), b.Title, js)
	if err != nil {
		return err
	}
	out, err := toGraphJSON(g)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) apiDeleteGraph(c *echo.Context) error {
	if err := s.meta.DeleteGraph(c.Request().Context(), currentUser(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// apiCopyGraph saves a copy of anyone's graph as the current user's.
func (s *Server) apiCopyGraph(c *echo.Context) error {
	g, err := s.meta.Graph(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	title, err := copyTitle(c, g.Title)
	if err != nil {
		return err
	}
	spec, err := graph.ParseJSON([]byte(g.Spec))
	if err != nil {
		return fmt.Errorf("saved graph %s: %w", g.ID, err)
	}
	spec.Title = title
	js, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	cp, err := s.meta.CreateGraph(c.Request().Context(), currentUser(c), title, string(js))
	if err != nil {
		return err
	}
	out, err := toGraphJSON(cp)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", out.URL)
	return c.JSON(http.StatusCreated, out)
}
