package main

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"rrdash/ingest/monitor"
	"rrdash/store/meta"
)

// TestMonitorRunAnnotations feeds runs to the service's run log over a
// real metadata database: a monitor's failures are annotated once when
// it starts failing and once per change of kind (exit status, killed by
// a signal, timeout, could not run), its recovery once, and nothing while
// its state stays the same; the annotations are owned by "monitor".
func TestMonitorRunAnnotations(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	md, err := meta.Open(ctx, filepath.Join(t.TempDir(), "metadata.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close()
	svc := &monitorService{md: md, keepRuns: 100, log: slog.New(slog.DiscardHandler)}
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	runs := []struct {
		outcome monitor.Outcome
		exit    int
		reason  string
	}{
		{monitor.OK, 0, ""},
		{monitor.OK, 0, ""},
		{monitor.Fail, 2, "exit status 2"},
		{monitor.Fail, 2, "exit status 2"},
		{monitor.Fail, 2, "exit status 2"},
		{monitor.Fail, 137, "killed: memory limit"},
		{monitor.Timeout, 137, "timeout after 20s"},
		{monitor.Timeout, 137, "timeout after 20s"},
		{monitor.OK, 0, ""},
		{monitor.Error, -1, "python3: not found"},
		{monitor.Fail, 0, "criteria not met"},
		{monitor.OK, 0, ""},
	}
	for i, r := range runs {
		res := monitor.Result{Monitor: "disk", Start: t0.Add(time.Duration(i) * time.Minute), Runtime: time.Second,
			Outcome: r.outcome, ExitStatus: r.exit, Reason: r.reason}
		if err := svc.AddRun(ctx, res); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	as, err := md.Annotations(ctx, meta.AnnotationQuery{From: t0.UnixMilli(), To: t0.Add(time.Hour).UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(as) - 1; i >= 0; i-- { // oldest first
		a := as[i]
		if a.Owner != "monitor" || a.TimeEnd-a.Time != 1000 {
			t.Errorf("annotation %+v: want owner monitor and the run's 1s range", a)
		}
		got = append(got, fmt.Sprintf("%d %s [%s]", (a.Time-t0.UnixMilli())/60000, a.Text, strings.Join(a.Tags, ",")))
	}
	want := []string{
		"2 monitor disk failing: exit (exit status 2): exit status 2 [monitor=disk,failure,exit]",
		"5 monitor disk failing: killed (exit status 137): killed: memory limit [monitor=disk,failure,killed]",
		"6 monitor disk failing: timeout: timeout after 20s [monitor=disk,failure,timeout]",
		"8 monitor disk recovered (ok after timeout) [monitor=disk,recovered]",
		"9 monitor disk failing: error: python3: not found [monitor=disk,failure,error]",
		"10 monitor disk failing: fail: criteria not met [monitor=disk,failure,fail]",
		"11 monitor disk recovered (ok after fail) [monitor=disk,recovered]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("annotations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestMonitorRunAnnotationFirstRun: a monitor whose first run fails is
// annotated; one whose first run passes is not.
func TestMonitorRunAnnotationFirstRun(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		res  monitor.Result
		want bool
	}{
		{monitor.Result{Monitor: "m", Outcome: monitor.OK}, false},
		{monitor.Result{Monitor: "m", Outcome: monitor.Fail, ExitStatus: 1}, true},
		{monitor.Result{Monitor: "m", Outcome: monitor.Timeout}, true},
	} {
		if _, ok := runAnnotation(nil, tc.res); ok != tc.want {
			t.Errorf("first run %s: annotated %v, want %v", tc.res.Outcome, ok, tc.want)
		}
	}
	long := monitor.Result{Monitor: "m", Outcome: monitor.Fail, ExitStatus: 1, Reason: strings.Repeat("é", 800)}
	if a, _ := runAnnotation(nil, long); len(a.Text) > 1010 || !utf8.ValidString(a.Text) {
		t.Errorf("long reason: %d bytes, valid UTF-8 %v", len(a.Text), utf8.ValidString(a.Text))
	}
}
