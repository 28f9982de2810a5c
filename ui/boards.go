package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v5"

	"rrdash/graph"
	"rrdash/store"
	"rrdash/store/meta"
)

// boardDef is a user dashboard's definition as stored (meta.Dashboard's
// Definition) and sent by the API: a grid of saved graphs sharing one time
// range.
type boardDef struct {
	// From and To are the range the dashboard opens at (the URL's from/to
	// override them); empty: -1d … now.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// TZ is the zone the dashboard is shown in (IANA name) unless the
	// URL's tz says otherwise; empty: each viewer's own.
	TZ string `json:"tz,omitempty"`
	// Columns of the grid (1…4; 0: 2).
	Columns int          `json:"columns,omitempty"`
	Panels  []boardPanel `json:"panels"`
	// Variables fill $name (or ${name}) in the series of the panels'
	// DEFs, one value at a time, chosen on the page (var-NAME in the URL).
	Variables []boardVar `json:"variables,omitempty"`
}

// boardVar is a template variable: its values are the name segment a
// one-* glob matches ("tracelog.*" → web1, web2) or the values of a tag
// ("host" from "…;host=a").
type boardVar struct {
	Name string `json:"name"`
	Glob string `json:"glob,omitempty"`
	Tag  string `json:"tag,omitempty"`
}

const maxBoardVars = 8

// checkVar says what is wrong with a variable.
func checkVar(v boardVar) error {
	if !validVarName(v.Name) {
		return fmt.Errorf("variable %q: want a name of letters, digits and _", v.Name)
	}
	switch {
	case (v.Glob == "") == (v.Tag == ""):
		return fmt.Errorf("variable %s: give glob (tracelog.*) or tag (host), one of them", v.Name)
	case v.Glob != "":
		if strings.Count(v.Glob, "*") != 1 || globSegment(v.Glob) < 0 {
			return fmt.Errorf("variable %s: glob %q: want one * standing for a whole name segment", v.Name, v.Glob)
		}
		if _, err := path.Match(v.Glob, ""); err != nil {
			return fmt.Errorf("variable %s: glob %q: %v", v.Name, v.Glob, err)
		}
	}
	return nil
}

func validVarName(n string) bool {
	if n == "" || len(n) > 40 {
		return false
	}
	for i, r := range n {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// globSegment is the index of the dot-separated segment that is "*".
func globSegment(glob string) int {
	for i, seg := range strings.Split(glob, ".") {
		if seg == "*" {
			return i
		}
	}
	return -1
}

// varValues lists a variable's values from the series in the store, sorted.
func (s *Server) varValues(v boardVar) ([]string, error) {
	seen := map[string]bool{}
	if v.Glob != "" {
		names, err := s.store.List(v.Glob)
		if err != nil {
			return nil, fmt.Errorf("variable %s: list %q: %w", v.Name, v.Glob, err)
		}
		k := globSegment(v.Glob)
		for _, n := range names {
			p, _ := store.SplitTags(n)
			if segs := strings.Split(p, "."); k < len(segs) {
				seen[segs[k]] = true
			}
		}
	} else {
		names, err := s.store.List("")
		if err != nil {
			return nil, fmt.Errorf("variable %s: list series: %w", v.Name, err)
		}
		for _, n := range names {
			if _, tags := store.SplitTags(n); tags != nil {
				if val, ok := tags[v.Tag]; ok {
					seen[val] = true
				}
			}
		}
	}
	out := make([]string, 0, len(seen))
	for val := range seen {
		out = append(out, val)
	}
	sort.Strings(out)
	return out, nil
}

// substitute replaces $name and ${name} in the DEFs' series of spec.
func substitute(spec *graph.Spec, vals map[string]string) {
	for i := range spec.Defs {
		d := &spec.Defs[i]
		if !strings.Contains(d.Series, "$") {
			continue
		}
		for n, v := range vals {
			d.Series = strings.ReplaceAll(d.Series, "${"+n+"}", v)
			d.Series = strings.ReplaceAll(d.Series, "$"+n, v)
		}
	}
}

// boardPanel is one saved graph on the grid, Span columns wide.
type boardPanel struct {
	Graph string `json:"graph"`
	Span  int    `json:"span,omitempty"`
}

const (
	maxBoardPanels  = 48
	maxBoardColumns = 4
)

// check normalises d and says what is wrong with it; graphs must exist.
func (s *Server) checkBoard(c *echo.Context, d *boardDef) error {
	if d.Columns == 0 {
		d.Columns = 2
	}
	if d.Columns < 1 || d.Columns > maxBoardColumns {
		return badRequest(fmt.Sprintf("columns %d: want 1 to %d", d.Columns, maxBoardColumns))
	}
	if d.From != "" || d.To != "" {
		if _, _, err := graph.ResolveRange(d.From, d.To, s.cfg.Now()); err != nil {
			return badRequest(fmt.Sprintf("range %q … %q: %v", d.From, d.To, err))
		}
	}
	if d.TZ != "" {
		if _, err := time.LoadLocation(d.TZ); err != nil || d.TZ == "Local" {
			return badRequest(fmt.Sprintf("tz %q: not an IANA time zone name", d.TZ))
		}
	}
	if len(d.Variables) > maxBoardVars {
		return badRequest(fmt.Sprintf("%d variables: at most %d", len(d.Variables), maxBoardVars))
	}
	names := map[string]bool{}
	for _, v := range d.Variables {
		if err := checkVar(v); err != nil {
			return badRequest(err.Error())
		}
		if names[v.Name] {
			return badRequest(fmt.Sprintf("variable %s: defined twice", v.Name))
		}
		names[v.Name] = true
	}
	if len(d.Panels) > maxBoardPanels {
		return badRequest(fmt.Sprintf("%d panels: at most %d", len(d.Panels), maxBoardPanels))
	}
	if d.Panels == nil {
		d.Panels = []boardPanel{}
	}
	for i := range d.Panels {
		p := &d.Panels[i]
		if p.Span == 0 {
			p.Span = 1
		}
		if p.Span < 1 || p.Span > d.Columns {
			return badRequest(fmt.Sprintf("panel %d: span %d: want 1 to the %d columns", i+1, p.Span, d.Columns))
		}
		if _, err := s.meta.Graph(c.Request().Context(), p.Graph); err != nil {
			if errors.Is(err, meta.ErrNotFound) {
				return badRequest(fmt.Sprintf("panel %d: no saved graph %q", i+1, p.Graph))
			}
			return err
		}
	}
	return nil
}

// boardBody is the API's create/update body.
type boardBody struct {
	Title      string   `json:"title"`
	Definition boardDef `json:"definition"`
}

// boardJSON is a dashboard as the API shows it.
type boardJSON struct {
	meta.Dashboard
	Definition boardDef `json:"definition"`
	URL        string   `json:"url"`
}

func toBoardJSON(d meta.Dashboard) (boardJSON, error) {
	var def boardDef
	if err := json.Unmarshal([]byte(d.Definition), &def); err != nil {
		return boardJSON{}, fmt.Errorf("dashboard %s: definition: %w", d.ID, err)
	}
	return boardJSON{Dashboard: d, Definition: def, URL: "/d/" + d.ID}, nil
}

func checkTitle(t string) (string, error) {
	t = strings.TrimSpace(t)
	if t == "" {
		return "", badRequest("a dashboard needs a title")
	}
	if len(t) > 1000 || !utf8.ValidString(t) {
		return "", badRequest("title: at most 1000 bytes of UTF-8")
	}
	return t, nil
}

// copyTitle is a copy's title: the body's {"title"}, else "Copy of "
// and the original's, at most 1000 bytes of UTF-8 (graphs and dashboards).
func copyTitle(c *echo.Context, original string) (string, error) {
	var b struct {
		Title string `json:"title"`
	}
	if err := decodeJSON(c, &b); err != nil {
		return "", err
	}
	t := strings.TrimSpace(b.Title)
	if t == "" {
		t = "Copy of " + original
	}
	if len(t) > 1000 || !utf8.ValidString(t) {
		return "", badRequest("title: at most 1000 bytes of UTF-8")
	}
	return t, nil
}

// readBoard decodes and checks a create/update body.
func (s *Server) readBoard(c *echo.Context) (string, string, error) {
	var b boardBody
	if err := decodeJSON(c, &b); err != nil {
		return "", "", err
	}
	title, err := checkTitle(b.Title)
	if err != nil {
		return "", "", err
	}
	if err := s.checkBoard(c, &b.Definition); err != nil {
		return "", "", err
	}
	js, err := json.Marshal(b.Definition)
	if err != nil {
		return "", "", err
	}
	return title, string(js), nil
}

func (s *Server) apiListBoards(c *echo.Context) error {
	limit, _ := strconv.Atoi(c.QueryParam("limit"))
	offset, _ := strconv.Atoi(c.QueryParam("offset"))
	ds, err := s.meta.ListDashboards(c.Request().Context(), meta.ListQuery{Owner: c.QueryParam("user"), Search: c.QueryParam("q"), Limit: limit, Offset: max(offset, 0)})
	if err != nil {
		return err
	}
	out := []boardJSON{}
	for _, d := range ds {
		j, err := toBoardJSON(d)
		if err != nil {
			return err
		}
		out = append(out, j)
	}
	return c.JSON(http.StatusOK, map[string]any{"dashboards": out})
}

func (s *Server) boardResponse(c *echo.Context, code int, d meta.Dashboard) error {
	out, err := toBoardJSON(d)
	if err != nil {
		return err
	}
	if code == http.StatusCreated {
		c.Response().Header().Set("Location", out.URL)
	}
	return c.JSON(code, out)
}

func (s *Server) apiCreateBoard(c *echo.Context) error {
	title, def, err := s.readBoard(c)
	if err != nil {
		return err
	}
	d, err := s.meta.CreateDashboard(c.Request().Context(), currentUser(c), title, def)
	if err != nil {
		return err
	}
	return s.boardResponse(c, http.StatusCreated, d)
}

func (s *Server) apiGetBoard(c *echo.Context) error {
	d, err := s.meta.Dashboard(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return s.boardResponse(c, http.StatusOK, d)
}

func (s *Server) apiUpdateBoard(c *echo.Context) error {
	title, def, err := s.readBoard(c)
	if err != nil {
		return err
	}
	d, err := s.meta.UpdateDashboard(c.Request().Context(), currentUser(c), c.Param("id"), title, def)
	if err != nil {
		return err
	}
	return s.boardResponse(c, http.StatusOK, d)
}

func (s *Server) apiDeleteBoard(c *echo.Context) error {
	if err := s.meta.DeleteDashboard(c.Request().Context(), currentUser(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// apiCopyBoard saves a copy of anyone's dashboard as the current user's
// (the graphs are shared, not copied).
func (s *Server) apiCopyBoard(c *echo.Context) error {
	d, err := s.meta.Dashboard(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	title, err := copyTitle(c, d.Title)
	if err != nil {
		return err
	}
	cp, err := s.meta.CreateDashboard(c.Request().Context(), currentUser(c), title, d.Definition)
	if err != nil {
		return err
	}
	return s.boardResponse(c, http.StatusCreated, cp)
}

// boardPanelView is a panel as the dashboard page draws it.
type boardPanelView struct {
	ID    string `json:"id"`
	Graph string `json:"graph"`
	Title string `json:"title"`
	Span  int    `json:"span"`
}

func (s *Server) pageBoards(c *echo.Context) error {
	q := c.QueryParam("q")
	ds, err := s.meta.ListDashboards(c.Request().Context(), meta.ListQuery{Search: q})
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "boards", pageData{Page: "boards", Title: "Dashboards", Boards: ds, Query: q})
}

func (s *Server) pageBoard(c *echo.Context) error {
	ctx := c.Request().Context()
	d, err := s.meta.Dashboard(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	bj, err := toBoardJSON(d)
	if err != nil {
		return err
	}
	def := bj.Definition
	from, to := def.From, def.To
	if from == "" && to == "" {
		from, to = "-1d", "now"
	}
	tr, err := rangeOf(c, from, to)
	if err != nil {
		return err
	}
	var panels []boardPanelView
	for i, p := range def.Panels {
		title := p.Graph + " (deleted)"
		if g, err := s.meta.Graph(ctx, p.Graph); err == nil {
			title = g.Title
		} else if !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		panels = append(panels, boardPanelView{ID: "p" + strconv.Itoa(i), Graph: p.Graph, Title: title, Span: p.Span})
	}
	pd := pageData{Page: "board", Title: d.Title, Board: &bj, Panels: panels, IsOwner: d.OwnerID == currentUser(c).ID,
		ShareURL: s.baseURL(c) + "/d/" + url.PathEscape(d.ID) + rangeQuery(tr)}
	vars, err := s.boardVars(c, def)
	if err != nil {
		return err
	}
	pd.State = map[string]any{"board": d.ID, "panels": panels, "range": tr, "tz": def.TZ, "variables": vars}
	return s.render(c, http.StatusOK, "board", pd)
}

// pageBoardEdit is the form for a new dashboard (/dashboards/new) or the
// owner's existing one (/d/{id}/edit).
func (s *Server) pageBoardEdit(c *echo.Context) error {
	ctx := c.Request().Context()
	pd := pageData{Page: "board-edit", Title: "New dashboard"}
	state := map[string]any{}
	if id := c.Param("id"); id != "" {
		d, err := s.meta.Dashboard(ctx, id)
		if err != nil {
			return err
		}
		if d.OwnerID != currentUser(c).ID {
			return echo.NewHTTPError(http.StatusForbidden, "only the owner can edit this dashboard; open it and save a copy")
		}
		bj, err := toBoardJSON(d)
		if err != nil {
			return err
		}
		pd.Title, pd.Board = "Edit “"+d.Title+"”", &bj
		state["edit"] = d.ID
		state["title"] = d.Title
		state["definition"] = bj.Definition
	}
	gs, err := s.meta.ListGraphs(ctx, meta.ListQuery{Limit: 500})
	if err != nil {
		return err
	}
	type graphRef struct {
		ID    string `json:"id"`
		Title string `json:"title"`
		Owner string `json:"owner"`
	}
	refs := []graphRef{}
	for _, g := range gs {
		refs = append(refs, graphRef{g.ID, g.Title, g.Owner})
	}
	state["graphs"] = refs
	pd.State = state
	return s.render(c, http.StatusOK, "board-edit", pd)
}

// boardVarView is a variable on the page: its values and the chosen one.
type boardVarView struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
	Value  string   `json:"value"`
}

// boardVars resolves a dashboard's variables for a request: each one's
// values, and the value var-NAME chooses (default the first). A value not
// among them is refused.
func (s *Server) boardVars(c *echo.Context, def boardDef) ([]boardVarView, error) {
	out := []boardVarView{}
	for _, v := range def.Variables {
		vals, err := s.varValues(v)
		if err != nil {
			return nil, err
		}
		vv := boardVarView{Name: v.Name, Values: vals}
		if want := c.QueryParam("var-" + v.Name); want != "" {
			if !slices.Contains(vals, want) {
				return nil, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("var-%s=%q: not one of its %d values", v.Name, want, len(vals)))
			}
			vv.Value = want
		} else if len(vals) > 0 {
			vv.Value = vals[0]
		}
		out = append(out, vv)
	}
	return out, nil
}

// apiBoardPanelChart draws panel N of a dashboard with its variables
// filled (var-NAME=value, default each one's first value).
func (s *Server) apiBoardPanelChart(c *echo.Context) error {
	ctx := c.Request().Context()
	d, err := s.meta.Dashboard(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	bj, err := toBoardJSON(d)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil || n < 0 || n >= len(bj.Definition.Panels) {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("dashboard %s has no panel %q", d.ID, c.Param("n")))
	}
	g, err := s.meta.Graph(ctx, bj.Definition.Panels[n].Graph)
	if err != nil {
		return err
	}
	spec, err := graph.ParseJSON([]byte(g.Spec))
	if err != nil {
		return fmt.Errorf("saved graph %s: %w", g.ID, err)
	}
	vars, err := s.boardVars(c, bj.Definition)
	if err != nil {
		return err
	}
	vals := map[string]string{}
	for _, v := range vars {
		if v.Value == "" {
			return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("variable %s has no values: no series match", v.Name))
		}
		vals[v.Name] = v.Value
	}
	substitute(spec, vals)
	w, _ := strconv.Atoi(c.QueryParam("width"))
	return s.chart(c, spec, c.QueryParam("from"), c.QueryParam("to"), w)
}
