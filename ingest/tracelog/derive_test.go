package tracelog

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDeriveCases(t *testing.T) {
	t.Parallel()
	nan := math.NaN()
	type want map[string]float64 // DS → value in the first step (15:00)
	tests := []struct {
		name   string
		cfg    DeriverConfig
		lines  []string
		series string
		step0  want
		step1  want // the second step, if checked
		late   int64
	}{
		{name: "Zope 2 -M: backlog is B→A, no service time", lines: []string{
			"B 1 2009-07-30T15:00:10 GET /",
			"I 1 2009-07-30T15:00:10 0",
			"A 1 2009-07-30T15:00:40 200 5",
			"E 1 2009-07-30T15:00:40 ",
		}, step0: want{"requests": 1.0 / 60, "arrivals": 1.0 / 60, "backlog": 0.5, "backlog_max": 1, "active": 0.5,
			"maxrate": nan, "wait_p50": 30, "service_p50": nan, "response_p99": 30}},
		{name: "zservertracelog: wait I→C, service C→A, maxrate", lines: []string{
			"B 1 2009-07-30 15:00:10.000000 GET /",
			"I 1 2009-07-30 15:00:10.5 0",
			"B 2 2009-07-30 15:00:11.000000 GET /",
			"C 1 2009-07-30 15:00:12.5",
			"I 2 2009-07-30 15:00:13 0",
			"A 1 2009-07-30 15:00:16.5 500 5",
			"E 1 2009-07-30 15:00:17",
			"C 2 2009-07-30 15:00:16.5",
			"A 2 2009-07-30 15:00:22.5 200 5",
			"E 2 2009-07-30 15:00:23 Error: late failure",
		}, step0: want{"requests": 2.0 / 60, "arrivals": 2.0 / 60, "errors": 2.0 / 60,
			// waiting: 1 from 10.5 to 12.5, 2 from 13 to 16.5
			"backlog": 5.5 / 60, "backlog_max": 1,
			"active": (7 + 12) / 60.0,
			// threads inferred 1 (in app while 2 waited); Σbusy 4 + 6 s
			"maxrate":  1 * 2 / 10.0,
			"wait_p50": 2, "wait_p95": 3.5, "service_p50": 4, "service_p99": 6, "response_p50": 7, "response_p95": 12}},
		{name: "S resets the process", lines: []string{
			"B 1 2009-07-30 15:00:10 GET /",
			"C 1 2009-07-30 15:00:20",
			"S 0 2009-07-30 15:00:40",
			"E 1 2009-07-30 15:01:40",
		}, step0: want{"requests": 0, "active": 0.5, "backlog": 0, "maxrate": 0},
			step1: want{"requests": 1.0 / 60, "active": 0, "maxrate": nan}},
		{name: "lost requests expire", cfg: DeriverConfig{MaxAge: 60}, lines: []string{
			"B 1 2009-07-30 15:00:10 GET /",
			"B 2 2009-07-30 15:02:30 GET /",
			"E 2 2009-07-30 15:02:31",
		}, step0: want{"active": 50.0 / 60}, step1: want{"active": (60 - 1e-6) / 60}},
		{name: "records out of order within the grace", lines: []string{
			"Jul 30 15:00:58 web1 zope[1]: B 1 2009-07-30 15:00:58 GET /",
			"Jul 30 15:01:02 web1 zope[1]: E 1 2009-07-30 15:01:02",
			"Jul 30 15:00:59 web1 zope[2]: B 9 2009-07-30 15:00:59 GET /",
			"Jul 30 15:01:03 web1 zope[2]: E 9 2009-07-30 15:00:59.5",
		}, series: "tracelog.web1.zope",
			step0: want{"arrivals": 2.0 / 60, "requests": 1.0 / 60, "active": 2.5 / 60},
			step1: want{"requests": 1.0 / 60, "active": 2.0 / 60}},
		{name: "late records are counted, not folded", lines: []string{
			"B 1 2009-07-30 15:00:10 GET /",
			"E 1 2009-07-30 15:01:20",
			"B 2 2009-07-30 15:00:20 GET /",
		}, step0: want{"arrivals": 1.0 / 60}, late: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "x.log")
			if err := os.WriteFile(path, []byte(strings.Join(tc.lines, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg := tc.cfg
			cfg.Step, cfg.Grace = 60, 10
			rows, st := deriveFiles(t, cfg, time.UTC, "x", path)
			name := tc.series
			if name == "" {
				name = "tracelog.x"
			}
			got := rows[name]
			if len(got) == 0 {
				t.Fatalf("no rows for %s: %v", name, rows)
			}
			if st.Bad != 0 || st.Late != tc.late {
				t.Errorf("stats %+v, want late %d", st, tc.late)
			}
			base := time.Date(2009, 7, 30, 15, 1, 0, 0, time.UTC).Unix()
			for i, w := range []want{tc.step0, tc.step1} {
				var row *Row
				for k := range got {
					if got[k].End == base+int64(i)*60 {
						row = &got[k]
					}
				}
				if len(w) > 0 && row == nil {
					t.Fatalf("no row for step %d: %v", i, got)
				}
				for ds, v := range w {
					if g := val(t, *row, ds); !near(g, v) {
						t.Errorf("step %d %s = %v, want %v", i, ds, g, v)
					}
				}
			}
		})
	}
}
