package graphite

import (
	"bytes"
	"encoding/xml"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/url"
	"testing"
	"time"
)

// countColor counts the pixels of exactly c.
func countColor(im image.Image, c color.NRGBA) int {
	n := 0
	b := im.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.NRGBAModel.Convert(im.At(x, y)).(color.NRGBA) == c {
				n++
			}
		}
	}
	return n
}

// TestRenderImages: /render draws PNG (graphite-web's default format),
// SVG and PDF through the graph layout engine, sized as graphite-web's
// width and height (the whole image), colored from colorList in order, by
// color(), and with areaMode.
func TestRenderImages(t *testing.T) {
	t.Parallel()
	api := New(smallStore(t), Options{Now: func() time.Time { return time.Unix(diffNow, 0) }})
	blue, green := color.NRGBA{100, 100, 255, 255}, color.NRGBA{0, 200, 0, 255}
	red := color.NRGBA{255, 0, 0, 255}
	decode := func(q url.Values) image.Image {
		t.Helper()
		code, body := render(t, api, q)
		if code != 200 {
			t.Fatalf("%v: %d %.300s", q, code, body)
		}
		im, err := png.Decode(bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatalf("%v: %v", q, err)
		}
		return im
	}
	tests := []struct {
		name          string
		q             url.Values
		w, h          int
		want, notWant []color.NRGBA
		minArea       int // pixels of want[0] at least (areas fill)
	}{
		{"defaults: 330x250, first colors blue and green", v("target", "a.b.c", "target", "multi.cpu.user", "from", "-1h"), 330, 250,
			[]color.NRGBA{blue, green}, []color.NRGBA{red}, 0},
		{"width and height", v("target", "a.b.c", "from", "-1h", "width", "600", "height", "200"), 600, 200, []color.NRGBA{blue}, nil, 0},
		{"colorList", v("target", "a.b.c", "from", "-1h", "colorList", "FF0000,green"), 330, 250, []color.NRGBA{red}, []color.NRGBA{blue}, 0},
		{"color() over colorList", v("target", "color(a.b.c,'darkred')", "from", "-1h"), 330, 250, []color.NRGBA{red}, []color.NRGBA{blue}, 0},
		{"areaMode all fills", v("target", "a.b.c", "from", "-1h", "areaMode", "all"), 330, 250, []color.NRGBA{blue}, nil, 2000},
		{"a day consolidated to the plot's width", v("target", "a.b.c", "from", "-1d"), 330, 250, []color.NRGBA{blue}, nil, 0},
		{"no series: No Data", v("target", "nothing.here", "from", "-1h"), 330, 250, nil, []color.NRGBA{blue}, 0},
	}
	for _, tt := range tests {
		im := decode(tt.q)
		if b := im.Bounds(); b.Dx() != tt.w || b.Dy() != tt.h {
			t.Errorf("%s: %dx%d, want %dx%d", tt.name, b.Dx(), b.Dy(), tt.w, tt.h)
		}
		for i, c := range tt.want {
			n := countColor(im, c)
			if n == 0 || i == 0 && n < tt.minArea {
				t.Errorf("%s: %d pixels of %v, want at least %d", tt.name, n, c, max(tt.minArea, 1))
			}
		}
		for _, c := range tt.notWant {
			if n := countColor(im, c); n != 0 {
				t.Errorf("%s: %d pixels of %v, want none", tt.name, n, c)
			}
		}
	}

	// SVG parses as XML with a path in the series' color; PDF is a PDF.
	code, body := render(t, api, v("target", "a.b.c", "from", "-1h", "format", "svg"))
	if code != 200 {
		t.Fatalf("svg: %d %.300s", code, body)
	}
	dec := xml.NewDecoder(bytes.NewReader([]byte(body)))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("svg does not parse: %v", err)
		}
	}
	if !bytes.Contains([]byte(body), []byte("6464ff")) && !bytes.Contains([]byte(body), []byte("100,100,255")) {
		t.Errorf("svg: no stroke of graphite's blue (#6464ff)")
	}
	if code, body := render(t, api, v("target", "a.b.c", "from", "-1h", "format", "pdf")); code != 200 || !bytes.HasPrefix([]byte(body), []byte("%PDF-")) || !bytes.Contains([]byte(body), []byte("%%EOF")) {
		t.Errorf("pdf: %d %.40q", code, body)
	}
}

func TestParseGraphiteColor(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in    string
		alpha float64
		want  string
		bad   bool
	}{
		{"blue", 0, "#6464ffff", false},
		{"ff0000", 0, "#ff0000ff", false},
		{"#00ff0080", 0, "#00ff0080", false},
		{"6464ffaa", 0, "#6464ffaa", false},
		{"red", 0.5, "#c8003280", false},
		{"chartreuse", 0, "", true},
		{"12345", 0, "", true},
		{"gggggg", 0, "", true},
	} {
		got, err := parseGraphiteColor(tt.in, tt.alpha)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("%q alpha %v: %q, %v; want %q (error %v)", tt.in, tt.alpha, got, err, tt.want, tt.bad)
		}
	}
}

// v makes query values from key, value pairs.
func v(kv ...string) url.Values {
	q := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		q.Add(kv[i], kv[i+1])
	}
	return q
}
