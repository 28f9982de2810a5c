package ui

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"rrdash/graph"
)

// tracelogPrefix names trace-log series: tracelog.<instance>.
const tracelogPrefix = "tracelog."

// dashChart is one chart of the trace-log dashboard.
type dashChart struct {
	ID   string      `json:"id"`
	Spec *graph.Spec `json:"spec"`
}

// instances lists the trace-log instances in the store.
func (s *Server) instances() ([]string, error) {
	names, err := s.store.List("")
	if err != nil {
		return nil, fmt.Errorf("list trace-log series: %w", err)
	}
	var out []string
	for _, n := range names {
		if inst, ok := strings.CutPrefix(n, tracelogPrefix); ok && inst != "" {
			out = append(out, inst)
		}
	}
	sort.Strings(out)
	return out, nil
}

// escapeName escapes ':' for a DEF's series field.
func escapeName(s string) string { return strings.ReplaceAll(s, ":", `\:`) }

// dashboardSpecs builds the four trace-log charts for one instance, or for
// all instances together (sums of rates and backlogs, the worst instance's
// percentiles) when all is true.
func dashboardSpecs(instances []string, all bool) []dashChart {
	label := "all instances"
	if !all {
		label = instances[0]
	}
	// def returns the lines defining name as ds over the instances.
	def := func(name, ds, cf, combine string) []graph.Def {
		if !all || len(instances) == 1 {
			return []graph.Def{{Kind: graph.KindDEF, Name: name, Series: tracelogPrefix + instances[0], DS: ds, CF: cf}}
		}
		var defs []graph.Def
		expr := ""
		for i, inst := range instances {
			n := fmt.Sprintf("%s_%d", name, i)
			defs = append(defs, graph.Def{Kind: graph.KindDEF, Name: n, Series: tracelogPrefix + inst, DS: ds, CF: cf})
			if i == 0 {
				expr = n
			} else {
				expr += "," + n + "," + combine
			}
		}
		return append(defs, graph.Def{Kind: graph.KindCDEF, Name: name, Expr: expr})
	}
	stats := func(v, unit string) ([]graph.Def, []graph.Item) {
		return []graph.Def{
				{Kind: graph.KindVDEF, Name: v + "_avg", Expr: v + ",AVERAGE"},
				{Kind: graph.KindVDEF, Name: v + "_max", Expr: v + ",MAXIMUM"},
				{Kind: graph.KindVDEF, Name: v + "_last", Expr: v + ",LAST"},
			}, []graph.Item{
				{Type: graph.ItemGPrint, Vname: v + "_avg", Format: "avg %6.2lf %s" + unit},
				{Type: graph.ItemGPrint, Vname: v + "_max", Format: "max %6.2lf %s" + unit},
				{Type: graph.ItemGPrint, Vname: v + "_last", Format: "last %6.2lf %s" + unit},
			}
	}
	build := func(id, title, vlabel string, lines [][]graph.Def, items []graph.Item, statsOf []string, units []string) dashChart {
		sp := &graph.Spec{Title: title + " — " + label, VLabel: vlabel, Start: "-1d", End: "now", Width: 560, Height: 220}
		for _, l := range lines {
			sp.Defs = append(sp.Defs, l...)
		}
		// Legend values follow their item, rrdtool style.
		for _, it := range items {
			sp.Items = append(sp.Items, it)
			for k, v := range statsOf {
				if v == it.Vname {
					d, g := stats(v, units[k])
					sp.Defs = append(sp.Defs, d...)
					sp.Items = append(sp.Items, g...)
				}
			}
		}
		return dashChart{ID: id, Spec: sp}
	}
	return []dashChart{
		build("rate", "Request rate", "req/s",
			[][]graph.Def{def("req", "requests", "AVERAGE", "ADDNAN"), def("maxrate", "maxrate", "AVERAGE", "ADDNAN"),
				{{Kind: graph.KindCDEF, Name: "maxrate_t", Expr: "maxrate,900,TRENDNAN"}}},
			[]graph.Item{
				{Type: graph.ItemArea, Vname: "req", Color: "#4e79a7", Legend: "requests/s"},
				// The estimate jumps from step to step: its 15-minute mean,
				// thin, reads as the ceiling it is.
				{Type: graph.ItemLine, Width: 1, Vname: "maxrate_t", Color: "#e15759", Legend: "estimated max rate/s (15 min mean)", Dashes: true},
			}, []string{"req", "maxrate_t"}, []string{"", ""}),
		build("backlog", "Backlog", "requests",
			[][]graph.Def{def("backlog", "backlog", "AVERAGE", "ADDNAN"), def("blmax", "backlog_max", "MAX", "ADDNAN"), def("active", "active", "AVERAGE", "ADDNAN")},
			[]graph.Item{
				{Type: graph.ItemArea, Vname: "backlog", Color: "#f28e2b", Legend: "backlog (avg)"},
				{Type: graph.ItemLine, Width: 1, Vname: "blmax", Color: "#b6992d", Legend: "backlog (max)"},
				{Type: graph.ItemLine, Width: 1, Vname: "active", Color: "#59a14f", Legend: "in flight"},
			}, []string{"backlog", "blmax", "active"}, []string{"", "", ""}),
		build("errors", "500 errors", "errors/s",
			[][]graph.Def{def("err", "errors", "AVERAGE", "ADDNAN")},
			[]graph.Item{{Type: graph.ItemArea, Vname: "err", Color: "#e15759", Legend: "500s/s"}},
			[]string{"err"}, []string{""}),
		build("response", "Response time", "seconds",
			[][]graph.Def{def("p50", "response_p50", "AVERAGE", "MAXNAN"), def("p95", "response_p95", "AVERAGE", "MAXNAN"), def("p99", "response_p99", "AVERAGE", "MAXNAN")},
			[]graph.Item{
				{Type: graph.ItemLine, Width: 1, Vname: "p50", Color: "#59a14f", Legend: "p50"},
				{Type: graph.ItemLine, Width: 1, Vname: "p95", Color: "#f28e2b", Legend: "p95"},
				{Type: graph.ItemLine, Width: 1, Vname: "p99", Color: "#e15759", Legend: "p99"},
			}, []string{"p50", "p95", "p99"}, []string{"s", "s", "s"}),
	}
}

// apiTracelogChart draws one trace-log dashboard chart, its spec built
// from the instances in the store now: "all instances" includes one that
// appeared after the page was loaded (on a first start the tailer creates
// web2 while web1 is being read).
func (s *Server) apiTracelogChart(c *echo.Context) error {
	insts, err := s.instances()
	if err != nil {
		return err
	}
	if len(insts) == 0 {
		return echo.NewHTTPError(http.StatusNotFound, "no trace-log series (tracelog.*) in the store")
	}
	var charts []dashChart
	if inst := c.QueryParam("instance"); inst != "" {
		found := false
		for _, i := range insts {
			found = found || i == inst
		}
		if !found {
			return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("no trace-log instance %q", inst))
		}
		charts = dashboardSpecs([]string{inst}, false)
	} else {
		charts = dashboardSpecs(insts, true)
	}
	for _, ch := range charts {
		if ch.ID == c.Param("chart") {
			w, _ := strconv.Atoi(c.QueryParam("width"))
			return s.chart(c, ch.Spec, c.QueryParam("from"), c.QueryParam("to"), w)
		}
	}
	return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("no trace-log chart %q", c.Param("chart")))
}
