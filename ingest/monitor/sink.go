package monitor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"rrdash/store"
)

// Sink is where run results go; *store.DB satisfies it.
type Sink interface {
	Ensure(name string, spec store.Spec) (bool, error)
	Apply(ctx context.Context, b store.Batch) (store.Result, error)
}

// SeriesName is the series of a monitor's runs: DS runtime, exit_status, ok.
func SeriesName(monitor string) string { return "monitor." + monitor }

// MetricSeriesName is the series of one custom metric: DS value.
func MetricSeriesName(monitor, metric string) string { return "monitor." + monitor + "." + metric }

// Archives keep every run for two days and hourly average, min and max for
// ninety days. The heartbeat is two intervals so that one late run does not
// leave a gap, but a missed run does.
func specFor(interval int64, start int64, ds ...store.DS) store.Spec {
	step := max(interval, 1)
	rows := func(span int64, steps int64) int64 { return max(span/(step*steps), 1) }
	hour := max(3600/step, 1)
	return store.Spec{
		Step:  step,
		Start: start,
		DS:    ds,
		RRA: []store.RRA{
			{CF: store.Average, XFF: 0.5, Steps: 1, Rows: rows(2*86400, 1)},
			{CF: store.Average, XFF: 0.5, Steps: hour, Rows: rows(90*86400, hour)},
			{CF: store.Min, XFF: 0.5, Steps: hour, Rows: rows(90*86400, hour)},
			{CF: store.Max, XFF: 0.5, Steps: hour, Rows: rows(90*86400, hour)},
		},
	}
}

func gauge(name string, hb int64, lo, hi float64) store.DS {
	return store.DS{Name: name, Type: store.Gauge, Heartbeat: hb, Min: lo, Max: hi}
}

// RunSpec is the spec of a monitor's run series.
func RunSpec(interval, start int64) store.Spec {
	hb := 2 * max(interval, 1)
	return specFor(interval, start,
		gauge("runtime", hb, 0, math.NaN()),
		gauge("exit_status", hb, 0, 255),
		gauge("ok", hb, 0, 1))
}

// MetricSpec is the spec of a custom metric series.
func MetricSpec(interval, start int64) store.Spec {
	return specFor(interval, start, gauge("value", 2*max(interval, 1), math.NaN(), math.NaN()))
}

// Record writes a run to the sink: the run series and one series per custom
// metric, each created on first sight. The updates are applied in one batch.
func Record(ctx context.Context, sink Sink, m *Monitor, res Result) error {
	end := res.Start.Add(res.Runtime)
	interval := int64(m.Def.Interval.Seconds())
	// Series start at the step boundary before the first run they record,
	// so that the first run's row is whole.
	step := max(interval, 1)
	start := (res.Start.Unix() - 1) / step * step
	at := func(series string, values ...string) store.Update {
		return store.Update{Series: series, Time: end.Unix(), Usec: int64(end.Nanosecond() / 1000), Values: values}
	}
	name := SeriesName(m.Name())
	if _, err := sink.Ensure(name, RunSpec(interval, start)); err != nil {
		return fmt.Errorf("monitor %s: creating series %s: %w", m.Name(), name, err)
	}
	runtime, exit := "U", "U"
	if res.Outcome != Error {
		runtime = strconv.FormatFloat(res.Runtime.Seconds(), 'f', 6, 64)
		if res.ExitStatus >= 0 && res.ExitStatus <= 255 {
			exit = strconv.Itoa(res.ExitStatus)
		}
	}
	ok := "0"
	if res.Outcome == OK {
		ok = "1"
	}
	batch := store.Batch{Updates: []store.Update{at(name, runtime, exit, ok)}}
	metrics := res.Metrics
	if u := res.Usage; u != nil {
		// The cgroup's measures are recorded beside the script's own.
		metrics = append(slices.Clip(metrics),
			Metric{Name: "sandbox_peak_memory_bytes", Value: float64(u.PeakMemory)},
			Metric{Name: "sandbox_cpu_seconds", Value: u.CPUSeconds})
	}
	for _, mt := range metrics {
		series := MetricSeriesName(m.Name(), mt.Name)
		if _, err := sink.Ensure(series, MetricSpec(interval, start)); err != nil {
			return fmt.Errorf("monitor %s: creating series %s: %w", m.Name(), series, err)
		}
		batch.Updates = append(batch.Updates, at(series, strconv.FormatFloat(mt.Value, 'g', -1, 64)))
	}
	r, err := sink.Apply(ctx, batch)
	if err != nil {
		return fmt.Errorf("monitor %s: storing run of %s: %w", m.Name(), res.Start.Format("2006-01-02T15:04:05Z07:00"), err)
	}
	var errs []error
	for _, e := range r.Errors {
		errs = append(errs, fmt.Errorf("monitor %s: series %s: %w", m.Name(), batch.Updates[e.Index].Series, e.Err))
	}
	return errors.Join(errs...)
}
