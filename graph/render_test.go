package graph

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"math"
	"math/rand"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	xfont "golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

func testSpecData(t testing.TB) (*Spec, *Data) {
	t.Helper()
	s, _, err := ParseArgs([]string{
		"-t", `<script>alert("t")</script>`, "-v", "req/s",
		"DEF:a=x:v:AVERAGE", "DEF:b=x:w:AVERAGE", "VDEF:amax=a,MAXIMUM", "VDEF:bavg=b,AVERAGE",
		`AREA:a#00ff00:a <b>legend</b>`, "AREA:b#0000ff:b:STACK", "LINE2:a#ff0000",
		"HRULE:5#000000:five", "VRULE:amax#888888:peak",
		"GPRINT:amax:max %6.2lf %s", `COMMENT:done\l`, "COMMENT:next line",
	})
	if err != nil {
		t.Fatal(err)
	}
	d := &Data{Start: 1000, End: 1000 + 6*60, Step: 60,
		Columns: map[string][]float64{
			"a": {1, 2, math.NaN(), 4, 5, 6},
			"b": {10, math.NaN(), 10, 10, 10, 10},
		},
		VDEFs: map[string]VValue{"amax": {Value: 6000, Time: 1360}, "bavg": {Value: 10}},
		Sources: []SourceInfo{{Def: "a", Series: "x", DS: "v", CF: "AVERAGE", Step: 60},
			{Def: "b", Series: "x", DS: "w", CF: "AVERAGE", Step: 60}},
	}
	return s, d
}

func TestEChart(t *testing.T) {
	t.Parallel()
	s, d := testSpecData(t)
	c, err := EChart(s, d)
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		Title  struct{ Text, Subtext string } `json:"title"`
		Series []struct {
			Name     string          `json:"name"`
			Stack    string          `json:"stack"`
			Data     [][2]*float64   `json:"data"`
			MarkLine json.RawMessage `json:"markLine"`
		} `json:"series"`
		XAxis    []struct{ Type string } `json:"xAxis"`
		DataZoom []struct{ Type string } `json:"dataZoom"`
	}
	if err := json.Unmarshal(c.Options, &o); err != nil {
		t.Fatalf("options: %v\n%s", err, c.Options)
	}
	if o.Title.Text != s.Title || o.Title.Subtext != "step 1m · AVERAGE" {
		t.Errorf("title = %+v", o.Title)
	}
	if len(o.XAxis) != 1 || o.XAxis[0].Type != "time" || len(o.DataZoom) != 2 {
		t.Errorf("axis/zoom = %+v %+v", o.XAxis, o.DataZoom)
	}
	if len(o.Series) != 5 {
		t.Fatalf("%d series, want 3 drawn + 2 rules", len(o.Series))
	}
	if o.Series[0].Stack == "" || o.Series[0].Stack != o.Series[1].Stack || o.Series[2].Stack != "" {
		t.Errorf("stacks = %q %q %q", o.Series[0].Stack, o.Series[1].Stack, o.Series[2].Stack)
	}
	a := o.Series[0].Data
	if len(a) != 6 || *a[0][0] != 1060000 || *a[0][1] != 1 || a[2][1] != nil {
		t.Errorf("series a data = %v", a)
	}
	if !strings.Contains(string(o.Series[4].MarkLine), "1360000") {
		t.Errorf("VRULE markLine = %s", o.Series[4].MarkLine)
	}
	// Hostile strings stay data: JSON escapes <, > and & so the options can
	// be embedded in a page without breaking out of a script element.
	if bytes.Contains(c.Options, []byte("<script>")) || bytes.Contains(c.Options, []byte("<b>")) {
		t.Errorf("options contain raw markup: %s", c.Options)
	}
	// One justified line, as rrdtool places them in an 800 px wide graph.
	wantLegend := []LegendEntry{{Color: "#00ff00", Text: "a <b>legend</b>"}, {Color: "#0000ff", Text: "b"}, {Color: "#000000", Text: "five"},
		{Color: "#888888", Text: "peak"}, {Text: "max   6.00 k"}, {Text: "done"}, {Text: "next line", Line: 1}}
	if len(c.Legend) != len(wantLegend) {
		t.Fatalf("legend = %+v", c.Legend)
	}
	for i := range wantLegend {
		if !reflect.DeepEqual(c.Legend[i], wantLegend[i]) {
			t.Errorf("legend[%d] = %+v, want %+v", i, c.Legend[i], wantLegend[i])
		}
	}
}

func TestLayoutStack(t *testing.T) {
	t.Parallel()
	s, d := testSpecData(t)
	items, err := layout(s, d)
	if err != nil {
		t.Fatal(err)
	}
	b := items[1]
	want := []float64{11, math.NaN(), 10, 14, 15, 16}
	for i, v := range b.top {
		if !(v == want[i] || math.IsNaN(v) && math.IsNaN(want[i])) {
			t.Errorf("stacked top[%d] = %v, want %v", i, v, want[i])
		}
	}
	s.Items[0].Vname = "missing"
	if _, err := layout(s, d); err == nil || !strings.Contains(err.Error(), `no data for "missing"`) {
		t.Errorf("layout with a missing column: %v", err)
	}
}

func TestPNG(t *testing.T) {
	t.Parallel()
	s, d := testSpecData(t)
	b, err := PNG(s, d, 400, 200)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	r := img.Bounds()
	if r.Dx() < 400+51+15+15 || r.Dy() < 200+16*3 {
		t.Errorf("image %v, want a 400 wide plot with rrdtool's margins and room for 3 legend rows", r)
	}
	// The green area must have painted something.
	green := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if cg > 0xe000 && cr < 0x2000 && cb < 0x2000 {
				green++
			}
		}
	}
	if green < 100 {
		t.Errorf("only %d green pixels", green)
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[int64]string{60: "1m", 300: "5m", 3600: "1h", 86400: "1d", 604800: "1w", 90: "90s", 1: "1s"} {
		if got := FormatDuration(in); got != want {
			t.Errorf("FormatDuration(%d) = %q, want %q", in, got, want)
		}
	}
}

// TestEChartMarkers draws events as vertical lines on their own legend
// entry; events outside the data range are left out, labels stay data.
func TestEChartMarkers(t *testing.T) {
	t.Parallel()
	s, d := testSpecData(t)
	c, err := EChart(s, d, Markers{Name: "failed runs", Events: []Marker{
		{Time: 900, Label: "before"}, {Time: 1120, Label: "fail <b>x</b>"}, {Time: 1300, Label: "timeout"}, {Time: 5000, Label: "after"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		Series []struct {
			Name     string `json:"name"`
			MarkLine struct {
				Data []struct {
					Name  string `json:"name"`
					XAxis int64  `json:"xAxis"`
				} `json:"data"`
			} `json:"markLine"`
		} `json:"series"`
	}
	if err := json.Unmarshal(c.Options, &o); err != nil {
		t.Fatal(err)
	}
	last := o.Series[len(o.Series)-1]
	if last.Name != "failed runs" || len(last.MarkLine.Data) != 2 ||
		last.MarkLine.Data[0].XAxis != 1120000 || last.MarkLine.Data[1].Name != "timeout" {
		t.Errorf("marker series %+v", last)
	}
	if bytes.Contains(c.Options, []byte("<b>")) {
		t.Errorf("marker label not escaped: %s", c.Options)
	}
	if _, err := EChart(s, d, Markers{Name: "x", Color: "red"}); err == nil {
		t.Error("bad marker color accepted")
	}
}

// benchSpecData is a 1000-row graph with three items (an area, a stacked
// area and a line) and a rule, the size of a typical shared PNG.
func benchSpecData(b testing.TB) (*Spec, *Data) {
	s, _, err := ParseArgs([]string{
		"-t", "requests", "-v", "req/s",
		"DEF:a=x:v:AVERAGE", "DEF:b=x:w:AVERAGE", "DEF:c=x:u:AVERAGE",
		"AREA:a#00cc0080:a", "AREA:b#0000ff80:b:STACK", "LINE2:c#ff0000:c",
		"HRULE:50#000000:fifty",
	})
	if err != nil {
		b.Fatal(err)
	}
	const n = 1000
	d := &Data{Start: 1_700_000_000, End: 1_700_000_000 + n*60, Step: 60,
		Columns: map[string][]float64{"a": make([]float64, n), "b": make([]float64, n), "c": make([]float64, n)}}
	for i := range n {
		x := float64(i)
		d.Columns["a"][i] = 30 + 20*math.Sin(x/40)
		d.Columns["b"][i] = 15 + 10*math.Cos(x/17)
		d.Columns["c"][i] = 60 + 25*math.Sin(x/9)
		if i%97 == 13 {
			d.Columns["c"][i] = math.NaN()
		}
	}
	return s, d
}

func BenchmarkPNG(b *testing.B) {
	s, d := benchSpecData(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PNG(s, d, 800, 300); err != nil {
			b.Fatal(err)
		}
	}
}

func TestValidColor(t *testing.T) {
	t.Parallel()
	for c, want := range map[string]bool{
		"#ff0000": true, "#FF00aa": true, "#0000ff80": true,
		"": false, "red": false, "#ff000": false, "#ff00000": false, "#gg0000": false,
		"ff0000": false, "#ff0000ff0": false, "#ff 000": false, "#ff0000\n": false,
	} {
		if got := validColor(c); got != want {
			t.Errorf("validColor(%q) = %v, want %v", c, got, want)
		}
	}
}

// TestSVG renders every kind of element as SVG and parses it back: a
// well-formed document of the layout's size with the legend texts in it.
func TestSVG(t *testing.T) {
	t.Parallel()
	s, d := testSpecData(t)
	s.Look.Format = "SVG"
	s.Items = append(s.Items, Item{Type: ItemTick, Vname: "a", Color: "#ff000080", Fraction: 0.2, Legend: "tick & <x>"},
		Item{Type: ItemLine, Vname: "b", Color: "#123456", Width: 2, Dashes: true, DashPattern: []float64{3, 2}, DashOffset: 1})
	s.VLabel = "req/s"
	s.Look.Watermark = "wm"
	s.Width, s.Height = 300, 120
	im, err := Layout(s, d, LayoutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Render(im, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	var texts []string
	var root xml.StartElement
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse: %v\n%s", err, b)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if root.Name.Local == "" {
				root = e
			}
		case xml.CharData:
			texts = append(texts, string(e))
		}
	}
	attr := func(n string) string {
		for _, a := range root.Attr {
			if a.Name.Local == n {
				return a.Value
			}
		}
		return ""
	}
	if root.Name.Local != "svg" || attr("width") != strconv.Itoa(im.Width) || attr("height") != strconv.Itoa(im.Height) {
		t.Errorf("root %v %q×%q, want svg %d×%d", root.Name, attr("width"), attr("height"), im.Width, im.Height)
	}
	all := strings.Join(texts, "\n")
	for _, l := range im.Legend {
		if !strings.Contains(all, l.Text) {
			t.Errorf("legend text %q not in the SVG", l.Text)
		}
	}
	for _, want := range []string{"req/s", "wm", s.Title} {
		if !strings.Contains(all, want) {
			t.Errorf("%q not in the SVG", want)
		}
	}
	if !bytes.Contains(b, []byte(`stroke-dasharray="3,2"`)) {
		t.Error("no dashed line in the SVG")
	}
}

// TestPDF renders a graph as PDF and reads it back: header, a cross
// reference table whose every offset points at its object, a trailer
// naming the root, the page the image's size, and the legend text in the
// (uncompressed) content.
func TestPDF(t *testing.T) {
	t.Parallel()
	s, d := testSpecData(t)
	s.Look.Format = "PDF"
	s.Width, s.Height = 300, 120
	im, err := Layout(s, d, LayoutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Render(im, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("%PDF-1.")) || !bytes.HasSuffix(bytes.TrimSpace(b), []byte("%%EOF")) {
		t.Fatalf("not a PDF: %.20q … %.20q", b, b[max(0, len(b)-20):])
	}
	k := bytes.LastIndex(b, []byte("startxref"))
	if k < 0 {
		t.Fatal("no startxref")
	}
	xref, err := strconv.Atoi(strings.Fields(string(b[k+len("startxref"):]))[0])
	if err != nil || xref <= 0 || xref >= len(b) {
		t.Fatalf("startxref %d: %v", xref, err)
	}
	if !bytes.HasPrefix(b[xref:], []byte("xref")) {
		t.Fatalf("startxref %d does not point at the xref table: %.20q", xref, b[xref:])
	}
	lines := strings.Split(string(b[xref:]), "\n")
	var first, n int
	if _, err := fmt.Sscan(lines[1], &first, &n); err != nil || n < 3 {
		t.Fatalf("xref header %q: %v", lines[1], err)
	}
	for i := 1; i < n; i++ {
		f := strings.Fields(lines[2+i])
		if len(f) != 3 {
			t.Fatalf("xref entry %q", lines[2+i])
		}
		off, err := strconv.Atoi(f[0]) // decimal with leading zeros (Sscan would read octal)
		if err != nil || off >= len(b) {
			t.Fatalf("xref entry %q: %v", lines[2+i], err)
		}
		kind := f[2]
		if kind == "n" && !bytes.HasPrefix(b[off:], []byte(strconv.Itoa(first+i)+" 0 obj")) {
			t.Errorf("object %d at %d: %.20q", first+i, off, b[off:])
		}
	}
	if !bytes.Contains(b[xref:], []byte("/Root")) {
		t.Error("trailer without /Root")
	}
	if want := fmt.Sprintf("/MediaBox [0 0 %d.00 %d.00]", im.Width, im.Height); !bytes.Contains(b, []byte(want)) {
		t.Errorf("no %s in the PDF", want)
	}
}

func TestLogTicks(t *testing.T) {
	t.Parallel()
	s, d := testSpecData(t)
	s.Look.Logarithmic = true
	s.Look.Rigid = true
	lo, hi := 0.5, 2000.0
	s.Lower, s.Upper = &lo, &hi
	im, err := Layout(s, d, LayoutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	minor := 0
	for _, tk := range im.YTicks() {
		if tk.Major {
			labels = append(labels, tk.Label)
		} else {
			minor++
		}
	}
	if strings.Join(labels, " ") != "1e+00 1e+01 1e+02 1e+03" || minor != 5+8+8+8+1 { // 0.5…0.9, 2…9 ×3 decades, 2000
		t.Errorf("log labels %q, %d minor lines", labels, minor)
	}
	s.Look.UnitsSI = true
	im, _ = Layout(s, d, LayoutOptions{})
	labels = labels[:0]
	for _, tk := range im.YTicks() {
		if tk.Major {
			labels = append(labels, tk.Label)
		}
	}
	if strings.Join(labels, ",") != "1,10,100,1 k" {
		t.Errorf("--units=si log labels %q", labels)
	}
}

// TestYTicks: rrdtool's classic grid labels ("%4.0f"/"%4.1f" with the SI
// symbol), or --left-axis-format's.
func TestYTicks(t *testing.T) {
	t.Parallel()
	s, d := testSpecData(t)
	lo, hi := 0.0, 5000.0
	s.Lower, s.Upper, s.Look.Rigid = &lo, &hi, true
	s.Width, s.Height = 400, 200
	labels := func() []string {
		im, err := Layout(s, d, LayoutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tk := range im.YTicks() {
			if tk.Major {
				out = append(out, tk.Label)
			}
		}
		return out
	}
	if got := strings.Join(labels(), ","); got != "0.0,1.0 k,2.0 k,3.0 k,4.0 k,5.0 k" {
		t.Errorf("labels %q", got)
	}
	s.Look.AxisFormat = "%.2lf u"
	if got := strings.Join(labels(), ","); got != "0.00 u,1.00 u,2.00 u,3.00 u,4.00 u,5.00 u" {
		t.Errorf("--left-axis-format labels %q", got)
	}
	s.Look.AxisFormat = ""
	// --alt-y-grid (calc_horizontal_grid's): 5000 has 4 digits, the step
	// is 1000 (5 lines), each labelled "%5.0f"
	s.Look.AltYGrid = true
	if got := strings.Join(labels(), ","); got != "0,1 k,2 k,3 k,4 k,5 k" {
		t.Errorf("--alt-y-grid labels %q", got)
	}
	lo, hi = 0, 0.35 // 350 m: step 100 m / 5, labels every 5th line
	im, err := Layout(s, d, LayoutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var major, minor int
	for _, tk := range im.YTicks() {
		if tk.Major {
			major++
		} else {
			minor++
		}
	}
	if got := strings.Join(labels(), ","); got != "0,100 m,200 m,300 m" || minor != 14 {
		t.Errorf("--alt-y-grid 0…0.35: labels %q and %d minor lines, want 4 labels and 14 lines between", got, minor)
	}
	// right axis labels follow the left ones
	s.Look.RightAxis = "2:1"
	im, err = Layout(s, d, LayoutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var right []string
	for _, tk := range im.YTicks() {
		if tk.Major {
			right = append(right, tk.RightLabel)
		}
	}
	// 2·v+1 in the SI prefix of the grid's middle: "%5.0f %s", as the
	// left labels (in milli) are over 10
	if got := strings.Join(right, ","); got != "    1  ,    1  ,    1  ,    2  " {
		t.Errorf("right axis labels %q", got)
	}
}

// TestEmbeddedFont: make embeds DejaVu Sans Mono (graph/fontdata); its
// metrics are the ones the layout uses, and the PDF embeds it.
func TestEmbeddedFont(t *testing.T) {
	t.Parallel()
	ttf := DejaVuTTF()
	if ttf == nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("DejaVu Sans Mono is not embedded (CI=true; make deps-test copies it to graph/fontdata)")
		}
		t.Skip("DejaVu Sans Mono not embedded (make deps-test copies it to graph/fontdata)")
	}
	if got := TextFontName(); got != "DejaVu Sans Mono" {
		t.Errorf("TextFontName() = %q", got)
	}
	f, err := textFont()
	if err != nil {
		t.Fatal(err)
	}
	var buf sfnt.Buffer
	if name, err := f.Name(&buf, sfnt.NameIDFull); err != nil || name != "DejaVu Sans Mono" {
		t.Errorf("font name %q, %v", name, err)
	}
	gi, err := f.GlyphIndex(&buf, 'M')
	if err != nil {
		t.Fatal(err)
	}
	adv, err := f.GlyphAdvance(&buf, gi, fixed.I(2048), xfont.HintingNone)
	if err != nil || float64(adv)/64/2048 != monoAdvance {
		t.Errorf("advance of M %v/2048 em (%v), layout uses %v", float64(adv)/64, err, monoAdvance)
	}
	s, d := testSpecData(t)
	s.Look.Format = "PDF"
	im, err := Layout(s, d, LayoutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Render(im, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("/BaseFont /utf8dejavusansmono")) {
		t.Error("the PDF does not embed DejaVu Sans Mono")
	}
}

// TestAppendSVGNum: the fast paths write what strconv.FormatFloat(v, 'f',
// -1, 64) writes, for whole, half and other values, negative zero and
// large ones.
func TestAppendSVGNum(t *testing.T) {
	t.Parallel()
	vals := []float64{0, math.Copysign(0, -1), 0.5, 1, 1.5, -0.5, -1, -2.5, 0.25, 1e-7, 9, 10, 99, 100, 999, 1000, 9999, 9999.5, 10000, 10000.5, 123456.5, 1e6, 1e15, 1e15 + 0.5, 1e21,
		math.Nextafter(1, 2), math.Nextafter(0.5, 1), math.Inf(1), math.NaN(),
		math.Inf(-1), math.Copysign(math.NaN(), -1), math.Nextafter(10000, 0), math.Nextafter(9999.5, 0), 9999.75, 5e-324, 0.75}
	rng := rand.New(rand.NewSource(3))
	for range 2000 {
		v := float64(rng.Intn(4000)-1000) / float64([]int{1, 2, 4, 3, 10}[rng.Intn(5)])
		vals = append(vals, v)
	}
	for _, v := range vals {
		if got, want := string(appendSVGNum(nil, v)), strconv.FormatFloat(v, 'f', -1, 64); got != want {
			t.Errorf("%v: %q, want %q", v, got, want)
		}
	}
}

// TestSVGPangoMarkup: with --pango-markup the SVG draws bold, italic,
// underline, strikethrough and colors as tspans of the parsed markup (a
// well-formed document whose text is the markup's text, no element but
// tspans inside a text); markup pango refuses is drawn as before.
func TestSVGPangoMarkup(t *testing.T) {
	t.Parallel()
	s, d := testSpecData(t)
	s.Look.Format = "SVG"
	s.Look.PangoMarkup = true
	s.Items = append(s.Items,
		Item{Type: ItemComment, Legend: `<b>bold</b> <i>it</i> <span foreground="#f00" underline="single">red</span> &amp; <s>gone</s>\l`},
		Item{Type: ItemComment, Legend: `<script>x</script> <b onclick="y">z</b>\l`})
	im, err := Layout(s, d, LayoutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Render(im, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	type span struct{ text, attrs string }
	var spans []span
	var texts []string
	var cur *xml.StartElement
	var text strings.Builder
	depth := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse: %v\n%s", err, b)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			switch e.Name.Local {
			case "text":
				depth, text = 1, strings.Builder{}
			case "tspan":
				e := e.Copy()
				cur = &e
			default:
				if depth > 0 {
					t.Fatalf("<%s> inside a text element:\n%s", e.Name.Local, b)
				}
			}
		case xml.EndElement:
			switch e.Name.Local {
			case "text":
				texts, depth = append(texts, text.String()), 0
			case "tspan":
				cur = nil
			}
		case xml.CharData:
			if depth > 0 {
				text.Write(e)
			}
			if cur != nil {
				var as []string
				for _, a := range cur.Attr {
					as = append(as, a.Name.Local+"="+a.Value)
				}
				spans = append(spans, span{string(e), strings.Join(as, " ")})
			}
		}
	}
	want := []span{{"legend", "font-weight=700"}, {"bold", "font-weight=700"}, {"it", "font-style=italic"}, {"red", "text-decoration=underline fill=#ff0000"}, {"gone", "text-decoration=line-through"}}
	if !reflect.DeepEqual(spans, want) {
		t.Errorf("tspans %q, want %q", spans, want)
	}
	joined := strings.Join(texts, "|")
	// refused markup keeps the PNG's treatment (markupText: tags dropped)
	for _, w := range []string{"bold it red & gone", "x z"} {
		if !strings.Contains(joined, w) {
			t.Errorf("texts %q lack %q", texts, w)
		}
	}
}

// TestPNGPangoMarkup: with --pango-markup the PNG strikes bold text twice
// (more ink than the plain text in the same place), draws a #rrggbb
// foreground in its color, and draws text without tags as before.
func TestPNGPangoMarkup(t *testing.T) {
	t.Parallel()
	render := func(legend string) *image.RGBA {
		t.Helper()
		s, d := testSpecData(t)
		s.Look.PangoMarkup = true
		s.Items = append(s.Items, Item{Type: ItemComment, Legend: legend + `\l`})
		s.Width, s.Height = 300, 100
		im, err := Layout(s, d, LayoutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := im.PNG(time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		out := image.NewRGBA(img.Bounds())
		draw.Draw(out, out.Bounds(), img, image.Point{}, draw.Src)
		return out
	}
	ink := func(img *image.RGBA, pred func(r, g, b uint8) bool) int {
		n := 0
		for i := 0; i+3 < len(img.Pix); i += 4 {
			if pred(img.Pix[i], img.Pix[i+1], img.Pix[i+2]) {
				n++
			}
		}
		return n
	}
	dark := func(r, g, b uint8) bool { return int(r)+int(g)+int(b) < 300 }
	red := func(r, g, b uint8) bool { return r > 200 && g < 80 && b < 80 }
	plain, bold := render("plain text here"), render("<b>plain text here</b>")
	if p, b := ink(plain, dark), ink(bold, dark); b <= p {
		t.Errorf("bold ink %d, plain %d: not bolder", b, p)
	}
	if n, p := ink(render(`<span foreground="#ff0000">plain text here</span>`), red), ink(plain, red); n < p+20 {
		t.Errorf("a red span: %d red pixels, %d without it", n, p)
	}
	if !bytes.Equal(plain.Pix, render("plain text here").Pix) {
		t.Error("the same plain legend renders differently")
	}
}

// TestSVGPointsRepeats: a coordinate copied from the point before is
// the one formatting would write, for repeats, zeros of both signs and
// values that only look alike.
func TestSVGPointsRepeats(t *testing.T) {
	t.Parallel()
	negZero := math.Copysign(0, -1)
	pts := []pt{{1, 99.43503847894976}, {2, 99.43503847894976}, {2, 0}, {3, negZero}, {3, negZero},
		{4.5, 0.1 + 0.2}, {5, 0.3}, {5, 0.3}, {5, 1e300}, {5, 1e300}, {negZero, 7}, {0, 7}}
	var want []string
	for _, q := range pts {
		want = append(want, string(appendSVGNum(nil, clampCoord(q.x)))+","+string(appendSVGNum(nil, clampCoord(q.y))))
	}
	if got := svgPoints(pts); got != strings.Join(want, " ") {
		t.Fatalf("svgPoints = %q, want %q", got, strings.Join(want, " "))
	}
}
