package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"rrdash/graph"
	"rrdash/store/meta"
)

// Monitors is the code-monitor service behind /monitors and
// /api/v1/monitors. cmd provides it: it joins the scheduler of
// ingest/monitor with the metadata database, so ui depends on neither the
// scheduler nor the script runner. Definitions travel as JSON (the
// monitor package's format); ui only passes them through.
//
// Errors wrap meta.ErrNotFound, meta.ErrExists, meta.ErrForbidden or
// ErrInvalidMonitor, which the handlers turn into 404, 409, 403 and 400.
type Monitors interface {
	List(ctx context.Context) ([]MonitorView, error)
	Get(ctx context.Context, name string) (MonitorView, error)
	// Create saves and schedules a monitor owned by user.
	Create(ctx context.Context, user meta.User, def json.RawMessage) (MonitorView, error)
	// Update replaces a monitor's definition; a secret variable whose
	// value is SecretMask keeps its stored value.
	Update(ctx context.Context, user meta.User, name string, def json.RawMessage) (MonitorView, error)
	Delete(ctx context.Context, user meta.User, name string) error
	RunNow(ctx context.Context, name string) error
	// Runs returns runs newest first.
	Runs(ctx context.Context, name string, q RunFilter) ([]MonitorRun, error)
	// Alerts returns the alert history newest first.
	Alerts(ctx context.Context, name string) ([]MonitorAlert, error)
}

// ErrInvalidMonitor marks a definition that does not validate.
var ErrInvalidMonitor = errors.New("invalid monitor")

// SecretMask stands for a secret value in definitions shown to users.
const SecretMask = "********"

// Monitor origins.
const (
	OriginAPI    = "api"    // defined in the UI or API, stored in the metadata database
	OriginConfig = "config" // defined in the config file; read-only here
)

// MonitorView is a monitor as pages and the API show it.
type MonitorView struct {
	Name     string `json:"name"`
	Owner    string `json:"owner"`
	Origin   string `json:"origin"`
	Language string `json:"language"`
	Interval string `json:"interval"`
	Timeout  string `json:"timeout"`
	// Definition is the monitor's JSON with secret values as SecretMask.
	Definition json.RawMessage `json:"definition"`
	Status     MonitorStatus   `json:"status"`
	UpdatedAt  time.Time       `json:"updated_at,omitzero"`
	// Scheduled is false when the definition could not be scheduled
	// (Problem says why).
	Scheduled bool   `json:"scheduled"`
	Problem   string `json:"problem,omitempty"`
	// Unsandboxed marks a monitor that runs without filesystem and
	// network isolation ([monitors] sandbox = "none").
	Unsandboxed bool `json:"unsandboxed,omitempty"`
}

// MonitorStatus is the alert state and last run of a monitor.
type MonitorStatus struct {
	// State is "firing" (the alert fired), "missed" (not run within two
	// intervals), "failing" (the last run failed, the alert has not fired),
	// "ok", or "pending" (never ran).
	State   string      `json:"state"`
	Since   time.Time   `json:"since,omitzero"`
	LastRun *MonitorRun `json:"last_run,omitempty"`
}

// MonitorRun is one run of a monitor.
type MonitorRun struct {
	Start      time.Time       `json:"start"`
	Runtime    float64         `json:"runtime"` // seconds
	ExitStatus int             `json:"exit_status"`
	Outcome    string          `json:"outcome"` // ok, fail, timeout, error
	Reason     string          `json:"reason,omitempty"`
	Stdout     string          `json:"stdout"`
	Stderr     string          `json:"stderr"`
	Truncated  bool            `json:"truncated,omitempty"`
	Metrics    []MonitorMetric `json:"metrics,omitempty"`
	Usage      *MonitorUsage   `json:"usage,omitempty"` // nil without cgroups
}

// MonitorUsage is what a run's cgroup measured.
type MonitorUsage struct {
	PeakMemoryBytes uint64  `json:"peak_memory_bytes"`
	CPUSeconds      float64 `json:"cpu_seconds"`
	OOMKills        uint64  `json:"oom_kills,omitempty"`
	PidsLimited     uint64  `json:"pids_limited,omitempty"`
	LeftRunning     int     `json:"left_running,omitempty"`
}

// MonitorMetric is a value a script printed.
type MonitorMetric struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit,omitempty"`
}

// MonitorAlert is one alert transition with its webhook deliveries.
type MonitorAlert struct {
	At          time.Time         `json:"at"`
	Kind        string            `json:"kind"`       // alert (failing runs) or missed
	Transition  string            `json:"transition"` // fired or resolved
	Reason      string            `json:"reason,omitempty"`
	Deliveries  []WebhookDelivery `json:"deliveries,omitempty"`
	Undelivered []string          `json:"undelivered,omitempty"`
}

// WebhookDelivery is one attempt to deliver a notification.
type WebhookDelivery struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	Status  int       `json:"status,omitempty"`
	Error   string    `json:"error,omitempty"`
	TookMS  float64   `json:"took_ms"`
}

// RunFilter selects runs: From/To bound the start (zero: unbounded),
// Outcomes keeps only those (empty: all), Limit caps the count (0: 100).
// Summary asks for start, runtime and outcome only (no output, metrics,
// exit status or reason), which is cheap enough for sparklines and markers.
type RunFilter struct {
	From, To time.Time
	Outcomes []string
	Limit    int
	Summary  bool
}

// failedOutcomes are the outcomes drawn as markers on monitor graphs.
var failedOutcomes = []string{"fail", "timeout", "error"}

// monitorError maps the Monitors errors to HTTP statuses.
func monitorError(err error) error {
	var he *echo.HTTPError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &he):
		return err
	case errors.Is(err, ErrInvalidMonitor):
		return badRequest(err.Error())
	case errors.Is(err, meta.ErrExists):
		return echo.NewHTTPError(http.StatusConflict, err.Error())
	case errors.Is(err, meta.ErrForbidden):
		return echo.NewHTTPError(http.StatusForbidden, err.Error())
	case errors.Is(err, meta.ErrNotFound):
		return echo.NewHTTPError(http.StatusNotFound, err.Error())
	}
	return err
}

func (s *Server) monitors() (Monitors, error) {
	if s.cfg.Monitors == nil {
		return nil, echo.NewHTTPError(http.StatusNotFound, "code monitors are not enabled on this server")
	}
	return s.cfg.Monitors, nil
}

// ownedMonitor returns a monitor the current user may change, or 403.
func (s *Server) ownedMonitor(c *echo.Context, verb string) (Monitors, MonitorView, error) {
	mons, err := s.monitors()
	if err != nil {
		return nil, MonitorView{}, err
	}
	mv, err := mons.Get(c.Request().Context(), c.Param("name"))
	if err != nil {
		return nil, MonitorView{}, monitorError(err)
	}
	if mv.Owner == "" || mv.Owner != currentUser(c).Handle {
		return nil, MonitorView{}, echo.NewHTTPError(http.StatusForbidden, fmt.Sprintf("only the owner of monitor %s can %s it", mv.Name, verb))
	}
	if mv.Origin == OriginConfig && verb != "run" {
		return nil, MonitorView{}, echo.NewHTTPError(http.StatusConflict, fmt.Sprintf("monitor %s is defined in the config file: change it there", mv.Name))
	}
	return mons, mv, nil
}

func (s *Server) apiListMonitors(c *echo.Context) error {
	mons, err := s.monitors()
	if err != nil {
		return err
	}
	list, err := mons.List(c.Request().Context())
	if err != nil {
		return monitorError(err)
	}
	if list == nil {
		list = []MonitorView{}
	}
	return c.JSON(http.StatusOK, map[string]any{"monitors": list})
}

// readDefinition reads a definition body as raw JSON, refusing what is not
// a JSON object.
func readDefinition(c *echo.Context) (json.RawMessage, error) {
	var raw json.RawMessage
	if err := json.NewDecoder(c.Request().Body).Decode(&raw); err != nil {
		return nil, badRequest("request body: " + err.Error())
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil, badRequest("request body: want a JSON object (a monitor definition)")
	}
	return raw, nil
}

func (s *Server) apiCreateMonitor(c *echo.Context) error {
	mons, err := s.monitors()
	if err != nil {
		return err
	}
	raw, err := readDefinition(c)
	if err != nil {
		return err
	}
	var head struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(raw, &head); err == nil && (head.Name == "new" || head.Name == "alerts") {
		return badRequest(fmt.Sprintf("monitor name %q is reserved (the page /monitors/%s)", head.Name, head.Name))
	}
	mv, err := mons.Create(c.Request().Context(), currentUser(c), raw)
	if err != nil {
		return monitorError(err)
	}
	c.Response().Header().Set("Location", "/monitors/"+mv.Name)
	return c.JSON(http.StatusCreated, mv)
}

func (s *Server) apiGetMonitor(c *echo.Context) error {
	mons, err := s.monitors()
	if err != nil {
		return err
	}
	mv, err := mons.Get(c.Request().Context(), c.Param("name"))
	if err != nil {
		return monitorError(err)
	}
	return c.JSON(http.StatusOK, mv)
}

func (s *Server) apiUpdateMonitor(c *echo.Context) error {
	mons, mv, err := s.ownedMonitor(c, "change")
	if err != nil {
		return err
	}
	raw, err := readDefinition(c)
	if err != nil {
		return err
	}
	out, err := mons.Update(c.Request().Context(), currentUser(c), mv.Name, raw)
	if err != nil {
		return monitorError(err)
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) apiDeleteMonitor(c *echo.Context) error {
	mons, mv, err := s.ownedMonitor(c, "delete")
	if err != nil {
		return err
	}
	if err := mons.Delete(c.Request().Context(), currentUser(c), mv.Name); err != nil {
		return monitorError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) apiRunMonitor(c *echo.Context) error {
	mons, mv, err := s.ownedMonitor(c, "run")
	if err != nil {
		return err
	}
	if err := mons.RunNow(c.Request().Context(), mv.Name); err != nil {
		return echo.NewHTTPError(http.StatusServiceUnavailable, err.Error()).Wrap(err)
	}
	return c.JSON(http.StatusAccepted, map[string]string{"status": "queued"})
}

func (s *Server) apiMonitorRuns(c *echo.Context) error {
	mons, err := s.monitors()
	if err != nil {
		return err
	}
	q := RunFilter{Limit: 100}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 1000 {
			return badRequest(fmt.Sprintf("limit %q: want 1 to 1000", v))
		}
		q.Limit = n
	}
	for _, o := range c.QueryParams()["outcome"] {
		switch o {
		case "ok", "fail", "timeout", "error":
			q.Outcomes = append(q.Outcomes, o)
		default:
			return badRequest(fmt.Sprintf("outcome %q: want ok, fail, timeout or error", o))
		}
	}
	runs, err := mons.Runs(c.Request().Context(), c.Param("name"), q)
	if err != nil {
		return monitorError(err)
	}
	if runs == nil {
		runs = []MonitorRun{}
	}
	return c.JSON(http.StatusOK, map[string]any{"runs": runs})
}

func (s *Server) apiMonitorAlerts(c *echo.Context) error {
	mons, err := s.monitors()
	if err != nil {
		return err
	}
	alerts, err := mons.Alerts(c.Request().Context(), c.Param("name"))
	if err != nil {
		return monitorError(err)
	}
	if alerts == nil {
		alerts = []MonitorAlert{}
	}
	return c.JSON(http.StatusOK, map[string]any{"alerts": alerts})
}

// monitorCharts are the charts of a monitor page: its run series and one
// chart per custom metric series found in the store.
func (s *Server) monitorCharts(name string) ([]dashChart, error) {
	run := "monitor." + name
	def := func(v, ds string) graph.Def {
		return graph.Def{Kind: graph.KindDEF, Name: v, Series: escapeName(run), DS: ds, CF: "AVERAGE"}
	}
	charts := []dashChart{
		{ID: "runtime", Spec: &graph.Spec{Title: name + ": runtime", VLabel: "seconds",
			Defs:  []graph.Def{def("runtime", "runtime")},
			Items: []graph.Item{{Type: graph.ItemLine, Width: 1, Vname: "runtime", Color: "#1f77b4", Legend: "runtime"}}}},
		{ID: "status", Spec: &graph.Spec{Title: name + ": ok and exit status",
			Defs: []graph.Def{def("ok", "ok"), def("exit", "exit_status")},
			Items: []graph.Item{
				{Type: graph.ItemArea, Vname: "ok", Color: "#2ca02c", Legend: "ok (1) / failed (0)"},
				{Type: graph.ItemLine, Width: 1, Vname: "exit", Color: "#d62728", Legend: "exit status"},
			}}},
	}
	names, err := s.store.List("")
	if err != nil {
		return nil, fmt.Errorf("list series of monitor %s: %w", name, err)
	}
	var metrics []string
	for _, n := range names {
		if m, ok := strings.CutPrefix(n, run+"."); ok && m != "" {
			metrics = append(metrics, m)
		}
	}
	sort.Strings(metrics)
	for i, m := range metrics {
		charts = append(charts, dashChart{ID: "metric-" + strconv.Itoa(i), Spec: &graph.Spec{Title: name + ": " + m,
			Defs:  []graph.Def{{Kind: graph.KindDEF, Name: "v", Series: escapeName(run + "." + m), DS: "value", CF: "AVERAGE"}},
			Items: []graph.Item{{Type: graph.ItemLine, Width: 1, Vname: "v", Color: "#9467bd", Legend: m}}}})
	}
	return charts, nil
}

// apiMonitorChart draws one chart of a monitor page with its failed runs as markers.
func (s *Server) apiMonitorChart(c *echo.Context) error {
	mons, err := s.monitors()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	mv, err := mons.Get(ctx, c.Param("name"))
	if err != nil {
		return monitorError(err)
	}
	charts, err := s.monitorCharts(mv.Name)
	if err != nil {
		return err
	}
	var spec *graph.Spec
	for _, ch := range charts {
		if ch.ID == c.Param("chart") {
			spec = ch.Spec
		}
	}
	if spec == nil {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("monitor %s has no chart %q", mv.Name, c.Param("chart")))
	}
	tr, err := rangeOf(c, "-1d", "now")
	if err != nil {
		return err
	}
	width, _ := strconv.Atoi(c.QueryParam("width"))
	if width <= 0 {
		width = graph.DefaultW
	}
	width = min(width, 4000)
	ectx, cancel := s.evalContext(c)
	defer cancel()
	data, err := graph.Evaluate(ectx, s.store, spec, graph.Options{Now: s.cfg.Now(), Start: tr.From, End: tr.To, Width: width, Budget: s.evalBudget()})
	if err != nil {
		return evalError(err)
	}
	failed, err := mons.Runs(ctx, mv.Name, RunFilter{From: time.Unix(data.Start, 0), To: time.Unix(data.End, 0), Outcomes: failedOutcomes, Limit: 1000, Summary: true})
	if err != nil {
		return monitorError(err)
	}
	marks := graph.Markers{Name: "failed runs"}
	for i := len(failed) - 1; i >= 0; i-- {
		r := failed[i]
		// The outcome, not the reason: reasons quote script output, and
		// echarts tooltips are HTML.
		marks.Events = append(marks.Events, graph.Marker{Time: r.Start.Add(time.Duration(r.Runtime * float64(time.Second))).Unix(), Label: "run " + r.Outcome})
	}
	ch, err := graph.EChart(spec, data, marks)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ch)
}

// sparkline is the polyline points of an inline SVG of runtimes, oldest
// first, in a 100×20 box.
func sparkline(runs []MonitorRun) string {
	if len(runs) < 2 {
		return ""
	}
	hi := 0.0
	for _, r := range runs {
		hi = max(hi, r.Runtime)
	}
	if hi == 0 {
		hi = 1
	}
	var b strings.Builder
	n := len(runs)
	for i := range runs {
		r := runs[n-1-i] // runs are newest first
		x := 100 * float64(i) / float64(n-1)
		y := 19 - 18*r.Runtime/hi
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.1f,%.1f", x, y)
	}
	return b.String()
}

// monitorRow is a row of the monitor list.
type monitorRow struct {
	MonitorView
	Spark    string
	SparkMax string
}

func (s *Server) pageMonitors(c *echo.Context) error {
	d := pageData{Page: "monitors", Title: "Code monitors"}
	if s.cfg.Monitors == nil {
		d.Message = "Code monitors are not enabled on this server."
		return s.render(c, http.StatusOK, "monitors", d)
	}
	ctx := c.Request().Context()
	list, err := s.cfg.Monitors.List(ctx)
	if err != nil {
		return monitorError(err)
	}
	for _, mv := range list {
		runs, err := s.cfg.Monitors.Runs(ctx, mv.Name, RunFilter{Limit: 50, Summary: true})
		if err != nil {
			return monitorError(err)
		}
		row := monitorRow{MonitorView: mv, Spark: sparkline(runs)}
		if row.Spark != "" {
			hi := 0.0
			for _, r := range runs {
				hi = max(hi, r.Runtime)
			}
			row.SparkMax = strconv.FormatFloat(hi, 'f', 3, 64) + " s"
		}
		d.MonitorRows = append(d.MonitorRows, row)
	}
	return s.render(c, http.StatusOK, "monitors", d)
}

func (s *Server) pageMonitor(c *echo.Context) error {
	mons, err := s.monitors()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	mv, err := mons.Get(ctx, c.Param("name"))
	if err != nil {
		return monitorError(err)
	}
	runs, err := mons.Runs(ctx, mv.Name, RunFilter{Limit: 20})
	if err != nil {
		return monitorError(err)
	}
	alerts, err := mons.Alerts(ctx, mv.Name)
	if err != nil {
		return monitorError(err)
	}
	charts, err := s.monitorCharts(mv.Name)
	if err != nil {
		return err
	}
	tr, err := rangeOf(c, "-1d", "now")
	if err != nil {
		return err
	}
	d := pageData{Page: "monitor", Title: "Monitor " + mv.Name, Monitor: &mv, Runs: runs, Alerts: alerts, Charts: charts,
		IsOwner: mv.Owner != "" && mv.Owner == currentUser(c).Handle}
	ids := make([]string, len(charts))
	for i, ch := range charts {
		ids[i] = ch.ID
	}
	d.State = map[string]any{"monitor": mv.Name, "charts": ids, "range": tr}
	return s.render(c, http.StatusOK, "monitor", d)
}

// alertRow is one line of the alert history of all monitors.
type alertRow struct {
	Monitor string
	MonitorAlert
}

// maxAlertRows bounds the alert history page.
const maxAlertRows = 500

// pageMonitorAlerts is the alert history of every monitor, newest first.
func (s *Server) pageMonitorAlerts(c *echo.Context) error {
	mons, err := s.monitors()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	list, err := mons.List(ctx)
	if err != nil {
		return monitorError(err)
	}
	var rows []alertRow
	for _, mv := range list {
		alerts, err := mons.Alerts(ctx, mv.Name)
		if err != nil {
			return monitorError(err)
		}
		for _, a := range alerts {
			rows = append(rows, alertRow{Monitor: mv.Name, MonitorAlert: a})
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].At.After(rows[j].At) })
	if len(rows) > maxAlertRows {
		rows = rows[:maxAlertRows]
	}
	return s.render(c, http.StatusOK, "monitor-alerts", pageData{Page: "monitor-alerts", Title: "Monitor alerts", AlertRows: rows})
}

// pageMonitorEdit is the form to create (/monitors/new) or change a monitor.
func (s *Server) pageMonitorEdit(c *echo.Context) error {
	if _, err := s.monitors(); err != nil {
		return err
	}
	d := pageData{Page: "monitor-edit", Title: "New monitor"}
	state := map[string]any{"mask": SecretMask}
	if c.Param("name") != "" {
		_, mv, err := s.ownedMonitor(c, "change")
		if err != nil {
			return err
		}
		d.Title, d.Monitor = "Edit monitor "+mv.Name, &mv
		state["edit"] = mv.Name
		state["definition"] = mv.Definition
	}
	d.State = state
	return s.render(c, http.StatusOK, "monitor-edit", d)
}
