package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rrdash/auth"
	"rrdash/store/meta"
)

// TestAnnotateCLI: annotate, run beside a serve on the same data
// directory, writes annotations GET /api/v1/annotations shows at once
// (owner "cli", its tags and range), and annotations lists them, filtered
// by tag.
func TestAnnotateCLI(t *testing.T) {
	data := t.TempDir()
	p := startServeMeta(t, data)
	defer p.stop(t)
	tok := dataToken(t, data, "test read", auth.ScopeRead)
	ctx := t.Context()
	cli := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(ctx, append([]string{"--data", data}, args...), strings.NewReader(""), &out, io.Discard); err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		return out.String()
	}
	now := time.Now().Unix()
	if out := cli("annotate", "--text", "deploy v2", "--tag", "deploy", "--tag=host=web1"); !strings.HasPrefix(out, "annotation ") {
		t.Fatalf("annotate: %q", out)
	}
	cli("annotate", "--text", "outage", "--time", fmt.Sprint(now-600), "--end", "now-5min", "--tag", "incident")

	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/annotations?from=%d&to=%d", p.base, (now-3600)*1000, (now+60)*1000), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var as []meta.Annotation
	if err := json.NewDecoder(resp.Body).Decode(&as); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET annotations: %d %v", resp.StatusCode, err)
	}
	got := map[string]meta.Annotation{}
	for _, a := range as {
		got[a.Text] = a
	}
	if a, ok := got["deploy v2"]; !ok || a.Owner != "cli" || strings.Join(a.Tags, ",") != "deploy,host=web1" || a.Time != a.TimeEnd || a.Time/1000 < now-5 {
		t.Errorf("deploy v2: %+v (all %+v)", a, as)
	}
	if a, ok := got["outage"]; !ok || a.Time != (now-600)*1000 || a.TimeEnd != (now-300)*1000 && a.TimeEnd != (now-299)*1000 {
		t.Errorf("outage: %+v (all %+v)", a, as)
	}
	out := cli("annotations", "--from", "now-2h", "--tag", "host=web1")
	if !strings.Contains(out, "deploy v2") || strings.Contains(out, "outage") || !strings.Contains(out, "cli") {
		t.Errorf("annotations --tag host=web1:\n%s", out)
	}
	if out := cli("annotations", "--from", "now-2h"); !strings.Contains(out, "deploy v2") || !strings.Contains(out, "outage") {
		t.Errorf("annotations:\n%s", out)
	}
}

// TestAnnotateCLIErrors: bad arguments are refused with an error naming
// the argument, before any data directory is opened.
func TestAnnotateCLIErrors(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	missing := filepath.Join(data, "nope")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"annotate"}, "--text"},
		{[]string{"annotate", "--text", "  "}, "--text"},
		{[]string{"annotate", "--text", "x", "--time", "yesterday-ish"}, "--time"},
		{[]string{"annotate", "--text", "x", "--time", "now", "--end", "now-1h"}, "--end"},
		{[]string{"annotate", "--text", "x", "--tag", ""}, "--tag"},
		{[]string{"annotate", "--text", "x", "--tag", strings.Repeat("t", 101)}, "--tag"},
		{[]string{"annotate", "--text", "x", "--text", "y"}, "--text given twice"},
		{[]string{"annotate", "--text", "x", "--colour", "red"}, "--colour"},
		{[]string{"annotate", "--text", "x", "stray"}, "stray"},
		{[]string{"annotate", "--text"}, "--text needs a value"},
		{[]string{"annotations", "--from", "now", "--to", "now-1d"}, "--from"},
		{[]string{"annotations", "--to", "bogus"}, "--to"},
		{[]string{"annotations", "--tag", " "}, "--tag"},
		{[]string{"annotations", "--data", missing}, "not a directory"},
		{[]string{"annotate", "--text", "x", "--data", missing}, "not a directory"},
		{[]string{"annotations", "--data", data}, "no metadata database"},
	} {
		err := run(t.Context(), tc.args, strings.NewReader(""), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error naming %q", tc.args, err, tc.want)
		}
	}
	if matches, _ := filepath.Glob(filepath.Join(data, "*")); len(matches) != 0 {
		t.Errorf("errors created %q", matches)
	}
}

// TestAnnotateCLIPostgres: with metadata_url in --config, annotate writes
// to that PostgreSQL (as serve would read it) and makes no metadata.db in
// the data directory; annotations reads it back.
func TestAnnotateCLIPostgres(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dbURL, cfg := pgMetadataConfig(t)
	data := t.TempDir()
	var out bytes.Buffer
	if err := run(ctx, []string{"--data", data, "annotate", "--config", cfg, "--text", "failover", "--tag", "db"}, strings.NewReader(""), &out, io.Discard); err != nil {
		t.Fatalf("annotate: %v", err)
	}
	md, err := meta.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close()
	now := time.Now().UnixMilli()
	as, err := md.Annotations(ctx, meta.AnnotationQuery{From: now - 3600e3, To: now + 60e3, Tags: []string{"db"}})
	if err != nil || len(as) != 1 || as[0].Text != "failover" || as[0].Owner != "cli" {
		t.Fatalf("in PostgreSQL: %+v, %v", as, err)
	}
	out.Reset()
	if err := run(ctx, []string{"--data", data, "annotations", "--config", cfg}, strings.NewReader(""), &out, io.Discard); err != nil || !strings.Contains(out.String(), "failover") {
		t.Errorf("annotations: %v\n%s", err, out.String())
	}
	if _, err := os.Stat(filepath.Join(data, "metadata.db")); err == nil {
		t.Error("metadata.db made beside metadata_url")
	}
}
