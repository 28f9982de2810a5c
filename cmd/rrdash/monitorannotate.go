package main

import (
	"context"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"rrdash/ingest/monitor"
	"rrdash/store/meta"
)

// monitorAnnotationUser owns the annotations code-monitor runs add: a
// local user of its own, as the CLI's "cli".
var monitorAnnotationUser = meta.User{Handle: "monitor", Issuer: meta.LocalIssuer, Subject: "monitor", Name: "code monitors"}

// failureKind names how a run failed: "" for ok; "exit" for a non-zero
// exit status, "killed" for a signal (the sandbox's limits, 128+signal),
// "fail" for a run that exited 0 but did not meet its criteria,
// "timeout" and "error" (it could not be run) as the outcomes say.
func failureKind(r monitor.Result) string {
	switch {
	case r.Outcome == monitor.OK:
		return ""
	case r.Outcome == monitor.Fail && r.ExitStatus > 128:
		return "killed"
	case r.Outcome == monitor.Fail && r.ExitStatus != 0:
		return "exit"
	default:
		return string(r.Outcome)
	}
}

// runAnnotation is the annotation a run whose predecessor was prev (nil
// for the first) deserves: one when the monitor starts failing or fails
// in another way, one when it recovers, none while nothing changes, so a
// monitor failing every minute for a day leaves one marker, not 1440.
func runAnnotation(prev *monitor.Result, res monitor.Result) (meta.Annotation, bool) {
	was, is := "", failureKind(res)
	if prev != nil {
		was = failureKind(*prev)
	}
	if was == is {
		return meta.Annotation{}, false
	}
	a := meta.Annotation{Time: res.Start.UnixMilli(), TimeEnd: res.Start.Add(res.Runtime).UnixMilli()}
	tag := "monitor=" + res.Monitor
	if is == "" {
		a.Text = fmt.Sprintf("monitor %s recovered (ok after %s)", res.Monitor, was)
		a.Tags = []string{tag, "recovered"}
		return a, true
	}
	a.Text = fmt.Sprintf("monitor %s failing: %s", res.Monitor, is)
	if is == "exit" || is == "killed" {
		a.Text += fmt.Sprintf(" (exit status %d)", res.ExitStatus)
	}
	if res.Reason != "" {
		a.Text += ": " + res.Reason
	}
	if len(a.Text) > 1000 {
		n := 1000
		for n > 0 && !utf8.RuneStart(a.Text[n]) {
			n-- // cut at a rune boundary
		}
		a.Text = a.Text[:n] + "…"
	}
	a.Tags = []string{tag, "failure", is}
	return a, true
}

// annotateRun adds the annotation res deserves after the monitor's
// latest recorded run (read before res is recorded).
func (s *monitorService) annotateRun(ctx context.Context, prev *monitor.Result, res monitor.Result) error {
	a, ok := runAnnotation(prev, res)
	if !ok {
		return nil
	}
	owner, err := s.md.EnsureUser(ctx, monitorAnnotationUser)
	if err != nil {
		return fmt.Errorf("monitor %s: annotation owner: %w", res.Monitor, err)
	}
	if _, err := s.md.CreateAnnotation(ctx, owner, a); err != nil {
		return fmt.Errorf("monitor %s: %w", res.Monitor, err)
	}
	return nil
}

// lastRun is the monitor's latest recorded run, nil when none is.
func (s *monitorService) lastRun(ctx context.Context, name string) (*monitor.Result, error) {
	rows, err := s.md.MonitorRuns(ctx, meta.RunQuery{Monitor: name, Limit: 1})
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	var r monitor.Result
	if err := json.Unmarshal([]byte(rows[0].Result), &r); err != nil {
		return nil, fmt.Errorf("monitor %s: run of %s: %w", name, rows[0].Start, err)
	}
	return &r, nil
}
