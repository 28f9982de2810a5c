package graph

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// AssetsHost is where the embedded echarts.min.js is served (ui embeds it).
const AssetsHost = "/assets/"

// Chart is what a page needs to draw a graph: the echarts option object,
// the rrdtool-style legend and the resolution label.
type Chart struct {
	Options    json.RawMessage `json:"options"`
	Legend     []LegendEntry   `json:"legend"`
	Resolution string          `json:"resolution"`
	Start      int64           `json:"start"`
	End        int64           `json:"end"`
	Step       int64           `json:"step"`
	Sources    []SourceInfo    `json:"sources"`
}

// points marshals a column as [[ms, v], …] with null for unknown values,
// the compact form echarts takes for a time axis. Written by hand because
// it is the bulk of every response.
type points struct {
	start, step int64
	values      []float64
}

func (p points) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 24*len(p.values)+2)
	b = append(b, '[')
	for i, v := range p.values {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, (p.start+int64(i+1)*p.step)*1000, 10)
		b = append(b, ',')
		if math.IsNaN(v) || math.IsInf(v, 0) {
			b = append(b, "null"...)
		} else {
			b = strconv.AppendFloat(b, v, 'g', 8, 64)
		}
		b = append(b, ']')
	}
	return append(b, ']'), nil
}

func boolp(b bool) *bool { return &b }

// Markers are events drawn on a chart as vertical lines, such as the failed
// runs of a code monitor. They come from outside the spec (the events are
// not series), share one legend entry, Name, and can be hidden with it.
type Markers struct {
	Name   string
	Color  string // #rrggbb; "" means red
	Events []Marker
}

// Marker is one event.
type Marker struct {
	Time  int64  `json:"time"`  // Unix seconds
	Label string `json:"label"` // shown on the line's tooltip
}

// maxMarkers bounds the lines of one marker set; beyond it the latest are drawn.
const maxMarkers = 500

// EChart builds the echarts options for an evaluated spec with go-echarts:
// a time axis, zoom (inside + slider), axis tooltips, legends, stacking
// (an rrdtool STACK joins the previous item's stack group, so tooltips show
// each item's own value), rules as mark lines, and markers as vertical mark
// lines, those outside the data's time range left out.
func EChart(s *Spec, d *Data, markers ...Markers) (*Chart, error) {
	items, err := layout(s, d)
	if err != nil {
		return nil, err
	}
	line := charts.NewLine()
	line.SetGlobalOptions(
		charts.WithInitializationOpts(opts.Initialization{AssetsHost: AssetsHost}),
		charts.WithTitleOpts(opts.Title{Title: s.Title, Subtitle: d.ResolutionLabel()}),
		charts.WithTooltipOpts(opts.Tooltip{Show: boolp(true), Trigger: "axis"}),
		// Below the title and subtitle: beside them, long titles ran into it.
		charts.WithLegendOpts(opts.Legend{Show: boolp(true), Type: "scroll", Top: "40", Left: "10", Right: "10"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "time"}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: s.VLabel, Min: floatOrNil(s.Lower), Max: floatOrNil(s.Upper)}),
		charts.WithDataZoomOpts(opts.DataZoom{Type: "inside"}, opts.DataZoom{Type: "slider"}),
		charts.WithGridOpts(opts.Grid{Left: "60", Right: "30", Top: "90", Bottom: "80"}),
		charts.WithAnimation(false),
	)
	for _, dr := range items {
		so := []charts.SeriesOpts{
			charts.WithLineChartOpts(opts.LineChart{ShowSymbol: boolp(false), Stack: dr.stack, Step: "end"}),
			charts.WithLineStyleOpts(opts.LineStyle{Color: dr.item.Color, Width: float32(lineWidth(dr.item)), Type: dashType(dr.item)}),
		}
		if dr.item.Color != "" {
			so = append(so, charts.WithItemStyleOpts(opts.ItemStyle{Color: dr.item.Color}))
		}
		if dr.item.Type == ItemArea {
			so = append(so, charts.WithAreaStyleOpts(opts.AreaStyle{Color: dr.item.Color, Opacity: opacity(0.6)}))
		}
		line.AddSeries(dr.name, nil, so...)
		line.MultiSeries[len(line.MultiSeries)-1].Data = points{start: d.Start, step: d.Step, values: dr.values}
	}
	// Rules ride on an empty series each so they get their own legend entry.
	for _, it := range s.Items {
		if it.Type != ItemHRule && it.Type != ItemVRule {
			continue
		}
		pos, ok := rulePos(it, d)
		if !ok {
			continue
		}
		name := it.LegendLabel()
		if name == "" {
			name = it.Type
		}
		var ml charts.SeriesOpts
		if it.Type == ItemHRule {
			ml = charts.WithMarkLineNameYAxisItemOpts(opts.MarkLineNameYAxisItem{Name: name, YAxis: pos})
		} else {
			ml = charts.WithMarkLineNameXAxisItemOpts(opts.MarkLineNameXAxisItem{Name: name, XAxis: int64(pos) * 1000})
		}
		line.AddSeries(name, nil,
			charts.WithItemStyleOpts(opts.ItemStyle{Color: it.Color}),
			ml,
			charts.WithMarkLineStyleOpts(opts.MarkLineStyle{Symbol: []string{"none", "none"},
				LineStyle: &opts.LineStyle{Color: it.Color, Width: 1, Type: dashType(it)}}),
		)
		line.MultiSeries[len(line.MultiSeries)-1].Data = []any{}
	}
	for _, ms := range markers {
		color := ms.Color
		if color == "" {
			color = "#d62728"
		}
		if !validColor(color) {
			return nil, fmt.Errorf("markers %q: color %q: want #rrggbb", ms.Name, color)
		}
		var items []opts.MarkLineNameXAxisItem
		for _, ev := range ms.Events {
			if ev.Time >= d.Start && ev.Time <= d.End {
				items = append(items, opts.MarkLineNameXAxisItem{Name: ev.Label, XAxis: ev.Time * 1000})
			}
		}
		if len(items) > maxMarkers {
			items = items[len(items)-maxMarkers:]
		}
		line.AddSeries(ms.Name, nil,
			charts.WithItemStyleOpts(opts.ItemStyle{Color: color}),
			charts.WithMarkLineNameXAxisItemOpts(items...),
			charts.WithMarkLineStyleOpts(opts.MarkLineStyle{Symbol: []string{"none", "none"},
				Label:     &opts.Label{Show: boolp(false)},
				LineStyle: &opts.LineStyle{Color: color, Width: 1, Type: "dashed"}}),
		)
		line.MultiSeries[len(line.MultiSeries)-1].Data = []any{}
	}
	line.Validate()
	b, err := json.Marshal(line.JSON())
	if err != nil {
		return nil, fmt.Errorf("echarts options: %w", err)
	}
	legend, err := Legend(s, d)
	if err != nil {
		return nil, err
	}
	return &Chart{Options: b, Legend: legend, Resolution: d.ResolutionLabel(),
		Start: d.Start, End: d.End, Step: d.Step, Sources: d.Sources}, nil
}

// ScriptURLs are the script URLs go-echarts wants for a line chart, under AssetsHost.
func ScriptURLs() []string {
	line := charts.NewLine()
	line.SetGlobalOptions(charts.WithInitializationOpts(opts.Initialization{AssetsHost: AssetsHost}))
	line.Validate()
	return append([]string(nil), line.GetAssets().JSAssets.Values...)
}

func floatOrNil(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

func opacity(f float32) *float32 { return &f }

func lineWidth(it Item) float64 {
	if it.Type == ItemArea {
		if it.Width > 0 {
			return it.Width
		}
		return 0.5
	}
	if it.Width <= 0 {
		return 1
	}
	return it.Width
}

func dashType(it Item) string {
	if it.Dashes {
		return "dashed"
	}
	return ""
}
