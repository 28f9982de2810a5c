package ui

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"rrdash/graph"
	"rrdash/store/meta"
)

// pageData feeds the templates. State is handed to app.js as JSON in a
// data attribute, so user strings never reach a script context.
type pageData struct {
	Page      string
	Title     string
	Message   string
	User      meta.User
	LocalMode bool
	LoginMode bool
	Nonce     string // CSP nonce of this response's scripts
	CSRF      string // the CSRF token: the session's, or the single-user mode's
	Scripts   []string
	Ranges    []string
	OGImage   string
	OGURL     string
	State     any
	StateJSON string

	Instances []string
	Instance  string
	Charts    []dashChart

	Graph      *meta.Graph
	IsOwner    bool
	ShareURL   string
	PNGURL     string
	BuilderURL string

	Graphs []meta.Graph
	Query  string

	MonitorRows []monitorRow
	Monitor     *MonitorView
	Runs        []MonitorRun
	Alerts      []MonitorAlert
	AlertRows   []alertRow
}

var pageNames = []string{"error", "dashboards", "graph", "graphs", "builder", "tokens", "monitors", "monitor", "monitor-edit", "monitor-alerts"}

func parseTemplates(funcs template.FuncMap) (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, p := range pageNames {
		t, err := template.New(p).Funcs(funcs).ParseFS(embedded, "templates/layout.html", "templates/"+p+".html")
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", p, err)
		}
		out[p] = t
	}
	return out, nil
}

func (s *Server) render(c *echo.Context, code int, name string, d pageData) error {
	d.User = currentUser(c)
	d.LocalMode = s.cfg.LocalMode
	d.LoginMode = s.login != nil
	d.Nonce, d.CSRF = requestNonce(c), s.requestCSRF(c)
	if d.Page == "" {
		d.Page = name
	}
	for _, u := range graph.ScriptURLs() {
		d.Scripts = append(d.Scripts, s.assets.scriptURL(u))
	}
	d.Ranges = []string{"1h", "6h", "1d", "1w", "1mon", "1y"}
	st, err := json.Marshal(d.State)
	if err != nil {
		return fmt.Errorf("page state: %w", err)
	}
	d.StateJSON = string(st)
	var buf bytes.Buffer
	if err := s.tmpl[name].ExecuteTemplate(&buf, name+".html", d); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	c.Response().Header().Set("Content-Security-Policy", s.pageCSP(d.Nonce))
	return c.HTMLBlob(code, buf.Bytes())
}

// timeRange is the from/to of a page, as given in the URL.
type timeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

func rangeOf(c *echo.Context, defFrom, defTo string) (timeRange, error) {
	tr := timeRange{From: c.QueryParam("from"), To: c.QueryParam("to")}
	if tr.From == "" {
		tr.From = defFrom
	}
	if tr.To == "" {
		tr.To = defTo
	}
	if err := graph.CheckTime(tr.From); err != nil {
		return tr, echo.NewHTTPError(http.StatusBadRequest, "from: "+err.Error())
	}
	if err := graph.CheckTime(tr.To); err != nil {
		return tr, echo.NewHTTPError(http.StatusBadRequest, "to: "+err.Error())
	}
	return tr, nil
}

func (s *Server) pageDashboards(c *echo.Context) error {
	insts, err := s.instances()
	if err != nil {
		return err
	}
	tr, err := rangeOf(c, "-1d", "now")
	if err != nil {
		return err
	}
	d := pageData{Page: "dashboards", Title: "Dashboards", Instances: insts}
	if len(insts) > 0 {
		inst := c.QueryParam("instance")
		if inst != "" {
			found := false
			for _, i := range insts {
				found = found || i == inst
			}
			if !found {
				return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("no trace-log instance %q", inst))
			}
			d.Instance, d.Charts = inst, dashboardSpecs([]string{inst}, false)
		} else {
			d.Charts = dashboardSpecs(insts, true)
		}
	}
	d.State = map[string]any{"charts": d.Charts, "range": tr}
	return s.render(c, http.StatusOK, "dashboards", d)
}

func (s *Server) pageBuilder(c *echo.Context) error {
	d := pageData{Page: "builder", Title: "Graph builder"}
	state := map[string]any{}
	tr, err := rangeOf(c, "", "")
	if err != nil {
		return err
	}
	var spec *graph.Spec
	if id := c.QueryParam("edit"); id != "" {
		g, err := s.meta.Graph(c.Request().Context(), id)
		if err != nil {
			return err
		}
		if g.OwnerID != currentUser(c).ID {
			return echo.NewHTTPError(http.StatusForbidden, "only the owner can edit this graph; open it and save a copy")
		}
		if spec, err = graph.ParseJSON([]byte(g.Spec)); err != nil {
			return fmt.Errorf("saved graph %s: %w", id, err)
		}
		d.Graph = &g
		state["edit"] = g.ID
	} else if enc := c.QueryParam("spec"); enc != "" {
		if spec, err = decodeSpecParam(enc); err != nil {
			return err
		}
	}
	if spec != nil {
		state["spec"] = spec
		state["lines"] = specLines(spec)
		if tr.From == "" {
			tr.From, tr.To = spec.Start, spec.End
		}
	}
	if tr.From == "" {
		tr = timeRange{From: "-1d", To: "now"}
	}
	state["range"] = tr
	d.State = state
	return s.render(c, http.StatusOK, "builder", d)
}

func (s *Server) pageGraphs(c *echo.Context) error {
	q := c.QueryParam("q")
	gs, err := s.meta.ListGraphs(c.Request().Context(), meta.ListQuery{Search: q})
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "graphs", pageData{Page: "graphs", Title: "All graphs", Graphs: gs, Query: q})
}

func (s *Server) pageUser(c *echo.Context) error {
	u, err := s.meta.UserByHandle(c.Request().Context(), c.Param("user"))
	if err != nil {
		return err
	}
	q := c.QueryParam("q")
	gs, err := s.meta.ListGraphs(c.Request().Context(), meta.ListQuery{Owner: u.Handle, Search: q})
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "graphs", pageData{Page: "user", Title: "Graphs of " + u.Handle, Graphs: gs, Query: q})
}

// baseURL is the public URL prefix for absolute links (og:image).
func (s *Server) baseURL(c *echo.Context) string {
	if s.cfg.BaseURL != "" {
		return strings.TrimRight(s.cfg.BaseURL, "/")
	}
	scheme := "http"
	if c.Request().TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + c.Request().Host
}

func (s *Server) pageGraph(c *echo.Context) error {
	id := c.Param("id")
	if strings.HasSuffix(id, ".png") {
		return s.graphPNG(c, strings.TrimSuffix(id, ".png"))
	}
	g, err := s.meta.Graph(c.Request().Context(), id)
	if err != nil {
		return err
	}
	spec, err := graph.ParseJSON([]byte(g.Spec))
	if err != nil {
		return fmt.Errorf("saved graph %s: %w", id, err)
	}
	tr, err := rangeOf(c, spec.Start, spec.End)
	if err != nil {
		return err
	}
	q := rangeQuery(tr)
	d := pageData{Page: "graph", Title: g.Title, Graph: &g, IsOwner: g.OwnerID == currentUser(c).ID,
		ShareURL: s.baseURL(c) + "/g/" + url.PathEscape(g.ID) + q,
		PNGURL:   s.signedPNGURL("/g/"+url.PathEscape(g.ID)+".png", rangeValues(tr)),
	}
	d.OGImage = s.baseURL(c) + d.PNGURL
	d.OGURL = d.ShareURL
	d.State = map[string]any{"graph": g.ID, "spec": spec, "range": tr, "owner": d.IsOwner}
	return s.render(c, http.StatusOK, "graph", d)
}

// pageView shows an unsaved graph whose spec is in the URL.
func (s *Server) pageView(c *echo.Context) error {
	enc := c.QueryParam("spec")
	spec, err := decodeSpecParam(enc)
	if err != nil {
		return err
	}
	tr, err := rangeOf(c, spec.Start, spec.End)
	if err != nil {
		return err
	}
	q := "?spec=" + url.QueryEscape(enc) + strings.Replace(rangeQuery(tr), "?", "&", 1)
	title := spec.Title
	if title == "" {
		title = "Unsaved graph"
	}
	pq := rangeValues(tr)
	pq.Set("spec", enc)
	d := pageData{Page: "view", Title: title, ShareURL: s.baseURL(c) + "/view" + q, PNGURL: s.signedPNGURL("/view.png", pq),
		BuilderURL: "/metrics" + q}
	d.OGImage = s.baseURL(c) + d.PNGURL
	d.OGURL = d.ShareURL
	d.State = map[string]any{"spec": spec, "range": tr}
	return s.render(c, http.StatusOK, "graph", d)
}

func rangeQuery(tr timeRange) string {
	v := rangeValues(tr)
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// rangeValues is a range as query parameters (from, to).
func rangeValues(tr timeRange) url.Values {
	v := url.Values{}
	if tr.From != "" {
		v.Set("from", tr.From)
	}
	if tr.To != "" {
		v.Set("to", tr.To)
	}
	return v
}

// EncodeSpecParam is how an unsaved spec travels in a URL: base64url JSON.
func EncodeSpecParam(s *graph.Spec) (string, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func decodeSpecParam(enc string) (*graph.Spec, error) {
	if enc == "" {
		return nil, echo.NewHTTPError(http.StatusBadRequest, "missing spec parameter")
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(enc, "="))
	if err != nil {
		return nil, echo.NewHTTPError(http.StatusBadRequest, "spec parameter: not base64url: "+err.Error())
	}
	spec, err := graph.ParseJSON(b)
	if err != nil {
		return nil, echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	return spec, nil
}

const (
	pngMaxW = 2000
	pngMaxH = 1200
)

func (s *Server) graphPNG(c *echo.Context, id string) error {
	g, err := s.meta.Graph(c.Request().Context(), id)
	if err != nil {
		return err
	}
	spec, err := graph.ParseJSON([]byte(g.Spec))
	if err != nil {
		return fmt.Errorf("saved graph %s: %w", id, err)
	}
	if spec.Title == "" {
		spec.Title = g.Title
	}
	return s.writePNG(c, spec)
}

func (s *Server) viewPNG(c *echo.Context) error {
	spec, err := decodeSpecParam(c.QueryParam("spec"))
	if err != nil {
		return err
	}
	return s.writePNG(c, spec)
}

func (s *Server) writePNG(c *echo.Context, spec *graph.Spec) error {
	tr, err := rangeOf(c, spec.Start, spec.End)
	if err != nil {
		return err
	}
	w, h := spec.Size()
	if v, err := strconv.Atoi(c.QueryParam("width")); err == nil && v > 0 {
		w = min(v, pngMaxW)
	}
	if v, err := strconv.Atoi(c.QueryParam("height")); err == nil && v > 0 {
		h = min(v, pngMaxH)
	}
	ctx, cancel := s.evalContext(c)
	defer cancel()
	data, err := graph.Evaluate(ctx, s.store, spec, graph.Options{Now: s.cfg.Now(), Start: tr.From, End: tr.To, Width: w, MaxRows: w, Budget: s.evalBudget()})
	if err != nil {
		return evalError(err)
	}
	b, err := graph.PNG(spec, data, w, h)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "max-age=60")
	return c.Blob(http.StatusOK, "image/png", b)
}
