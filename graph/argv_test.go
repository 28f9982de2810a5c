package graph

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestSplitCommandLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{`rrdtool graph a.png DEF:a=x:y:AVERAGE`, []string{"rrdtool", "graph", "a.png", "DEF:a=x:y:AVERAGE"}, ""},
		{`-t 'my title' "LINE1:a#ff0000:Req\"s"`, []string{"-t", "my title", `LINE1:a#ff0000:Req"s`}, ""},
		{"a \\\n b", []string{"a", "b"}, ""},
		{`x\ y`, []string{"x y"}, ""},
		{`'a'"b"c`, []string{"abc"}, ""},
		{`COMMENT:a\:b`, []string{"COMMENT:a:b"}, ""},
		{`'COMMENT:a\:b'`, []string{`COMMENT:a\:b`}, ""},
		{`'oops`, nil, "unterminated single quote at position 1"},
		{`a "b`, nil, "unterminated double quote at position 3"},
		{`a\`, nil, "trailing backslash at position 2"},
		{"", nil, ""},
	}
	for _, tt := range tests {
		got, err := SplitCommandLine(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("SplitCommandLine(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitCommandLine(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseArgs(t *testing.T) {
	t.Parallel()
	line := `rrdtool graph out.png -s -1w --end now -t "Web 1" -v req/s -w 600 --height=200 -A ` +
		`'DEF:r=tracelog.web1:requests:AVERAGE:step=300' ` +
		`'DEF:m=tracelog.web1.rrd:maxrate:MAX:reduce=MAX' ` +
		`CDEF:r5=r,5,* VDEF:ravg=r,AVERAGE ` +
		`'AREA:r#00ff0080:requests\l' 'LINE2:m#ff0000:max rate:STACK:dashes' ` +
		`HRULE:100#0000ff:limit VRULE:ravg#000000 ` +
		`'GPRINT:ravg:avg %6.2lf %s' 'GPRINT:r:MAX:max %5.1lf' 'COMMENT:a\: b\n'`
	argv, err := SplitCommandLine(line)
	if err != nil {
		t.Fatal(err)
	}
	s, warn, err := ParseArgs(argv)
	if err != nil {
		t.Fatal(err)
	}
	want := &Spec{
		Title: "Web 1", VLabel: "req/s", Start: "-1w", End: "now", Width: 600, Height: 200,
		Defs: []Def{
			{Kind: "DEF", Name: "r", Series: "tracelog.web1", DS: "requests", CF: "AVERAGE", Step: 300},
			{Kind: "DEF", Name: "m", Series: "tracelog.web1", DS: "maxrate", CF: "MAX", Reduce: "MAX"},
			{Kind: "CDEF", Name: "r5", Expr: "r,5,*"},
			{Kind: "VDEF", Name: "ravg", Expr: "r,AVERAGE"},
			{Kind: "VDEF", Name: "r_max", Expr: "r,MAXIMUM"},
		},
		Items: []Item{
			{Type: "AREA", Vname: "r", Color: "#00ff0080", Legend: `requests\l`},
			{Type: "LINE", Width: 2, Vname: "m", Color: "#ff0000", Legend: "max rate", Stack: true, Dashes: true},
			{Type: "HRULE", Value: 100, Color: "#0000ff", Legend: "limit"},
			{Type: "VRULE", Vname: "ravg", Color: "#000000"},
			{Type: "GPRINT", Vname: "ravg", Format: "avg %6.2lf %s"},
			{Type: "GPRINT", Vname: "r_max", Format: "max %5.1lf"},
			{Type: "COMMENT", Legend: `a: b\n`},
		},
		Look: Look{AltAutoscale: true},
	}
	if !reflect.DeepEqual(s, want) {
		g, _ := json.MarshalIndent(s, "", " ")
		t.Errorf("got %s", g)
	}
	if len(warn) != 0 {
		t.Errorf("warnings = %q, want none", warn)
	}
	// Round trip through Args and JSON.
	s2, _, err := ParseArgs(s.Args())
	if err != nil {
		t.Fatalf("reparse %q: %v", s.Args(), err)
	}
	if !reflect.DeepEqual(s2, s) {
		t.Errorf("Args round trip:\n got %+v\nwant %+v", s2, s)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	s3, err := ParseJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s3, s) {
		t.Errorf("JSON round trip:\n got %+v\nwant %+v", s3, s)
	}
}

func TestParseArgsSeriesWithColons(t *testing.T) {
	t.Parallel()
	s, _, err := ParseArgs([]string{`DEF:a=http.requests;route=GET\:/g:value:AVERAGE`, "LINE1:a#123456:<b>x</b>"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Defs[0].Series != "http.requests;route=GET:/g" {
		t.Errorf("series = %q", s.Defs[0].Series)
	}
	s2, _, err := ParseArgs(s.Args())
	if err != nil || !reflect.DeepEqual(s, s2) {
		t.Errorf("round trip: %v %+v", err, s2)
	}
}

func TestParseArgsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--bogus"}, `argument 1 ("--bogus"): unknown option "--bogus"`},
		{[]string{"-w"}, "option --width needs a value"},
		{[]string{"-w", "abc"}, `--width: "abc" is not a positive integer`},
		{[]string{"out.png", "junk"}, `argument 2 ("junk"): not a graph element`},
		{[]string{"DEF:a=x:y"}, "want DEF:vname=series:ds:CF"},
		{[]string{"DEF:a=x:y:AVG"}, `unknown consolidation function "AVG"`},
		{[]string{"DEF:a=x:y:AVERAGE:step=0"}, `step="0"`},
		{[]string{"DEF:a=x:y:AVERAGE:foo=1"}, `unknown DEF option "foo=1"`},
		{[]string{"LINE1:b#ff0000"}, `unknown name "b"`},
		{[]string{"DEF:a=x:y:AVERAGE", "LINE1:a#ff00"}, `invalid color "#ff00"`},
		{[]string{"DEF:a=x:y:AVERAGE", "LINEx:a"}, `bad line width "x"`},
		{[]string{"DEF:a=x:y:AVERAGE", "GPRINT:a:%lf"}, `"a" is a DEF, want VDEF`},
		{[]string{"DEF:a=x:y:AVERAGE", "VDEF:v=a,AVERAGE", "GPRINT:v:%d"}, `invalid format "%d"`},
		{[]string{"DEF:a=x:y:AVERAGE", "VDEF:v=a,AVERAGE", "GPRINT:v:%6.2f"}, `invalid format "%6.2f"`}, // rrdtool wants %lf
		{[]string{"--right-axis", "0:5"}, "the right axis scale must not be 0"},
		{[]string{"--right-axis", "2"}, `invalid right-axis format "2"`},
		{[]string{"--right-axis", "2:x"}, `invalid right-axis format "2:x"`},
		{[]string{"--right-axis-formatter", "date"}, `right axis formatter "date"`},
		{[]string{"--right-axis-format", "%d"}, `right axis format "%d"`},
		{[]string{"--left-axis-formatter", "timestamp", "--left-axis-format", "%Q"}, "left axis format"},
		{[]string{"--graph-render-mode", "mono"}, "option --graph-render-mode is not supported"},
		{[]string{"--first-weekday", "1"}, `unknown option "--first-weekday"`},
		{[]string{"--left-axis-format", "%d"}, `left axis format "%d"`},
		{[]string{"DEF:a=x:y:AVERAGE", "STACK:a#ff0000"}, "no previous LINE or AREA for STACK"},
		{[]string{"--imgformat", "EPS"}, `image format "EPS" is not supported`},
		{[]string{"--zoom", "2"}, "only zoom 1"},
		{[]string{"--font", "LEGEND:8:Arial"}, `font "Arial" is not supported`},
		{[]string{"--x-grid", "MINUTE:10:HOUR:1:DECADE:4:0:%X"}, `unknown time unit "DECADE"`},
		{[]string{"--y-grid", "0:1"}, "grid step must be > 0"},
		{[]string{"--base", "1023"}, "want 1000 or 1024"},
		{[]string{"--legend-position", "top"}, `legend position "top"`},
		{[]string{"DEF:a=x:y:AVERAGE", "SHIFT:a:1h"}, `offset "1h" is neither seconds nor an earlier VDEF`},
		{[]string{"DEF:a=x:y:AVERAGE", "VDEF:v=a,AVERAGE", "SHIFT:v:60"}, `SHIFT needs an earlier DEF or CDEF, not "v"`},
		{[]string{"DEF:a=x:y:AVERAGE", "DEF:b=x:y:AVERAGE", "SHIFT:a:b"}, `offset "b" is a DEF`},
		{[]string{"DEF:a=x:y:AVERAGE", "SHIFT:a"}, "want SHIFT:vname:offset"},
		{[]string{"DEF:a=x:y:AVERAGE", "LINE1:a#ff0000#0000ff"}, "for AREA gradients only"},
		{[]string{"DEF:a=x:y:AVERAGE", "LINE1:a#ff0000:x:gradheight=5"}, "for areas only"},
		{[]string{"DEF:a=x:y:AVERAGE", "AREA:a#ff0000#00f"}, `invalid second color "#00f"`},
		{[]string{"DEF:a=x:y:AVERAGE", "TEXTALIGN:middle"}, `alignment "middle"`},
		{[]string{"-o", "-l", "0", "DEF:a=x:y:AVERAGE", "LINE1:a#ff0000"}, "lower limit must be > 0"},
		{[]string{"DEF:a=x:y:AVERAGE", "DEF:a=x:z:AVERAGE"}, `name "a" defined twice`},
		{[]string{"-s", "-1d x"}, `unparsable trailing text`},
		{[]string{"DEF:a b=x:y:AVERAGE"}, `invalid name "a b"`},
		{[]string{"DEF:a=x:y:AVERAGE", "LINE1:a#ff0000:x:bogus"}, `unknown option "bogus"`},
	}
	for _, tt := range tests {
		_, _, err := ParseArgs(tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseArgs(%q) error = %v, want it to contain %q", tt.args, err, tt.want)
		}
	}
}

func TestParseJSONErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{`{"title":"x","bogus":1}`, `unknown field "bogus"`},
		{`{"defs":[]} {}`, "trailing data"},
		{`{"defs":[{"kind":"XDEF","name":"a"}]}`, `unknown kind "XDEF"`},
		{`{"defs":[{"kind":"CDEF","name":"a","expr":" "}]}`, "empty expression"},
		{`{"start":"yesterday"}`, "start:"},
		{`{"width":-1}`, "out of range"},
	} {
		_, err := ParseJSON([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseJSON(%s) error = %v, want %q", tt.in, err, tt.want)
		}
	}
}

func FuzzParseArgs(f *testing.F) {
	f.Add("rrdtool graph x.png -s -1d DEF:a=s.x:v:AVERAGE CDEF:b=a,2,* VDEF:c=a,MAXIMUM LINE2:b#ff0000:leg GPRINT:c:%6.2lf%s")
	f.Add(`'DEF:a=a\:b:v:MAX' 'AREA:a#00000080:x\: y:STACK' HRULE:5#ffffff COMMENT:hi`)
	f.Add(`-t '<script>' DEF:a=x:y:LAST STACK:a#010203:z GPRINT:a:LAST:%lf`)
	f.Add(`--right-axis 2:-5 --right-axis-label 'r' --right-axis-format '%5.1lf' --right-axis-formatter numeric --left-axis-formatter duration --dynamic-labels DEF:a=x:y:AVERAGE LINE1:a#ff0000`)
	f.Add(`--interlaced --pango-markup --lazy --imginfo '%s %lu %lu' --use-nan-for-all-missing-data DEF:a=x:y:AVERAGE VDEF:v=a,FIRST SHIFT:a:v SHIFT:a:-60 AREA:a#ff0000#0000ff:<b>x</b>:gradheight=-5`)
	f.Fuzz(func(t *testing.T, line string) {
		argv, err := SplitCommandLine(line)
		if err != nil {
			return
		}
		s, _, err := ParseArgs(argv)
		if err != nil {
			return
		}
		// Whatever parses must survive formatting and JSON without loss
		// once normalised (one round trip normalises alignment markers).
		s2, _, err := ParseArgs(s.Args())
		if err != nil {
			t.Fatalf("Args() of a parsed spec does not parse: %q: %v", s.Args(), err)
		}
		s3, _, err := ParseArgs(s2.Args())
		if err != nil || !reflect.DeepEqual(s2, s3) {
			t.Fatalf("Args round trip not stable: %+v vs %+v (%v)", s2, s3, err)
		}
		b, err := json.Marshal(s2)
		if err != nil {
			t.Fatal(err)
		}
		s4, err := ParseJSON(b)
		if err != nil || !reflect.DeepEqual(s2, s4) {
			t.Fatalf("JSON round trip: %v %+v vs %+v", err, s2, s4)
		}
	})
}

func FuzzParseJSON(f *testing.F) {
	f.Add(`{"title":"t","defs":[{"kind":"DEF","name":"a","series":"x","ds":"v","cf":"AVERAGE"},{"kind":"VDEF","name":"m","expr":"a,MAXIMUM"}],"items":[{"type":"LINE","width":2,"vname":"a","color":"#ff0000"},{"type":"GPRINT","vname":"m","format":"%6.2lf %s"}]}`)
	f.Add(`{"start":"-1d","end":"now","lower":0,"upper":100,"items":[{"type":"HRULE","value":5}]}`)
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseJSON([]byte(in))
		if err != nil {
			return
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := ParseJSON(b)
		if err != nil || !reflect.DeepEqual(s, s2) {
			t.Fatalf("re-parse: %v\n%+v\n%+v", err, s, s2)
		}
	})
}

// TestParseArgsRoundTripOptions: every option and element rrdash
// implements survives Args and JSON.
func TestParseArgsRoundTripOptions(t *testing.T) {
	t.Parallel()
	args := []string{"-r", "--allow-shrink", "-J", "-o", "-l", "1", "-g", "-j", "-D", "--disable-rrdtool-tag", "-F", "-E",
		"-N", "--no-minor", "-b", "1024", "-X", "3", "-L", "8", "--units=si", "--legend-position=east",
		"--legend-direction", "bottomup2", "-T", "20", "-W", "wm", "-x", "MINUTE:10:HOUR:1:HOUR:4:0:%X", "-y", "5:2",
		"--border", "0", "-c", "BACK#102030", "-n", "LEGEND:10", "-n", "TITLE:12:DejaVu Sans Mono", "--grid-dash", "2:3",
		"-a", "SVG", "--week-fmt", "W%V", "-m", "1", "--left-axis-format", "%.1lf u",
		"DEF:a=s:v:AVERAGE:start=-2d:end=-1d", "VDEF:m=a,MAXIMUM", "TEXTALIGN:center",
		"LINE2:a#ff0000:x\\g:skipscale:dashes=4,2:dash-offset=1", "TICK:a#00ff00:0.5:tick",
		`PRINT:m:%Y:strftime`, `GPRINT:m:%H\:%02m:valstrfduration`, `GPRINT:m:%F:valstrftime`}
	s, _, err := ParseArgs(args)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Rigid || !s.Logarithmic || s.Base != 1024 || *s.UnitsExponent != 3 || s.LegendPosition != "east" ||
		s.Look.FontSizes["LEGEND"] != 10 || s.Look.Format != "SVG" || s.Defs[0].Start != "-2d" || s.Items[0].Align != "center" ||
		!s.Items[1].Skipscale || s.Items[1].DashOffset != 1 || len(s.Items[1].DashPattern) != 2 || s.Items[2].Fraction != 0.5 ||
		!s.Items[3].Strftime || s.Items[4].VFormatter != "duration" || s.Items[5].VFormatter != "timestamp" {
		g, _ := json.Marshal(s)
		t.Fatalf("parsed %s", g)
	}
	s2, _, err := ParseArgs(s.Args())
	if err != nil {
		t.Fatalf("reparse %q: %v", s.Args(), err)
	}
	if !reflect.DeepEqual(s2, s) {
		t.Errorf("Args round trip:\n got %+v\nwant %+v", s2, s)
	}
	b, _ := json.Marshal(s)
	s3, err := ParseJSON(b)
	if err != nil || !reflect.DeepEqual(s3, s) {
		t.Errorf("JSON round trip: %v\n got %+v\nwant %+v", err, s3, s)
	}
}

// -Z is rrdtool 1.7.2's short form of --use-nan-for-all-missing-data.
func TestParseArgsShortUseNaN(t *testing.T) {
	t.Parallel()
	s, _, err := ParseArgs([]string{"graph", "out.png", "-Z", "DEF:a=x:y:AVERAGE", "LINE1:a#ff0000"})
	if err != nil || !s.NaNForMissing {
		t.Fatalf("-Z: %v, NaNForMissing %v", err, s != nil && s.NaNForMissing)
	}
}
