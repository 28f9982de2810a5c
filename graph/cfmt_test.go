package graph

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestPrintFormat checks (G)PRINT formatting against what C's printf
// (glibc) prints for the same format and value.
func TestPrintFormat(t *testing.T) {
	t.Parallel()
	nan := math.NaN()
	tests := []struct {
		f    string
		v    float64
		sym  string
		want string
	}{
		{"%6.2lf", 3.14159, "", "  3.14"},
		{"%le", 12345.678, "", "1.234568e+04"},
		{"%+.3lg", 0.0001234, "", "+0.000123"},
		{"%+.3lg", 1234567, "", "+1.23e+06"},
		{"%lg", 100000, "", "100000"},
		{"%lg", 1e6, "", "1e+06"},
		{"%-8.2lf|", 1.5, "", "1.50    |"},
		{"%08.2lf", -1.5, "", "-0001.50"},
		{"%#.0lf", 3, "", "3."},
		{"%lG", 1e-10, "", "1E-10"},
		{"%.0lf", 2.5, "", "2"},
		{"%.0lf", 3.5, "", "4"},
		{"% .1lf", 2.25, "", " 2.2"},
		{"%#lg", 1, "", "1.00000"},
		{"%lg", 123456789, "", "1.23457e+08"},
		{"%.10le", 0, "", "0.0000000000e+00"},
		{"%5.1lf%%", 12.34, "", " 12.3%"},
		{"avg %6.2lf %s", 1.5, "k", "avg   1.50 k"},
		{"%lf", nan, "", "-nan"},
		{"%6.2lf", math.Inf(1), "", "   inf"},
		{"%6.2lf", math.Inf(-1), "", "  -inf"},
		{"%lf", math.Copysign(0, -1), "", "-0.000000"},
	}
	for _, tt := range tests {
		pf, err := parsePrintFormat(tt.f)
		if err != nil {
			t.Errorf("parsePrintFormat(%q): %v", tt.f, err)
			continue
		}
		if got := pf.format(tt.v, tt.sym); got != tt.want {
			t.Errorf("format(%q, %v) = %q, want %q", tt.f, tt.v, got, tt.want)
		}
	}
	// rrdtool's bad_format_print: one %l{e,f,g}, then at most one %s/%S.
	for _, bad := range []string{"", "%d", "%f", "%6.2f", "%s %lf", "%lf %lf", "%lf %s %s", "%lf%", "%5.lf", "%--5lf", "%lx"} {
		if _, err := parsePrintFormat(bad); err == nil {
			t.Errorf("parsePrintFormat(%q) accepted", bad)
		}
	}
}

func TestAutoScaleAndPrintScale(t *testing.T) {
	t.Parallel()
	v, sym, mag := autoScale(1536, 1024)
	if v != 1.5 || sym != "k" || mag != 1024 {
		t.Errorf("autoScale(1536, 1024) = %v %q %v", v, sym, mag)
	}
	if _, sym, _ := autoScale(1e30, 1000); sym != "?" {
		t.Errorf("autoScale(1e30) symbol %q, want ?", sym)
	}
	// %S reuses the first %S's scale, as rrdtool's print_calc.
	sc := &printScale{magfact: -1}
	a, _ := formatPrint(Item{Format: "%.1lf%S"}, VValue{Value: 2500}, 1000, sc, time.UTC)
	b, _ := formatPrint(Item{Format: "%.1lf%S"}, VValue{Value: 12}, 1000, sc, time.UTC)
	if a != "2.5k" || b != "0.0k" {
		t.Errorf("%%S pair = %q %q, want 2.5k 0.0k", a, b)
	}
}

func TestTimeFormats(t *testing.T) {
	t.Parallel()
	tm := time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC) // a Tuesday
	for _, tt := range []struct{ f, want string }{
		{"%Y-%m-%d %H:%M:%S", "2023-11-14 22:13:20"},
		{"%a %b %e %j %I%p %y %%", "Tue Nov 14 318 10PM 23 %"},
		{"%F %T %s", "2023-11-14 22:13:20 1700000000"},
		{"%u %w %V %G", "2 2 46 2023"},
	} {
		got, err := strftime(tt.f, tm)
		if err != nil || got != tt.want {
			t.Errorf("strftime(%q) = %q, %v; want %q", tt.f, got, err, tt.want)
		}
	}
	// glibc's answers (C locale), around ISO-year boundaries: the x-axis
	// month labels use %g.
	for _, tt := range []struct {
		sec     int64
		f, want string
	}{
		{1609470245, "%g %G %V %l %k %I|%C|%U %W", "20 2020 53  3  3 03|20|00 00"},
		{1735563600, "%g %G %V %l %k %I|%C|%U %W", "25 2025 01  1 13 01|20|52 53"},
		{1700000000, "%g %G %V %l %k %I|%C|%U %W", "23 2023 46 10 22 10|20|46 46"},
		{1700000000, "%b '%g", "Nov '23"},
	} {
		got, err := strftime(tt.f, time.Unix(tt.sec, 0).UTC())
		if err != nil || got != tt.want {
			t.Errorf("strftime(%q) = %q, %v; want %q", tt.f, got, err, tt.want)
		}
	}
	if _, err := strftime("%Q", tm); err == nil {
		t.Error("strftime accepted %Q")
	}
	if got := timeClean("%H:%M %Y-%m-%d %T %j%%"); got != "--:-- ---------- --:--:-- ---%" {
		t.Errorf("timeClean = %q", got)
	}
	for _, tt := range []struct {
		f    string
		ms   float64
		want string
	}{
		{"%H:%02m:%02s", 3723000, "1:02:03"},
		{"%W weeks %d days", 9 * 86400e3, "1 weeks 2 days"},
		{"%.3S s", 1234, "1.234 s"},
		{"%f ms", 1234, "234 ms"},
		{"%H:%02m", -5400e3, "-1:30"},
	} {
		got, err := strfduration(tt.f, tt.ms)
		if err != nil || got != tt.want {
			t.Errorf("strfduration(%q, %v) = %q, %v; want %q", tt.f, tt.ms, got, err, tt.want)
		}
	}
	if _, err := strfduration("%q", 1); err == nil {
		t.Errorf("strfduration accepted %s", "%q")
	}
}

func FuzzPrintFormat(f *testing.F) {
	for _, s := range []string{"%6.2lf %s", "%le", "avg %+08.3lg%%", "%lf%S", "%", "%l", "%5.", "%s", "%lf %lf"} {
		f.Add(s, 1.5)
	}
	f.Fuzz(func(t *testing.T, format string, v float64) {
		pf, err := parsePrintFormat(format)
		if err != nil {
			return
		}
		out := pf.format(v, "k")
		if strings.Count(format, "%") == 0 || len(out) > len(format)+400 {
			t.Fatalf("format %q gave %q", format, out)
		}
	})
}

func FuzzTimeFormats(f *testing.F) {
	for _, s := range []string{"%Y-%m-%d", "%H:%02m:%02s", "%", "%E", "%.3S", "%0", "%99.99H"} {
		f.Add(s, int64(1700000000), 12345.0)
	}
	f.Fuzz(func(t *testing.T, format string, sec int64, ms float64) {
		_, _ = strftime(format, time.Unix(sec%(1<<40), 0).UTC())
		_ = timeClean(format)
		_, _ = strfduration(format, ms)
	})
}
