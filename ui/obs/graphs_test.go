package obs

import (
	"context"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"rrdash/graph"
	"rrdash/store"
	"rrdash/store/meta"
)

// The preinstalled graphs install once per title and evaluate over a real
// store; the failed-requests graph adds up the errors of every route.
func TestSelfGraphsInstallAndEvaluate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "data"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	md, err := meta.Open(ctx, filepath.Join(dir, "metadata.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close()
	for range 2 { // the second start finds them and adds none
		if err := InstallGraphs(ctx, md); err != nil {
			t.Fatal(err)
		}
	}
	saved, err := md.ListGraphs(ctx, meta.ListQuery{Owner: "rrdash", Limit: 100})
	specs, series := SelfGraphs()
	if err != nil || len(saved) != len(specs) {
		t.Fatalf("%d installed graphs, %v; want %d", len(saved), err, len(specs))
	}

	const t0 = 1_700_000_040 // a step boundary
	sm := NewSelfMon(db, SelfMonConfig{})
	errs := []string{ErrorSeriesName("GET:/g/{id}", 500, "internal_server_error"), ErrorSeriesName("POST:/api/v1/write", 503, "unavailable"),
		ErrorSeriesName(Unmatched, 404, "not_found")}
	if err := sm.Precreate(t0, append(series, errs...)...); err != nil {
		t.Fatal(err)
	}
	var b store.Batch
	for k := int64(1); k <= 30; k++ {
		for i, name := range errs {
			sp, err := db.Spec(name)
			if err != nil {
				t.Fatal(err)
			}
			vals := make([]string, len(sp.DS))
			for d := range vals {
				vals[d] = "1"
			}
			vals[0] = strconv.Itoa(int(k) + i) // count is the first data source
			b.Updates = append(b.Updates, store.Update{Series: name, Time: t0 + 60*k, Values: vals})
		}
	}
	if _, err := db.Apply(ctx, b); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(t0+60*30, 0)
	for _, sp := range specs {
		sp.Start = "-30min" // one-minute rows, as stored
		d, err := graph.Evaluate(ctx, db, &sp, graph.Options{Now: now})
		if err != nil {
			t.Fatalf("%s: %v", sp.Title, err)
		}
		if !strings.Contains(sp.Title, "failed requests") {
			continue
		}
		c5, c4 := d.Columns["c5"], d.Columns["c4"]
		checked := 0
		for i := range d.Rows() {
			k := (d.Time(i) - t0) / 60
			if k < 2 || k > 30 {
				continue
			}
			// 5xx: k (GET /g/{id}) + k+1 (POST write); 4xx: k+2 (unmatched)
			if c5[i] != float64(2*k+1) || c4[i] != float64(k+2) {
				t.Errorf("row %d: 5xx %v, 4xx %v; want %d, %d", k, c5[i], c4[i], 2*k+1, k+2)
			}
			checked++
		}
		if checked < 25 {
			t.Errorf("%d rows checked in %d rows of step %d", checked, d.Rows(), d.Step)
		}
		if math.IsNaN(c5[d.Rows()-1]) {
			t.Errorf("the last row of 5xx is unknown")
		}
	}
}
