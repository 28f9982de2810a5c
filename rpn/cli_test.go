package rpn

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"rrdash/store"

	"rrdash/store/rrdtooltest"
)

// TestRunXportMatchesRRDTool compares the whole output of `rrdash xport`
// with `rrdtool xport`, byte for byte for the XML.
func TestRunXportMatchesRRDTool(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	dir := t.TempDir()
	files := map[string]string{"m": makeMinuteRRD(t, bin, dir, 300)}
	f := &rrdFetcher{bin: bin, tz: "UTC", files: files, cache: map[string]*store.FetchResult{}}
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	loadStore(t, db, "m", minuteStream(300))
	start := strconv.Itoa(minuteT0 + 600)
	end := strconv.Itoa(minuteT0 + 600 + 100*60)
	for _, opts := range [][]string{
		{"--start", start, "--end", end},
		{"-s", start, "-e", end, "--step", "180"},
		{"--start", start, "--end", "start+2h", "--maxrows", "40"},
		{"--start", "end-3h", "--end", end},
	} {
		stmts := []string{"DEF:a=@:a:AVERAGE", "DEF:b=@:b:MAX", "CDEF:c=a,b,/", "VDEF:v=a,AVERAGE",
			"CDEF:d=a,v,-", "XPORT:a:my a", "XPORT:c:a/b", "XPORT:d"}
		var rargs, oargs []string
		for _, s := range stmts {
			rargs = append(rargs, strings.ReplaceAll(s, "@", files["m"]))
			oargs = append(oargs, strings.ReplaceAll(s, "@", "m"))
		}
		want, err := runRRDTool(bin, "UTC", append(append([]string{"xport"}, opts...), rargs...)...)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		now := time.Unix(minuteT0+600+100*60, 0)
		if err := RunXport(context.Background(), f, append(opts, oargs...), &got, now, time.UTC); err != nil {
			t.Fatalf("%v: %v", opts, err)
		}
		if got.String() != string(want) {
			t.Errorf("%v: XML differs\nours:\n%s\nrrdtool:\n%s", opts, head(got.String()), head(string(want)))
		}
		var fromStore bytes.Buffer
		if err := RunXport(context.Background(), db, append(opts, oargs...), &fromStore, now, time.UTC); err != nil {
			t.Fatalf("%v over the store: %v", opts, err)
		}
		if fromStore.String() != string(want) {
			t.Errorf("%v: XML over the store differs\nours:\n%s\nrrdtool:\n%s", opts, head(fromStore.String()), head(string(want)))
		}

		// --json, --showtime and --enumds: rrdtool's text, byte for byte,
		// and the JSON valid
		for _, flags := range [][]string{{"--json"}, {"--json", "-t"}, {"--showtime", "--enumds"}, {"--enumds"}, {"-t"}, {"--json", "--enumds", "--showtime"}} {
			want, err := runRRDTool(bin, "UTC", append(append(append([]string{"xport"}, flags...), opts...), rargs...)...)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := RunXport(context.Background(), f, append(append(append([]string{}, flags...), opts...), oargs...), &got, now, time.UTC); err != nil {
				t.Fatalf("%v %v: %v", flags, opts, err)
			}
			if got.String() != string(want) {
				t.Errorf("%v %v differs\nours:\n%s\nrrdtool:\n%s", flags, opts, head(got.String()), head(string(want)))
			}
			if flags[0] == "--json" && !json.Valid(got.Bytes()) {
				t.Errorf("%v %v: invalid JSON", flags, opts)
			}
		}
	}
}

func head(s string) string {
	if len(s) > 1500 {
		return s[:1500] + "…"
	}
	return s
}

func TestRunXportErrors(t *testing.T) {
	t.Parallel()
	f := &rrdFetcher{files: map[string]string{}, cache: map[string]*store.FetchResult{}}
	now := time.Unix(1_700_000_000, 0)
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "no DEF/CDEF/VDEF/XPORT statements"},
		{[]string{"--bogus"}, "flag provided but not defined"},
		{[]string{"--maxrows", "5", "DEF:a=s:d:AVERAGE", "XPORT:a"}, "at least 10"},
		{[]string{"--start", "tomorrow", "DEF:a=s:d:AVERAGE", "XPORT:a"}, "start time \"tomorrow\""},
		{[]string{"--start", "now", "--end", "now-1h", "DEF:a=s:d:AVERAGE", "XPORT:a"}, "should be less than end"},
		{[]string{"DEF:a=s:d:AVERAGE"}, "no XPORT statement"},
		{[]string{"DEF:a=s:d:AVERAGE", "XPORT:a"}, "no series \"s\""},
		{[]string{"DEF:a=s:d:AVG", "XPORT:a"}, "unknown consolidation function"},
		{[]string{"DEF:MAX=s:d:AVERAGE", "XPORT:MAX"}, "is an RPN operator"},
		{[]string{"DEF:a=s:d:AVERAGE", "DEF:a=s:e:AVERAGE", "XPORT:a"}, "defined twice"},
		{[]string{"DEF:a=s:d:AVERAGE:step=x", "XPORT:a"}, "step=\"x\""},
		{[]string{"DEF:a=s:d:AVERAGE:daemon=x", "XPORT:a"}, "daemon= is not supported"},
		{[]string{"DEF:a=s:d:AVERAGE", "VDEF:v=a,LAST", "XPORT:v"}, "is a VDEF"},
		{[]string{"LINE1:a#ff0000"}, "unknown statement"},
	} {
		err := RunXport(context.Background(), f, c.args, &bytes.Buffer{}, now, time.UTC)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
}

// TestXMLLegendEscaped: rrdtool 1.7.2 copies legends into its XML
// unescaped (invalid XML for "<" or "&"); rrdash escapes them.
func TestXMLLegendEscaped(t *testing.T) {
	t.Parallel()
	x := &Export{Start: 0, End: 120, Step: 60, Legends: []string{"a<b & c"}, Columns: [][]float64{{1, math.NaN()}}}
	var b bytes.Buffer
	if err := x.WriteXML(&b); err != nil {
		t.Fatal(err)
	}
	ref, err := parseXportXML(b.Bytes())
	if err != nil {
		t.Fatalf("invalid XML: %v\n%s", err, b.String())
	}
	if !strings.Contains(b.String(), "<entry>a&lt;b &amp; c</entry>") || len(ref.Rows) != 2 || ref.Rows[1].V[0] != "NaN" {
		t.Errorf("unexpected XML:\n%s", b.String())
	}
}

// TestXportNarrowDEF: a DEF whose :start=/:end= covers less than the export
// gives unknown rows outside its range. (rrdtool 1.7.2 instead places its
// rows from the export start and reads past their end; see docs/rpn.md.)
func TestXportNarrowDEF(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	files := map[string]string{"m": makeMinuteRRD(t, bin, t.TempDir(), 300)}
	f := &rrdFetcher{bin: bin, tz: "UTC", files: files, cache: map[string]*store.FetchResult{}}
	start, end := int64(minuteT0+600), int64(minuteT0+600+100*60)
	sc, err := ParseScript([]string{"DEF:a=m:a:AVERAGE", "DEF:p=m:a:AVERAGE:start=end-30min", "XPORT:a", "XPORT:p"})
	if err != nil {
		t.Fatal(err)
	}
	x, err := sc.Xport(context.Background(), f, Request{Start: start, End: end, Env: Env{Loc: time.UTC}})
	if err != nil {
		t.Fatal(err)
	}
	for r := range x.Rows() {
		ts := x.Start + int64(r+1)*x.Step
		a, p := x.Columns[0][r], x.Columns[1][r]
		if ts <= end-1800 && !isNaN(p) {
			t.Errorf("row %d (t=%d) before the DEF's start: %v", r, ts, p)
		}
		if ts > end-1800 && !(a == p || isNaN(a) && isNaN(p)) {
			t.Errorf("row %d (t=%d): %v, want %v", r, ts, p, a)
		}
	}
}

// TestTimeSpecMatchesRRDTool resolves --start/--end like rrdtool, including
// calendar offsets across a DST change (mktime keeps the reference's DST
// flag): the whole xport output must be identical.
func TestTimeSpecMatchesRRDTool(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	files := map[string]string{"m": makeMinuteRRD(t, bin, t.TempDir(), 30)}
	f := &rrdFetcher{bin: bin, tz: "Europe/Berlin", files: files, cache: map[string]*store.FetchResult{}}
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip(err)
	}
	for _, c := range [][2]string{
		{"end-1mon", "1711846800"}, {"end-3w2d", "1711846800"}, {"end-5m", "1711846800"},
		{"end-30m", "1711846800"}, {"e-1y6m", "1711846800"}, {"end-1d12h", "1711846800"},
		{"end-2h30min", "1711846800"}, {"end-1w3m", "1711846800"}, {"1711760400", "start+1d"},
		{"1698540000", "s+2d3h"}, {"1711760400", "start+1mon"},
	} {
		args := []string{"--start", c[0], "--end", c[1], "--step", "60", "--maxrows", "100000000"}
		want, err := runRRDTool(bin, "Europe/Berlin", append(append([]string{"xport"}, args...), "DEF:x="+files["m"]+":a:AVERAGE", "XPORT:x")...)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := RunXport(context.Background(), f, append(args, "DEF:x=m:a:AVERAGE", "XPORT:x"), &got, time.Now(), loc); err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		if got.String() != string(want) {
			t.Errorf("%v: ours\n%s\nrrdtool\n%s", c, head(got.String()), head(string(want)))
		}
	}
}
