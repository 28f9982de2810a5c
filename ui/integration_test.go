package ui

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"rrdash/graph"
	"rrdash/ingest/tracelog"
	"rrdash/store"
	"rrdash/ui/demo"
)

// demoStore is a real store holding the demo generator's trace logs (two
// instances, 6 hours before testNow) ingested by the tracelog package.
func demoStore(t testing.TB) *store.DB {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	now := func() time.Time { return time.Unix(testNow, 0) }
	var paths []string
	for i, inst := range []string{"web1", "web2"} {
		p := filepath.Join(dir, inst+".log")
		ctx1, cancel := context.WithCancel(ctx)
		cancel() // history only
		if err := demo.New(p, 4+3*float64(i), 0.02, uint64(i+1)).Run(ctx1, now); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	db, err := store.Open(filepath.Join(dir, "data"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	sum, err := tracelog.Ingest(ctx, db, paths, tracelog.IngestOptions{Location: time.UTC, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows < 2*300 || sum.Failed > 0 {
		t.Fatalf("ingest: %d rows, %d failed", sum.Rows, sum.Failed)
	}
	return db
}

// browserStore is the store behind the browser test: real, with demo data.
func browserStore(t *testing.T) Store {
	t.Helper()
	return demoStore(t)
}

func TestRealStoreDashboards(t *testing.T) {
	t.Parallel()
	db := demoStore(t)
	ts := newTestServer(t, db)
	r := ts.do(t, "GET", "/", "", nil)
	if r.code != 200 {
		t.Fatalf("GET / = %d", r.code)
	}
	for _, all := range []bool{true, false} {
		for _, ch := range dashboardSpecs([]string{"web1", "web2"}[:map[bool]int{true: 2, false: 1}[all]], all) {
			d, err := graph.Evaluate(context.Background(), db, ch.Spec, graph.Options{Now: time.Unix(testNow, 0), Start: "-6h", Width: 600})
			if err != nil {
				t.Fatalf("%s: %v", ch.ID, err)
			}
			known := 0
			for _, it := range ch.Spec.Items {
				if it.Type != graph.ItemLine && it.Type != graph.ItemArea {
					continue
				}
				for _, v := range d.Columns[it.Vname] {
					if !math.IsNaN(v) {
						known++
					}
				}
			}
			if known < 100 {
				t.Errorf("%s (all=%v): only %d known values over 6 hours", ch.ID, all, known)
			}
		}
	}
	// The request rate of web1 matches the generator's mean (4/s shaped by the day).
	d, err := graph.Evaluate(context.Background(), db, dashboardSpecs([]string{"web1"}, false)[0].Spec,
		graph.Options{Now: time.Unix(testNow, 0), Start: "-5h", End: "-1h", Width: 600})
	if err != nil {
		t.Fatal(err)
	}
	if v := d.VDEFs["req_avg"].Value; !(v > 0.5 && v < 12) {
		t.Errorf("web1 average request rate %v", v)
	}
}

// yearStore is a real store with one series of 4 GAUGE data sources and a
// 1-minute archive covering a year, filled with a value per minute.
func yearStore(b testing.TB, end int64) *store.DB {
	b.Helper()
	db, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	const rows = 366 * 1440
	start := end - end%60 - rows*60
	spec, err := store.ParseSpecArgs(60, start, []string{
		"DS:a:GAUGE:120:U:U", "DS:b:GAUGE:120:U:U", "DS:c:GAUGE:120:U:U", "DS:d:GAUGE:120:U:U",
		"RRA:AVERAGE:0.5:1:" + strconv.Itoa(rows), "RRA:MAX:0.5:1:" + strconv.Itoa(rows)})
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Create("year", spec, false); err != nil {
		b.Fatal(err)
	}
	const batch = 20000
	for i := 0; i < rows; i += batch {
		var ups []store.Update
		for k := i; k < min(i+batch, rows); k++ {
			t := start + int64(k+1)*60
			v := 10 + math.Sin(float64(k)/720)
			ups = append(ups, store.Update{Series: "year", Time: t, Values: []string{
				fmt.Sprint(v), fmt.Sprint(2 * v), fmt.Sprint(3 * v), fmt.Sprint(4 * v)}})
		}
		res, err := db.Apply(context.Background(), store.Batch{Updates: ups, StopOnError: true})
		if err != nil || len(res.Errors) > 0 {
			b.Fatalf("apply: %v %v", err, res.Errors)
		}
	}
	return db
}

func yearSpec() *graph.Spec {
	s, _, err := graph.ParseArgs([]string{"-s", "-1y", "-w", "1000", "-h", "300",
		"DEF:a=year:a:AVERAGE", "DEF:b=year:b:AVERAGE", "DEF:c=year:c:AVERAGE", "DEF:d=year:d:MAX",
		"CDEF:sum=a,b,+,c,+,d,+", "VDEF:smax=sum,MAXIMUM", "VDEF:aavg=a,AVERAGE",
		"AREA:a#ff000080:a", "AREA:b#00ff0080:b:STACK", "LINE1:c#0000ff:c", "LINE2:d#000000:d", "LINE1:sum#888888:sum",
		"GPRINT:smax:max %6.2lf %s", "GPRINT:aavg:avg %6.2lf %s"})
	if err != nil {
		panic(err)
	}
	return s
}

// BenchmarkRealYearPageData: server time of a chart's page data (store
// fetch, rpn, echarts JSON) for one year at 1-minute resolution, 4 DS.
func BenchmarkRealYearPageData(b *testing.B) {
	end := int64(testNow)
	db := yearStore(b, end)
	s := yearSpec()
	b.ResetTimer()
	c0 := cpuTime()
	for b.Loop() {
		d, err := graph.Evaluate(context.Background(), db, s, graph.Options{Now: time.Unix(end, 0)})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := graph.EChart(s, d); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, c0)
}

// BenchmarkRealYearPNG: the same graph rendered as a PNG.
func BenchmarkRealYearPNG(b *testing.B) {
	end := int64(testNow)
	db := yearStore(b, end)
	s := yearSpec()
	b.ResetTimer()
	c0 := cpuTime()
	for b.Loop() {
		d, err := graph.Evaluate(context.Background(), db, s, graph.Options{Now: time.Unix(end, 0), MaxRows: 1000})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := graph.PNG(s, d, 1000, 300); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, c0)
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
