package obs

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

const statFixture = "17373 (rr dash) (x) S 17369 17369 9074 0 -1 4194304 100 0 0 0 250 37 0 0 20 0 7 0 728700 2998272 393 18446744073709551615 94500812464128 0 0 0\n"

// parseCase is a parser's input and its result, or a text its error
// must contain.
type parseCase[T comparable] struct {
	name, in string
	want     T
	err      string
}

// runParseCases runs every case through parse, each in a parallel subtest.
func runParseCases[T comparable](t *testing.T, parse func([]byte) (T, error), tests []parseCase[T]) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parse([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestParseProcStat(t *testing.T) {
	t.Parallel()
	tests := []parseCase[procStat]{
		{"comm with spaces and parens", statFixture, procStat{UTime: 250, STime: 37, StartTime: 728700, VSize: 2998272, RSS: 393}, ""},
		{"plain", "1 (rrdash) R 0 1 1 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5 6 7 0\n", procStat{UTime: 1, STime: 2, StartTime: 5, VSize: 6, RSS: 7}, ""},
		{"no comm", "1 rrdash R 0", procStat{}, "no (comm)"},
		{"short", "1 (rrdash) R 0 1 1", procStat{}, "fields after comm"},
		{"bad utime", "1 (rrdash) R 0 1 1 0 -1 0 0 0 0 0 x 2 0 0 20 0 1 0 5 6 7 0\n", procStat{}, "field 14"},
		{"bad rss", "1 (rrdash) R 0 1 1 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5 6 z 0\n", procStat{}, "field 24"},
		{"empty", "", procStat{}, "no (comm)"},
	}
	runParseCases(t, parseProcStat, tests)
}

const limitsFixture = `Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max processes             96362                96362                processes 
Max open files            1024                 524288               files     
Max locked memory         8388608              8388608              bytes     
`

func TestParseMaxOpenFiles(t *testing.T) {
	t.Parallel()
	tests := []parseCase[float64]{
		{"soft limit", limitsFixture, 1024, ""},
		{"unlimited", "Max open files            unlimited            unlimited            files\n", math.Inf(1), ""},
		{"no row", "Limit Soft Hard Units\nMax cpu time unlimited unlimited seconds\n", 0, "no Max open files"},
		{"bad number", "Max open files            12x                  1                    files\n", 0, "Max open files"},
		{"no value", "Max open files\n", 0, "no soft limit"},
	}
	runParseCases(t, parseMaxOpenFiles, tests)
}

func TestParseBootTime(t *testing.T) {
	t.Parallel()
	tests := []parseCase[uint64]{
		{"btime", "cpu  1 2 3 4\nintr 5\nctxt 6\nbtime 1764700000\nprocesses 7\n", 1764700000, ""},
		{"no btime", "cpu  1 2 3 4\n", 0, "no btime"},
		{"bad btime", "btime soon\n", 0, "btime"},
	}
	runParseCases(t, parseBootTime, tests)
}

func FuzzParseProcFiles(f *testing.F) {
	for _, s := range []string{statFixture, limitsFixture, "btime 5\n", "1 ()) R", ")(", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		parseProcStat(b) // must not panic; errors are fine
		parseMaxOpenFiles(b)
		parseBootTime(b)
	})
}

func TestRebucket(t *testing.T) {
	t.Parallel()
	h := &metrics.Float64Histogram{
		Buckets: []float64{math.Inf(-1), 1e-6, 9e-6, 1.1e-5, 1e-3, 2, math.Inf(1)},
		Counts:  []uint64{1, 2, 3, 4, 5, 6},
	}
	// bounds 1e-5, 1e-3, 1: [-Inf,1e-6) and [1e-6,9e-6) ≤ 1e-5; [9e-6,1.1e-5)
	// and [1.1e-5,1e-3) ≤ 1e-3; [1e-3,2) and [2,+Inf) in +Inf.
	got := rebucket(h, []float64{1e-5, 1e-3, 1})
	if want := []uint64{3, 7, 0, 11}; !slices.Equal(got, want) {
		t.Fatalf("rebucket = %v, want %v", got, want)
	}
}

// TestRuntimeAndProcessMetrics scrapes a registry with the runtime and
// process collectors through the Prometheus text parser and checks each
// family's type and that its value is plausible for this test process.
func TestRuntimeAndProcessMetrics(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	RegisterRuntime(r, BuildInfo{Version: "1.2.3-4-gabc", Revision: "abc123", GoVersion: runtime.Version()})
	runtime.GC() // at least one GC pause to count
	var buf bytes.Buffer
	if err := WriteText(&buf, r.Gather()); err != nil {
		t.Fatal(err)
	}
	fams := parseText(t, buf.Bytes())
	now := float64(time.Now().Unix())
	pos := func(v float64) bool { return v > 0 && !math.IsInf(v, 0) }
	tests := []struct {
		name string
		typ  dto.MetricType
		ok   func(v float64) bool
	}{
		{"rrdash_build_info", dto.MetricType_GAUGE, func(v float64) bool { return v == 1 }},
		{"go_info", dto.MetricType_GAUGE, func(v float64) bool { return v == 1 }},
		{"go_goroutines", dto.MetricType_GAUGE, pos},
		{"go_threads", dto.MetricType_GAUGE, pos},
		{"go_gc_duration_seconds", dto.MetricType_HISTOGRAM, nil},
		{"go_memstats_heap_alloc_bytes", dto.MetricType_GAUGE, pos},
		{"go_memstats_heap_inuse_bytes", dto.MetricType_GAUGE, pos},
		{"go_memstats_sys_bytes", dto.MetricType_GAUGE, func(v float64) bool { return v > 1<<20 }},
		{"process_cpu_seconds_total", dto.MetricType_COUNTER, func(v float64) bool { return v >= 0 && v < 1e6 }},
		{"process_resident_memory_bytes", dto.MetricType_GAUGE, func(v float64) bool { return v > 1<<20 }},
		{"process_virtual_memory_bytes", dto.MetricType_GAUGE, func(v float64) bool { return v > 1<<20 }},
		{"process_open_fds", dto.MetricType_GAUGE, pos},
		{"process_max_fds", dto.MetricType_GAUGE, pos},
		{"process_start_time_seconds", dto.MetricType_GAUGE, func(v float64) bool { return v <= now+1 && v > now-3600 }},
	}
	for _, tt := range tests {
		f := fams[tt.name]
		if f == nil {
			t.Errorf("%s: missing", tt.name)
			continue
		}
		if f.GetType() != tt.typ {
			t.Errorf("%s: type %v, want %v", tt.name, f.GetType(), tt.typ)
		}
		if len(f.Metric) != 1 {
			t.Errorf("%s: %d series, want 1", tt.name, len(f.Metric))
			continue
		}
		m := f.Metric[0]
		if tt.typ == dto.MetricType_HISTOGRAM {
			h := m.GetHistogram()
			if h.GetSampleCount() == 0 || !(h.GetSampleSum() > 0) {
				t.Errorf("%s: count %d sum %v after runtime.GC, want both > 0", tt.name, h.GetSampleCount(), h.GetSampleSum())
			}
			continue
		}
		v := m.GetGauge().GetValue()
		if tt.typ == dto.MetricType_COUNTER {
			v = m.GetCounter().GetValue()
		}
		if !tt.ok(v) {
			t.Errorf("%s = %v: implausible", tt.name, v)
		}
	}
	labels := map[string]string{}
	for _, l := range fams["rrdash_build_info"].Metric[0].Label {
		labels[l.GetName()] = l.GetValue()
	}
	if labels["version"] != "1.2.3-4-gabc" || labels["revision"] != "abc123" || labels["goversion"] != runtime.Version() {
		t.Errorf("rrdash_build_info labels %v", labels)
	}
}

// TestProcessMetricsUnreadable: with no /proc the process families are
// present but empty (no made-up values), and the scrape still parses.
func TestProcessMetricsUnreadable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte("cpu 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := NewRegistry()
	registerProcess(r, procFS{root: dir})
	for _, f := range r.Gather() {
		if len(f.Points) != 0 {
			t.Errorf("%s: %d points from an empty /proc", f.Name, len(f.Points))
		}
	}
}

// TestReadBuildInfo: the Makefile's -X values are used as given (go test
// stamps no VCS settings to override them), and without them the version
// falls back to what go build stamped, never to "".
func TestReadBuildInfo(t *testing.T) {
	t.Parallel()
	b := ReadBuildInfo("1.2.3", "abc", "2026-12-03T10:00:00Z")
	if b.Version != "1.2.3" || b.Revision != "abc" || b.Time != "2026-12-03T10:00:00Z" || b.GoVersion != runtime.Version() || b.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("ReadBuildInfo with -X values = %+v", b)
	}
	if b := ReadBuildInfo("", "", ""); b.Version == "" {
		t.Errorf("ReadBuildInfo without -X values: empty version (%+v)", b)
	}
}
