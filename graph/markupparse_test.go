package graph

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestParseMarkup: pango's tags, span attributes and entities become runs
// of text with their look; markup pango refuses is an error.
func TestParseMarkup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []MarkupRun
	}{
		{"plain", []MarkupRun{{Text: "plain"}}},
		{"<b>bold</b> and <i>it</i>", []MarkupRun{{Text: "bold", Weight: 700}, {Text: " and "}, {Text: "it", Italic: true}}},
		{"<u>u</u><s>s</s><tt>t</tt>", []MarkupRun{{Text: "u", Underline: "single"}, {Text: "s", Strike: true}, {Text: "t", Mono: true}}},
		{"<big>B<big>BB</big></big><small>s</small>", []MarkupRun{{Text: "B", Size: "1.2000em"}, {Text: "BB", Size: "1.4400em"}, {Text: "s", Size: "0.8333em"}}},
		{"x<sub>2</sub>y<sup>3</sup>", []MarkupRun{{Text: "x"}, {Text: "2", VAlign: "sub", Size: "0.8333em"}, {Text: "y"}, {Text: "3", VAlign: "super", Size: "0.8333em"}}},
		{`<span foreground="#f00" background='#00ff00' font_weight="bold">c</span>`, []MarkupRun{{Text: "c", Color: "#ff0000", Background: "#00ff00", Weight: 700}}},
		{`<span fgcolor="Dark Red" weight="300" style="oblique" underline="double" strikethrough="true">c</span>`,
			[]MarkupRun{{Text: "c", Color: "darkred", Weight: 300, Italic: true, Underline: "double", Strike: true}}},
		{`<span color="#ffff0000ffff" size="12288">p</span><span size="x-large">q</span>`, []MarkupRun{{Text: "p", Color: "#ff00ff", Size: "12pt"}, {Text: "q", Size: "1.4400em"}}},
		{`<span font="Sans Bold Italic 9">f</span>`, []MarkupRun{{Text: "f", Family: "Sans", Weight: 700, Italic: true, Size: "9pt"}}},
		{`<span face="DejaVu Sans Mono" rise="-5000" lang="de" letter_spacing="1024" alpha="50%">f</span>`, []MarkupRun{{Text: "f", Family: "DejaVu Sans Mono"}}},
		{`<span variant="smallcaps">v</span>`, []MarkupRun{{Text: "v", SmallCaps: true}}},
		{"<markup>a &lt;b&gt; &amp; &quot;c&quot; &apos; &#65;&#x42;</markup>", []MarkupRun{{Text: `a <b> & "c" ' AB`}}},
		{"<b>a<b/>b</b>", []MarkupRun{{Text: "ab", Weight: 700}}},
		{`<span foreground="a&amp;b">x</span>`, nil},
		{"", nil},
	}
	for _, tc := range tests {
		got, err := ParseMarkup(tc.in)
		if tc.want == nil && tc.in != "" {
			if err == nil {
				t.Errorf("%q: %+v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q:\n got %+v, %v\nwant %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{
		"<b>unclosed", "a & b", "&nope;", "&#0;", "<b>x</i>", "</b>", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
		`<span onclick="alert(1)">x</span>`, `<span foreground="red;background:url(javascript:alert(1))">x</span>`,
		`<span foreground="#12">x</span>`, `<span foreground="#ggg">x</span>`, `<span font_family="x;}body{">x</span>`,
		`<span size="-3">x</span>`, `<span weight="99">x</span>`, `<span style="sideways">x</span>`, `<span foreground=red>x</span>`,
		`<span foreground="red>x</span>`, `<b class="x">x</b>`, "<span", "<b", "x</", "<span foreground='<b>'>x</span>",
	} {
		if got, err := ParseMarkup(bad); err == nil {
			t.Errorf("%q: %+v, want an error", bad, got)
		}
	}
}

var (
	safeColor  = regexp.MustCompile(`^(#[0-9a-f]{6}|[a-z]{1,40})$`)
	safeSize   = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(em|pt)$`)
	safeFamily = regexp.MustCompile(`^[A-Za-z0-9_ ,-]{1,100}$`)
)

// checkRuns asserts what the page relies on: every style value is of a
// safe form, and the runs' text is the markup's text.
func checkRuns(t *testing.T, in string, runs []MarkupRun) {
	t.Helper()
	var text strings.Builder
	for _, r := range runs {
		text.WriteString(r.Text)
		for _, c := range []string{r.Color, r.Background} {
			if c != "" && !safeColor.MatchString(c) {
				t.Fatalf("%q: color %q", in, c)
			}
		}
		if r.Size != "" && !safeSize.MatchString(r.Size) {
			t.Fatalf("%q: size %q", in, r.Size)
		}
		if r.Family != "" && !safeFamily.MatchString(r.Family) {
			t.Fatalf("%q: family %q", in, r.Family)
		}
		if r.Weight != 0 && (r.Weight < 100 || r.Weight > 1000) {
			t.Fatalf("%q: weight %d", in, r.Weight)
		}
		switch r.Underline {
		case "", "single", "double", "low", "error":
		default:
			t.Fatalf("%q: underline %q", in, r.Underline)
		}
		switch r.VAlign {
		case "", "sub", "super":
		default:
			t.Fatalf("%q: valign %q", in, r.VAlign)
		}
	}
	if got := text.String(); got != markupText(in) {
		t.Fatalf("%q: runs' text %q, drawn text %q", in, got, markupText(in))
	}
}

func FuzzParseMarkup(f *testing.F) {
	for _, s := range []string{"plain", "<b>bold</b> <i>i</i>", `<span foreground="#f00" size="x-large">r</span>`,
		"&lt;&#65;&#x42;", `<span font="Sans Bold 9">f</span>`, "<big><sub>x</sub></big>", "<script>x</script>",
		`<span foreground="a&amp;b">`, "<b>a<b/>b</b>", `<span face='A, B'>x</span>`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		runs, err := ParseMarkup(s)
		if err != nil {
			return
		}
		checkRuns(t, s, runs)
	})
}
