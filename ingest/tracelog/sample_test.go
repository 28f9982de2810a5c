package tracelog

import (
	"context"
	"math"
	"strconv"
	"testing"
	"time"
)

// deriveFiles runs the parser and deriver over files, closing the last step
// at the end, and returns the rows by series.
func deriveFiles(t *testing.T, cfg DeriverConfig, loc *time.Location, instance string, paths ...string) (map[string][]Row, Stats) {
	t.Helper()
	d := NewDeriver(cfg, nil)
	f := &feeder{d: d, now: time.Now, future: 24 * time.Hour}
	var total Stats
	for i, p := range paths {
		src := newSource(int32(i), p, loc, instance, DefaultNaming, true)
		if _, err := ingestFile(context.Background(), f, src, func(int64) error { return nil }); err != nil {
			t.Fatal(err)
		}
		total.add(src.stats)
	}
	d.Flush()
	out := map[string][]Row{}
	for _, r := range d.Rows() {
		out[r.Series] = append(out[r.Series], r)
	}
	return out, total
}

func val(t *testing.T, r Row, ds string) float64 {
	t.Helper()
	for i, n := range DSNames {
		if n == ds {
			if r.Values[i] == "U" {
				return math.NaN()
			}
			v, err := strconv.ParseFloat(r.Values[i], 64)
			if err != nil {
				t.Fatalf("%s at %d: %v", ds, r.End, err)
			}
			return v
		}
	}
	t.Fatalf("no DS %s", ds)
	return 0
}

// TestSharedSample checks the real zc.zservertracelog sample against the
// per-minute counts of zc.zservertracelog's tracereport.
func TestSharedSample(t *testing.T) {
	t.Parallel()
	rows, st := deriveFiles(t, DeriverConfig{Step: 60, Grace: 10}, time.UTC, "", "../../fixtures/zc-sample-trace.log")
	got := rows["tracelog.zc-sample-trace"]
	if len(got) != 8 {
		t.Fatalf("got %d rows, want 8 (15:47 … 15:54): %v", len(got), rows)
	}
	// tracereport counts completed requests whose B it saw, by the minute of
	// E; `requests` counts every E record, so 15:47 has one more: the
	// request the log starts in the middle of.
	tracereport := []float64{1, 3, 4, 2, 5, 8, 11, 6}
	arrivals := []float64{2, 4, 2, 4, 6, 8, 11, 5}
	errs := []float64{0, 0, 1, 0, 0, 0, 0, 0}
	start := time.Date(2009, 7, 30, 15, 48, 0, 0, time.UTC).Unix()
	var sumReq, sumErr float64
	for i, r := range got {
		if r.End != start+int64(i)*60 {
			t.Errorf("row %d ends at %d, want %d", i, r.End, start+int64(i)*60)
		}
		want := tracereport[i]
		if i == 0 {
			want++
		}
		if g := val(t, r, "requests") * 60; math.Abs(g-want) > 1e-9 {
			t.Errorf("minute %d: requests×60 = %v, want %v", i, g, want)
		}
		if g := val(t, r, "arrivals") * 60; math.Abs(g-arrivals[i]) > 1e-9 {
			t.Errorf("minute %d: arrivals×60 = %v, want %v", i, g, arrivals[i])
		}
		if g := val(t, r, "errors") * 60; math.Abs(g-errs[i]) > 1e-9 {
			t.Errorf("minute %d: errors×60 = %v, want %v", i, g, errs[i])
		}
		sumReq += val(t, r, "requests") * 60
		sumErr += val(t, r, "errors") * 60
	}
	if math.Round(sumReq) != 41 || math.Round(sumErr) != 1 {
		t.Errorf("totals: %v requests, %v errors; want 41 E records, one 500", sumReq, sumErr)
	}
	if st.Lines != 209 || st.Bad != 0 || st.Custom != 1 || st.Records != 208 {
		t.Errorf("stats %+v, want 209 lines, 208 records, 1 custom (D), 0 bad", st)
	}
	// 15:49: request 0.-1452075572 waited I 15:49:23.568230 → C 15:49:25.152746.
	r := got[2]
	if w := val(t, r, "wait_p95"); math.IsNaN(w) || w < 1.5 {
		t.Errorf("15:49 wait_p95 = %v, want ≥ 1.5 s", w)
	}
	if m := val(t, r, "backlog_max"); m < 1 {
		t.Errorf("15:49 backlog_max = %v, want ≥ 1", m)
	}
	for _, r := range got {
		t.Logf("%s %v", time.Unix(r.End-60, 0).UTC().Format("15:04"), r.Values)
	}
}
