package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"rrdash/store"
)

func TestPipeMode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := strings.Join([]string{
		`create "web 1" --start 1000000000 --step 10 DS:a:GAUGE:100:U:U RRA:AVERAGE:0.5:1:10`,
		`update "web 1" 1000000010:1 1000000020:2`,
		`update "web 1" 1000000030:3`,
		`update "web 1" 1000000005:1`,
		`update "web 1" 1000000040:x`,
		`fetch "web 1" AVERAGE -s 1000000000 -e 1000000030`,
		`update 'unterminated`,
		`bogus`,
		``,
	}, "\n")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--data", dir, "-"}, strings.NewReader(in), &out, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{"OK", "OK", "OK", "ERROR: web 1: illegal attempt to update using time 1000000005", "ERROR: web 1: cannot convert 'x'",
		"a", "", "1000000010: 1.0000000000e+00", "1000000020: 2.0000000000e+00", "1000000030: 3.0000000000e+00", "1000000040: -nan", "OK",
		"ERROR: command line: unterminated single quote", "ERROR: unknown command"}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines:\n%s", len(lines), out.String())
	}
	for i, w := range want {
		if !strings.HasPrefix(strings.TrimSpace(lines[i]), w) {
			t.Errorf("line %d: %q, want prefix %q", i, lines[i], w)
		}
	}
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if last, _ := db.LastUpdate("web 1"); last != 1000000030 {
		t.Errorf("last update %d after the pipe session", last)
	}
}

func TestSplitCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want []string
	}{
		{"update s 1:2:3\n", []string{"update", "s", "1:2:3"}},
		{"  update\ts  1:2 \r\n", []string{"update", "s", "1:2"}},
		{"\n", nil},
		{"", nil},
		{`graph - 'DEF:a=x:y:AVERAGE' "LINE1:a#ff0000:a b"`, []string{"graph", "-", "DEF:a=x:y:AVERAGE", "LINE1:a#ff0000:a b"}},
	}
	for _, tt := range tests {
		// a reused buffer with stale words must not leak into the result
		got, err := splitCommand([]string{"stale", "words"}[:0], tt.line)
		if err != nil {
			t.Fatalf("%q: %v", tt.line, err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%q: %q, want %q", tt.line, got, tt.want)
		}
	}
	if _, err := splitCommand(nil, `update 'open`); err == nil {
		t.Error("an unclosed quote was accepted")
	}
}

// TestPipeModeGroups: single-ARG updates of several series, interleaved,
// are applied as one group ordered by series; the answers still come in
// line order, each with its own error, and a line the group can't take
// (several ARGs, an unknown series) is applied after the lines before it.
func TestPipeModeGroups(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := strings.Join([]string{
		`create a --start 1000000000 --step 10 DS:v:GAUGE:100:U:U RRA:LAST:0.5:1:10`,
		`create b --start 1000000000 --step 10 DS:v:GAUGE:100:U:U DS:w:GAUGE:100:U:U RRA:LAST:0.5:1:10`,
		`update a 1000000010:1`,
		`update b 1000000010:1:2`,
		`update a 1000000020:2`,
		`update b 1000000005:9:9`, // too old
		`update b 1000000020:3`,   // one value for two data sources
		`update a 1000000030:3 1000000040:4`,
		`update nosuch 1000000010:1`,
		`update b 1000000030:x:4`,
		`update a 1000000050:5`,
		`update b 1000000040:5:6`,
		// a COMPUTE data source takes no value in a grouped update either
		`create c --start 1000000000 --step 10 DS:v:GAUGE:100:U:U DS:s:COMPUTE:v,2,* RRA:LAST:0.5:1:10`,
		`update c 1000000010:4`,
		`update c 1000000020:4:8`,
		``,
	}, "\n")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--data", dir, "-"}, strings.NewReader(in), &out, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{"OK", "OK", "OK", "OK", "OK", "ERROR: b: illegal attempt to update using time 1000000005", "ERROR: b: expected 2 data source readings (got 1)",
		"OK", "ERROR: ", "ERROR: b: cannot convert 'x'", "OK", "OK", "OK", "OK", "ERROR: c: expected 1 data source readings (got 2)"}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d: %q, want prefix %q", i+1, lines[i], w)
		}
	}
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for name, want := range map[string]int64{"a": 1000000050, "b": 1000000040, "c": 1000000010} {
		if last, err := db.LastUpdate(name); err != nil || last != want {
			t.Errorf("%s: last update %d (%v), want %d", name, last, err, want)
		}
	}
}

// TestPipeModeChunkedInput: input arriving in pieces (a real pipe) is
// answered piece by piece while later lines are read, and a command that
// prints comes after every earlier answer.
func TestPipeModeChunkedInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte("create s --start 1000000000 --step 10 DS:v:GAUGE:100:U:U RRA:LAST:0.5:1:10\n"))
		for i := 1; i <= 30; i++ {
			fmt.Fprintf(pw, "update s %d:%d\n", 1000000000+10*i, i)
			if i == 20 {
				pw.Write([]byte("last s\n"))
			}
		}
		pw.Write([]byte("lastupdate s\n"))
		pw.Close()
	}()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--data", dir, "-"}, pr, &out, &out); err != nil {
		t.Fatal(err)
	}
	var want []string
	want = append(want, "OK")
	for range 20 {
		want = append(want, "OK")
	}
	want = append(want, "1000000200", "OK")
	for range 10 {
		want = append(want, "OK")
	}
	want = append(want, " v", "", "1000000300: 30", "OK")
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d: %q, want prefix %q", i+1, lines[i], w)
		}
	}
}
