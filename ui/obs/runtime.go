package obs

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sort"
)

// BuildInfo is what the binary knows of its own build.
type BuildInfo struct {
	Version   string // -ldflags -X version (git describe), else the module version go build stamped
	Revision  string // vcs.revision; "" when go build stamped none
	Time      string // vcs.time (RFC 3339)
	Modified  bool   // vcs.modified: built from a tree with uncommitted changes
	GoVersion string // runtime.Version()
	Platform  string // GOOS/GOARCH
}

// ReadBuildInfo combines ldVersion, ldCommit and ldTime (set by the
// Makefile from git describe, rev-parse and log; any may be empty) with
// what go build stamped into the binary, which wins for the revision and
// time: go build stamps nothing under -buildvcs=false or without git,
// hence the Makefile's copy.
func ReadBuildInfo(ldVersion, ldCommit, ldTime string) BuildInfo {
	b := BuildInfo{Version: ldVersion, Revision: ldCommit, Time: ldTime, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		if b.Version == "" {
			b.Version = "unknown"
		}
		return b
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	if b.Version == "" {
		// go build stamps a pseudo-version from the VCS (v0.0.0-…-abc+dirty);
		// go run and go test stamp "(devel)".
		b.Version = bi.Main.Version
		if b.Version == "" {
			b.Version = "(devel)"
		}
	}
	return b
}

// gcPauseBuckets are go_gc_duration_seconds' bounds: stop-the-world
// pauses run from a few µs to, on a stressed machine, tens of ms.
var gcPauseBuckets = []float64{5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 1}

// RegisterRuntime registers rrdash_build_info and the Go runtime (go_*) and
// process (process_*) families with client_golang's names and meanings.
// Every value is read when the registry is gathered: nothing is computed
// before a scrape, and a CLI command, which never builds a registry, pays
// nothing.
//
// go_gc_duration_seconds is a histogram rather than client_golang's
// summary: its buckets come from the runtime/metrics distribution
// /sched/pauses/total/gc:seconds (each runtime bucket counted in the first
// bound at or above its upper edge, so a pause is never under-reported),
// its sum is the total GC pause time of debug.ReadGCStats.
func RegisterRuntime(r *Registry, b BuildInfo) {
	r.CollectFunc("rrdash_build_info", "rrdash's version, VCS revision and Go version; the value is 1.", KindGauge, []string{"version", "revision", "goversion"}, func(emit func(float64, ...string)) {
		emit(1, b.Version, b.Revision, b.GoVersion)
	})
	r.CollectFunc("go_info", "Information about the Go environment.", KindGauge, []string{"version"}, func(emit func(float64, ...string)) {
		emit(1, b.GoVersion)
	})
	r.CollectFunc("go_goroutines", "Number of goroutines that currently exist.", KindGauge, nil, func(emit func(float64, ...string)) {
		emit(float64(runtime.NumGoroutine()))
	})
	r.CollectFunc("go_threads", "Number of OS threads created.", KindGauge, nil, func(emit func(float64, ...string)) {
		n, _ := runtime.ThreadCreateProfile(nil)
		emit(float64(n))
	})
	r.CollectHistogram("go_gc_duration_seconds", "Stop-the-world pause durations of garbage collection, in seconds.", gcPauseBuckets, collectGCPauses)
	r.CollectFunc("go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and currently in use, same as go_memstats_alloc_bytes.", KindGauge, nil, func(emit func(float64, ...string)) {
		emit(readRuntimeMetric("/memory/classes/heap/objects:bytes"))
	})
	r.CollectFunc("go_memstats_heap_inuse_bytes", "Number of heap bytes that are in use.", KindGauge, nil, func(emit func(float64, ...string)) {
		emit(readRuntimeMetric("/memory/classes/heap/objects:bytes") + readRuntimeMetric("/memory/classes/heap/unused:bytes"))
	})
	r.CollectFunc("go_memstats_sys_bytes", "Number of bytes obtained from system.", KindGauge, nil, func(emit func(float64, ...string)) {
		emit(readRuntimeMetric("/memory/classes/total:bytes"))
	})
	registerProcess(r, procFS{root: "/proc"})
}

// readRuntimeMetric reads one scalar runtime/metrics value; NaN when this
// Go does not know the name.
func readRuntimeMetric(name string) float64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	switch s[0].Value.Kind() {
	case metrics.KindUint64:
		return float64(s[0].Value.Uint64())
	case metrics.KindFloat64:
		return s[0].Value.Float64()
	}
	return math.NaN()
}

func collectGCPauses() ([]uint64, float64) {
	s := []metrics.Sample{{Name: "/sched/pauses/total/gc:seconds"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return nil, 0 // an unknown name: the family shows no points
	}
	counts := rebucket(s[0].Value.Float64Histogram(), gcPauseBuckets)
	var st debug.GCStats
	debug.ReadGCStats(&st)
	return counts, st.PauseTotal.Seconds()
}

// rebucket maps a runtime histogram onto bounds: the count of each runtime
// bucket [lo, hi) goes to the first bound ≥ hi (+Inf last).
func rebucket(h *metrics.Float64Histogram, bounds []float64) []uint64 {
	out := make([]uint64, len(bounds)+1)
	for i, n := range h.Counts {
		if n == 0 {
			continue
		}
		out[sort.SearchFloat64s(bounds, h.Buckets[i+1])] += n
	}
	return out
}

// registerProcess registers the process_* families, read from fs.
func registerProcess(r *Registry, fs procFS) {
	stat := func(emit func(float64, ...string), pick func(procStat) float64) {
		b, err := fs.read("self/stat")
		if err != nil {
			return
		}
		s, err := parseProcStat(b)
		if err != nil {
			return
		}
		emit(pick(s))
	}
	r.CollectFunc("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", KindCounter, nil, func(emit func(float64, ...string)) {
		stat(emit, func(s procStat) float64 { return float64(s.UTime+s.STime) / userHZ })
	})
	r.CollectFunc("process_resident_memory_bytes", "Resident memory size in bytes.", KindGauge, nil, func(emit func(float64, ...string)) {
		stat(emit, func(s procStat) float64 { return float64(s.RSS) * float64(os.Getpagesize()) })
	})
	r.CollectFunc("process_virtual_memory_bytes", "Virtual memory size in bytes.", KindGauge, nil, func(emit func(float64, ...string)) {
		stat(emit, func(s procStat) float64 { return float64(s.VSize) })
	})
	r.CollectFunc("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", KindGauge, nil, func(emit func(float64, ...string)) {
		b, err := fs.read("stat")
		if err != nil {
			return
		}
		boot, err := parseBootTime(b)
		if err != nil {
			return
		}
		stat(emit, func(s procStat) float64 { return float64(boot) + float64(s.StartTime)/userHZ })
	})
	r.CollectFunc("process_open_fds", "Number of open file descriptors.", KindGauge, nil, func(emit func(float64, ...string)) {
		if n, err := fs.openFDs(); err == nil {
			emit(float64(n))
		}
	})
	r.CollectFunc("process_max_fds", "Maximum number of open file descriptors.", KindGauge, nil, func(emit func(float64, ...string)) {
		b, err := fs.read("self/limits")
		if err != nil {
			return
		}
		if v, err := parseMaxOpenFiles(b); err == nil {
			emit(v)
		}
	})
}
