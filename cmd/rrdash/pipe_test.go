package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
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

// pipeOKAnswer is rrdtool's answer to a command that worked.
var pipeOKAnswer = regexp.MustCompile(`^OK u:[0-9]+\.[0-9]{2} s:[0-9]+\.[0-9]{2} r:[0-9]+\.[0-9]{2}$`)

// pipeAnswers runs lines through pipe mode on a fresh data directory
// where series s (data sources v and w, and when compute a COMPUTE one
// between them) exists, and returns the answers (OK lines as "OK", each checked
// against rrdtool's format) and the series' last update and fetch.
func pipeAnswers(t *testing.T, lines []string, compute bool) (answers []string, state string) {
	t.Helper()
	dir := t.TempDir()
	ds := "DS:v:GAUGE:100:U:U DS:w:GAUGE:100:U:U"
	if compute {
		ds = "DS:v:GAUGE:100:U:U DS:c:COMPUTE:v,2,* DS:w:GAUGE:100:U:U"
	}
	in := "create s --start 1700000000 --step 10 " + ds + " RRA:LAST:0.5:1:10\n" + strings.Join(lines, "\n") + "\n"
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--data", dir, "-"}, strings.NewReader(in), &out, &out); err != nil {
		t.Fatal(err)
	}
	all := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if !pipeOKAnswer.MatchString(all[0]) {
		t.Fatalf("create: %q", all[0])
	}
	for _, l := range all[1:] {
		if strings.HasPrefix(l, "OK") {
			if !pipeOKAnswer.MatchString(l) {
				t.Fatalf("answer %q is not rrdtool's OK line", l)
			}
			l = "OK"
		}
		answers = append(answers, l)
	}
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	last, err := db.LastUpdate("s")
	res, ferr := db.Fetch("s", store.FetchRequest{CF: store.Last, Start: 1700000000, End: 1700000100})
	state = fmt.Sprintf("last %d (%v), fetch %v %v", last, err, ferr, res)
	return answers, state
}

// TestPipeFastUpdate: an "update NAME ARG" line answers and stores the
// same whether it takes the fast path (single spaces, a series seen
// before) or the full one (a tab between the words), OK lines in
// rrdtool's format, errors in line order.
func TestPipeFastUpdate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		args    []string
		compute bool
	}{
		{"plain", []string{"1700000010:1:2", "1700000020:3:4", "1700000030:U:5"}, false},
		{"errors among them", []string{"1700000010:1:2", "1700000005:1:2", "1700000020:x:2", "1700000030:1", "1700000040:1:2:3", "1700000050:1:2"}, false},
		{"other forms", []string{"1700000010.5:1:2", "N:1:2", "1700000020@1:2", "01700000030:1:2", "1700000040:1:2"}, false},
		{"compute", []string{"1700000010:1:2", "1700000020:1", "1700000030:3:4", "1700000040:5:6:7"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var fast, slow []string
			for _, a := range tc.args {
				fast = append(fast, "update s "+a)
				slow = append(slow, "update\ts\t"+a)
			}
			fa, fs := pipeAnswers(t, fast, tc.compute)
			sa, ss := pipeAnswers(t, slow, tc.compute)
			if !slices.Equal(fa, sa) || fs != ss {
				t.Fatalf("fast path:\n%q\n%s\nfull path:\n%q\n%s", fa, fs, sa, ss)
			}
			if len(fa) != len(tc.args) {
				t.Fatalf("%d answers to %d lines: %q", len(fa), len(tc.args), fa)
			}
		})
	}
}

// FuzzPipeFastUpdate: any ARG answers and stores the same on the fast
// path and the full one.
func FuzzPipeFastUpdate(f *testing.F) {
	for _, s := range []string{"1700000010:1:2", "1700000010:1", "1700000010:1:2:3", "N:1:2", "1700000010.5:1:2", "1700000010:1@2:3",
		"1700000010::", "999999999999999999:1:2", "1700000010:'1':2", "1700000010:1:2\r", "-5:1:2", "1700000010:x:1"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, arg string, compute bool) {
		if strings.ContainsAny(arg, "\n") || len(arg) > 200 {
			return
		}
		// a first update makes the series known, so the second line may
		// take the fast path
		fa, fs := pipeAnswers(t, []string{"update s 1700000001:0:0", "update s " + arg}, compute)
		sa, ss := pipeAnswers(t, []string{"update s 1700000001:0:0", "update\ts\t" + arg}, compute)
		if !slices.Equal(fa, sa) || fs != ss {
			t.Fatalf("%q: fast path %q %s, full path %q %s", arg, fa, fs, sa, ss)
		}
	})
}

// TestPipeFastUpdateInDirectory: after cd, "update x" means the series x
// in that directory, though the fast path knows a series x at the top.
func TestPipeFastUpdateInDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := strings.Join([]string{
		"create x --start 1700000000 --step 10 DS:v:GAUGE:100:U:U RRA:LAST:0.5:1:10",
		"create a/x --start 1700000000 --step 10 DS:v:GAUGE:100:U:U RRA:LAST:0.5:1:10",
		"update x 1700000010:1",
		"update x 1700000020:2",
		"cd a",
		"update x 1700000030:3",
		"update x 1700000040:4",
		"cd ..",
		"update x 1700000050:5",
		"",
	}, "\n")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--data", dir, "-"}, strings.NewReader(in), &out, &out); err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if !pipeOKAnswer.MatchString(l) {
			t.Errorf("answer %d: %q", i+1, l)
		}
	}
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for name, want := range map[string]int64{"x": 1700000050, "a/x": 1700000040} {
		if last, err := db.LastUpdate(name); err != nil || last != want {
			t.Errorf("%s: last update %d (%v), want %d", name, last, err, want)
		}
	}
}
