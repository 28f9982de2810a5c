package nametree

import (
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	million     *Tree
	millionSize float64 // bytes per name the tree adds to the names
	millionOnce sync.Once
)

func millionTree() (*Tree, float64) {
	millionOnce.Do(func() {
		names := benchNames(1_000_000)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		million = Build(names)
		runtime.GC()
		runtime.ReadMemStats(&after)
		millionSize = float64(after.HeapAlloc-before.HeapAlloc) / float64(len(names))
		runtime.KeepAlive(names)
	})
	return million, millionSize
}

// BenchmarkFind1M: Graphite finds over a million series names
// (servers.dcD.hostHHHHH.group.mNN, 10,000 hosts × 100 metrics), the tree
// built once. bytes/name is the heap the tree adds to the names.
func BenchmarkFind1M(b *testing.B) {
	tree, size := millionTree()
	for _, q := range []struct{ name, expr string }{
		{"top", "*"},
		{"dcs", "servers.*"},
		{"hosts-of-dc", "servers.dc3.*"},
		{"host-groups", "servers.dc3.host03042.*"},
		{"host-metrics", "servers.dc3.host03042.cpu.*"},
		{"prefix", "servers.dc3.host031*.cpu.m0?"},
		{"braces-range", "servers.dc[1-2].host0{1,2}[0-9]?[0-9].{cpu,mem}.m1[0-3]"},
		{"one-metric-all-hosts", "servers.*.*.cpu.m00"},
	} {
		p, err := Compile(q.expr)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(q.name, func(b *testing.B) {
			n := 0
			c0 := cpuTime()
			for b.Loop() {
				n = len(tree.Find(p, FindOptions{SkipTagged: true, Parents: true}))
			}
			// CPU time (all threads, GC included): on a shared machine
			// the wall time mostly measures the load
			b.ReportMetric(float64(cpuTime()-c0)/float64(b.N)/1e6, "cpu-ms/op")
			b.ReportMetric(float64(n), "matches")
			b.ReportMetric(size, "bytes/name")
		})
	}
}

// BenchmarkBuild1M: making the tree of a million names, sorted as the
// series directory's listing gives them (a DB's first find).
func BenchmarkBuild1M(b *testing.B) {
	names := benchNames(1_000_000)
	slices.Sort(names)
	for b.Loop() {
		Build(names)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
