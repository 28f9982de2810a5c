package tracelog

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestIngestSample ingests the shared sample twice: the second run finds the
// series written and adds nothing.
func TestIngestSample(t *testing.T) {
	t.Parallel()
	sink := newMemSink()
	ctx := context.Background()
	var progress []int64
	opt := IngestOptions{Instance: "zc", Location: time.UTC, Progress: func(done, total int64) { progress = append(progress, done) }}
	sum, err := Ingest(ctx, sink, []string{"../../fixtures/zc-sample-trace.log"}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows != 8 || len(sum.Series) != 1 || sum.Series[0] != "tracelog.zc" || sum.Total.Records != 208 || sum.Total.Bad != 0 {
		t.Fatalf("summary %+v", sum)
	}
	if len(progress) == 0 || progress[len(progress)-1] != 10850 {
		t.Errorf("progress %v, want it to end at the file size", progress)
	}
	rows := sink.rows("tracelog.zc")
	want := []float64{2, 3, 4, 2, 5, 8, 11, 6}
	t0 := time.Date(2009, 7, 30, 15, 48, 0, 0, time.UTC).Unix()
	for i, w := range want {
		r, ok := rows[t0+int64(i)*60]
		if !ok || math.Abs(r[0]*60-w) > 1e-9 {
			t.Errorf("minute %d: row %v, want requests %v/60", i, r, w)
		}
	}
	sum, err = Ingest(ctx, sink, []string{"../../fixtures/zc-sample-trace.log"}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows != 0 || sum.Failed != 0 {
		t.Errorf("second ingest wrote %d rows (%d refused), want none", sum.Rows, sum.Failed)
	}
}

// TestIngestBadLines: bad lines are counted and reported with file:line, never fatal.
func TestIngestBadLines(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "web9.log")
	text := strings.Join([]string{
		"B 1 2026-01-01 10:00:00.1 GET /",
		"garbage",
		"A 7 2026-01-01 10:00:01.1 200 5",
		"# 1 2026-01-01 10:00:01.1",
		"B 2 2026-13-01 10:00:01.1 GET /",
		"B 3 2099-01-01 10:00:01.1 GET /",
		"- 1 2026-01-01 10:00:01.1 custom",
		"E 1 2026-01-01 10:00:02.1",
		"E 7 2026-01-01 10:00:02.2",
	}, "\n") // no final newline: the last line still counts at end of input
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	h := &lineHandler{b: &logged}
	sum, err := Ingest(context.Background(), newMemSink(), []string{path}, IngestOptions{
		Location: time.UTC, Logger: slogNew(h), Now: func() time.Time { return time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	st := sum.Total
	if st.Lines != 9 || st.Bad != 5 || st.Custom != 1 || st.Records != 3 {
		t.Errorf("stats %+v, want 9 lines, 5 bad, 1 custom, 3 records", st)
	}
	for _, w := range []string{"web9.log:2 ", "web9.log:3 ", "A without B", "web9.log:4 ", "unknown record code", "web9.log:5 ", "month", "web9.log:6 ", "future"} {
		if !strings.Contains(logged.String(), w) {
			t.Errorf("log lacks %q:\n%s", w, logged.String())
		}
	}
}
