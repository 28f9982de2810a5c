package graph

import (
	"context"
	"fmt"
	"math"
	"strings"
	"syscall"
	"testing"
	"time"

	"rrdash/store"
)

// rowsFetcher serves one archive per series (fixed rows at one step) with
// `rrdtool fetch` alignment, for testing graph without the store.
type rowsFetcher struct {
	step, start int64 // row i ends at start+(i+1)*step
	ds          []string
	cols        [][]float64
}

func (f *rowsFetcher) Fetch(name string, req store.FetchRequest) (*store.FetchResult, error) {
	if name != "s" {
		return nil, fmt.Errorf("series %q does not exist", name)
	}
	start := req.Start - req.Start%f.step
	end := req.End + f.step - req.End%f.step
	n := int((end - start) / f.step)
	res := &store.FetchResult{Start: start, End: end, Step: f.step, DS: f.ds, CF: req.CF}
	for _, c := range f.cols {
		col := make([]float64, n)
		for i := range col {
			k := (start+int64(i+1)*f.step-f.start)/f.step - 1
			if k >= 0 && k < int64(len(c)) {
				col[i] = c[k]
			} else {
				col[i] = math.NaN()
			}
		}
		res.Values = append(res.Values, col)
	}
	return res, nil
}

// yearFetcher has one year of 1-minute rows for 4 data sources.
func yearFetcher(end int64) *rowsFetcher {
	const rows = 366 * 1440
	f := &rowsFetcher{step: 60, start: end - rows*60, ds: []string{"a", "b", "c", "d"}}
	for d := range 4 {
		c := make([]float64, rows)
		for i := range c {
			c[i] = float64(d+1) * (10 + math.Sin(float64(i)/720))
		}
		f.cols = append(f.cols, c)
	}
	return f
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	f := &rowsFetcher{step: 60, start: now.Unix() - now.Unix()%60 - 3600, ds: []string{"v"}}
	col := make([]float64, 60)
	for i := range col {
		col[i] = float64(i)
	}
	col[10] = math.NaN()
	f.cols = [][]float64{col}
	s, _, err := ParseArgs([]string{"-s", "-30min", "DEF:v=s:v:AVERAGE", "CDEF:w=v,2,*", "VDEF:wmax=w,MAXIMUM", "VDEF:wavg=w,AVERAGE",
		"LINE1:w#ff0000:w", "GPRINT:wmax:%4.0lf"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Evaluate(context.Background(), f, s, Options{Now: now, Width: 100})
	if err != nil {
		t.Fatal(err)
	}
	if d.Step != 60 || d.Rows() != 31 || d.Start != now.Unix()-1800-20 {
		t.Errorf("grid start %d step %d rows %d", d.Start, d.Step, d.Rows())
	}
	w := d.Columns["w"]
	// Row ending at the last full minute before now.
	last := w[d.Rows()-2]
	if last != 2*59 {
		t.Errorf("w at the last full row = %v, want 118", last)
	}
	if v := d.VDEFs["wmax"]; v.Value != 118 || v.Time != f.start+60*60 {
		t.Errorf("wmax = %+v", v)
	}
	if len(d.Sources) != 1 || d.Sources[0].Step != 60 || d.ResolutionLabel() != "step 1m · AVERAGE" {
		t.Errorf("sources %+v label %q", d.Sources, d.ResolutionLabel())
	}

	// A narrow chart reduces rows: 1 h at width 10 → at most 2×10 rows.
	s.Start = "-1h"
	d, err = Evaluate(context.Background(), f, s, Options{Now: now, Width: 10})
	if err != nil {
		t.Fatal(err)
	}
	if d.Step != 180 || d.Rows() > 22 {
		t.Errorf("reduced: step %d rows %d", d.Step, d.Rows())
	}

	// rpn errors keep their line and token.
	s.Defs[1].Expr = "v,2,*,+"
	_, err = Evaluate(context.Background(), f, s, Options{Now: now})
	var de *DefError
	if !asDefError(err, &de) || de.Line != 1 || de.Pos != 4 || de.Token != "+" {
		t.Errorf("bad CDEF: %v (%+v)", err, de)
	}
	s.Defs[1].Expr = "v,2,*"
	s.Defs[0].Series = "nope"
	if _, err := Evaluate(context.Background(), f, s, Options{Now: now}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("missing series: %v", err)
	}
}

func asDefError(err error, de **DefError) bool {
	e, ok := err.(*DefError)
	if ok {
		*de = e
	}
	return ok
}

// yearSpec draws 4 data sources of one year of 1-minute rows.
func yearSpec() *Spec {
	s, _, err := ParseArgs([]string{"-s", "-1y", "-w", "1000", "-h", "300",
		"DEF:a=s:a:AVERAGE", "DEF:b=s:b:AVERAGE", "DEF:c=s:c:AVERAGE", "DEF:d=s:d:AVERAGE",
		"CDEF:sum=a,b,+,c,+,d,+", "VDEF:smax=sum,MAXIMUM", "VDEF:savg=a,AVERAGE",
		"AREA:a#ff000080:a", "AREA:b#00ff0080:b:STACK", "LINE1:c#0000ff:c", "LINE2:d#000000:d", "LINE1:sum#888888:sum",
		"GPRINT:smax:max %6.2lf %s", "GPRINT:savg:avg %6.2lf %s"})
	if err != nil {
		panic(err)
	}
	return s
}

// BenchmarkYearPageData is the server time for a chart's page data: one
// year of 1-minute rows, 4 data sources, evaluated and turned into echarts JSON.
func BenchmarkYearPageData(b *testing.B) {
	now := time.Unix(1_700_000_000, 0)
	f := yearFetcher(now.Unix())
	s := yearSpec()
	b.ReportAllocs()
	c0 := cpuTime()
	for b.Loop() {
		d, err := Evaluate(context.Background(), f, s, Options{Now: now})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := EChart(s, d); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, c0)
}

// BenchmarkYearPNG is the PNG render of the same graph.
func BenchmarkYearPNG(b *testing.B) {
	now := time.Unix(1_700_000_000, 0)
	f := yearFetcher(now.Unix())
	s := yearSpec()
	b.ReportAllocs()
	c0 := cpuTime()
	for b.Loop() {
		d, err := Evaluate(context.Background(), f, s, Options{Now: now, MaxRows: 1000})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := PNG(s, d, 1000, 300); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, c0)
}

func TestYearPointsBounded(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	s := yearSpec()
	d, err := Evaluate(context.Background(), yearFetcher(now.Unix()), s, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if d.Rows() > 2*1000+2 {
		t.Errorf("%d rows for a 1000 px chart", d.Rows())
	}
	if d.Sources[0].Step < 365*86400/2000 {
		t.Errorf("step %d", d.Sources[0].Step)
	}
}

// cpuTime is the process's CPU time: benchmarks report it per op as well,
// since wall time on a shared machine says little.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, c0 time.Duration) {
	b.ReportMetric(float64(cpuTime()-c0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// TestEvaluateShiftAndMissing: SHIFT moves a DEF by whole steps (a VDEF's
// value or seconds; the last SHIFT of a variable wins, as rrdtool's
// data_calc), and --use-nan-for-all-missing-data turns a DEF of a missing
// series into unknown rows instead of an error.
func TestEvaluateShiftAndMissing(t *testing.T) {
	t.Parallel()
	const start = 1700000000 - 1700000000%60
	vals := make([]float64, 100)
	for i := range vals {
		vals[i] = float64(i)
	}
	f := &rowsFetcher{step: 60, start: start, ds: []string{"v"}, cols: [][]float64{vals}}
	s, _, err := ParseArgs([]string{"--start", fmt.Sprint(start), "--end", fmt.Sprint(start + 60*60), "-w", "60",
		"DEF:a=s:v:AVERAGE", "DEF:b=s:v:AVERAGE", "SHIFT:b:9999", "SHIFT:b:150", "CDEF:k=a,0,*,75,+", "VDEF:two=k,MAXIMUM", "DEF:c=s:v:AVERAGE", "SHIFT:c:two",
		"DEF:m=gone:v:AVERAGE", "LINE1:a#ff0000", "LINE1:b#00ff00", "LINE1:c#0000ff", "LINE1:m#000000"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Evaluate(context.Background(), f, s, Options{MaxRows: 60}); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Fatalf("a missing series: err = %v", err)
	}
	s.NaNForMissing = true
	d, err := Evaluate(context.Background(), f, s, Options{MaxRows: 60})
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := d.Columns["a"], d.Columns["b"], d.Columns["c"]
	for i := 10; i < 50; i++ {
		// 150 s is 2 whole steps; the VDEF, 75 s, is 1
		if b[i] != a[i-2] || c[i] != a[i-1] {
			t.Fatalf("row %d: a %v, b %v (want a[-2] %v), c %v (want a[-1] %v)", i, a[i], b[i], a[i-2], c[i], a[i-1])
		}
	}
	for i, v := range d.Columns["m"] {
		if !math.IsNaN(v) {
			t.Fatalf("missing series row %d = %v, want NaN", i, v)
		}
	}
}

// TestHugeStepsRefused: a --step or a DEF's step= too large for time
// arithmetic is an error, not a panic (grid rows were indexed with an
// overflowed step).
func TestHugeStepsRefused(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"o.png", "--step", "4611686018427387904", "DEF:v=s:v:AVERAGE", "LINE1:v#ff0000"},
		{"o.png", "DEF:v=s:v:AVERAGE:step=4611686018427387904", "LINE1:v#ff0000"},
		{"o.png", "DEF:v=s:v:AVERAGE:step=9223372036854775807", "LINE1:v#ff0000"},
	} {
		s, _, err := ParseArgs(args)
		if err == nil {
			_, err = Compile(s)
		}
		if err == nil || !strings.Contains(err.Error(), "step") || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("%q: %v, want a step out of range", args, err)
		}
	}
	s, _, err := ParseArgs([]string{"o.png", "--step", "4294967296", "DEF:v=s:v:AVERAGE:step=86400", "LINE1:v#ff0000"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(s); err != nil {
		t.Errorf("the largest step: %v", err)
	}
}
