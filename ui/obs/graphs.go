package obs

import (
	"context"
	"encoding/json"
	"fmt"

	"rrdash/graph"
	"rrdash/store/meta"
)

// SelfGraphs are the preinstalled "rrdash itself" graphs and the series
// they read (created empty at start so the graphs work at once).
func SelfGraphs() ([]graph.Spec, []string) {
	page := RequestSeriesName("GET:/g/{id}", 200)
	dash := RequestSeriesName("GET:/", 200)
	builder := RequestSeriesName("GET:/metrics", 200)
	write := RequestSeriesName("POST:/api/v1/write", 204)
	// Every route's errors of a class, summed (a DEF over a tag query).
	clientErrors := "seriesByTag('name=rrdash.errors','status_code=~4..')"
	serverErrors := "seriesByTag('name=rrdash.errors','status_code=~5..')"
	def := func(name, series, ds, cf string) graph.Def {
		return graph.Def{Kind: graph.KindDEF, Name: name, Series: series, DS: ds, CF: cf}
	}
	line := func(v, color, legend string) graph.Item {
		return graph.Item{Type: graph.ItemLine, Width: 1, Vname: v, Color: color, Legend: legend}
	}
	area := func(v, color, legend string, stack bool) graph.Item {
		return graph.Item{Type: graph.ItemArea, Vname: v, Color: color, Legend: legend, Stack: stack}
	}
	specs := []graph.Spec{
		{
			Title: "rrdash itself: page requests per minute", VLabel: "requests/min", Start: "-1d",
			Defs: []graph.Def{def("dash", dash, "count", "AVERAGE"), def("page", page, "count", "AVERAGE"), def("builder", builder, "count", "AVERAGE")},
			Items: []graph.Item{area("dash", "#4E79A7", "GET / (dashboards)", false), area("page", "#F28E2B", "GET /g/{id} (saved graph)", true),
				area("builder", "#59A14F", "GET /metrics (builder)", true)},
		},
		{
			Title: "rrdash itself: saved graph latency (GET /g/{id})", VLabel: "ms", Start: "-1d",
			Defs:  []graph.Def{def("p50", page, "p50", "AVERAGE"), def("p90", page, "p90", "AVERAGE"), def("p99", page, "p99", "AVERAGE"), def("max", page, "max", "MAX")},
			Items: []graph.Item{line("p50", "#4E79A7", "p50"), line("p90", "#F28E2B", "p90"), line("p99", "#E15759", "p99"), line("max", "#79706E", "max")},
		},
		{
			Title: "rrdash itself: push writes (POST /api/v1/write)", VLabel: "ms / requests per minute", Start: "-1d",
			Defs:  []graph.Def{def("n", write, "count", "AVERAGE"), def("p99", write, "p99", "AVERAGE")},
			Items: []graph.Item{area("n", "#59A14F", "writes per minute", false), line("p99", "#E15759", "p99 ms (durable)")},
		},
		{
			Title: "rrdash itself: failed requests per minute", VLabel: "errors/min", Start: "-1d",
			Defs:  []graph.Def{def("c4", clientErrors, "count", "AVERAGE"), def("c5", serverErrors, "count", "AVERAGE")},
			Items: []graph.Item{area("c4", "#EDC948", "4xx (all routes)", false), area("c5", "#E15759", "5xx (all routes)", true)},
		},
	}
	return specs, []string{page, dash, builder, write}
}

// InstallGraphs creates the preinstalled graphs, owned by the system user
// "rrdash" (issuer "system"; its graphs are listed at /u/rrdash), unless a graph of that user with the same title exists (so a
// user's deletion of one is undone at the next start, an edit is kept).
func InstallGraphs(ctx context.Context, md *meta.DB) error {
	u, err := md.EnsureUser(ctx, meta.User{Handle: "rrdash", Issuer: "system", Subject: "rrdash", Name: "rrdash itself"})
	if err != nil {
		return fmt.Errorf("self-monitoring graphs: %w", err)
	}
	have, err := md.ListGraphs(ctx, meta.ListQuery{Owner: u.Handle, Limit: 500})
	if err != nil {
		return fmt.Errorf("self-monitoring graphs: %w", err)
	}
	titles := map[string]bool{}
	for _, g := range have {
		titles[g.Title] = true
	}
	specs, _ := SelfGraphs()
	for _, sp := range specs {
		if titles[sp.Title] {
			continue
		}
		if err := sp.Validate(); err != nil {
			return fmt.Errorf("self-monitoring graph %q: %w", sp.Title, err)
		}
		b, err := json.Marshal(sp)
		if err != nil {
			return err
		}
		if _, err := md.CreateGraph(ctx, u, sp.Title, string(b)); err != nil {
			return fmt.Errorf("self-monitoring graph %q: %w", sp.Title, err)
		}
	}
	return nil
}
