package store

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkMillionSeries measures a data directory of a million series of
// a small template (make bench-million; RRDASH_MILLION=1 enables it,
// RRDASH_MILLION_N changes the count, RRDASH_MILLION_DIR keeps the
// directory between runs, as making it takes minutes). Each phase runs in
// a fresh child process, whose descriptor limit is 1,024, so startup and
// memory are its own:
//
//	open      Open after a clean close (memory: "opened"), then List of
//	          every series (memory: "open", the lists held)
//	pass      one update of every series (each archive opened once)
//	recover   Open after a kill -9 following the pass (the replay of
//	          the journal's updates is deferred), then the time until
//	          the background pass has applied them all
//
// Memory is read from /proc/self/smaps_rollup: anonymous (the process's
// own) and file-backed (page cache mapped into it). The *-cpu-s figures
// are the process's user+system time (the machine is shared: wall time
// mostly waits for a core).
func BenchmarkMillionSeries(b *testing.B) {
	if os.Getenv("RRDASH_MILLION_CHILD") != "" {
		millionChild(b)
		return
	}
	if os.Getenv("RRDASH_MILLION") == "" {
		b.Skip("RRDASH_MILLION=1 runs it (make bench-million)")
	}
	n := 1000000
	if s := os.Getenv("RRDASH_MILLION_N"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatalf("RRDASH_MILLION_N: %v", err)
		}
	}
	dir := os.Getenv("RRDASH_MILLION_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	run := func(phase string) map[string]float64 {
		cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^BenchmarkMillionSeries$", "-test.benchtime=1x")
		cmd.Env = append(os.Environ(), "RRDASH_MILLION_CHILD="+phase, "RRDASH_MILLION_DIR="+dir, fmt.Sprint("RRDASH_MILLION_N=", n))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		var res map[string]float64
		for _, line := range strings.Split(string(out), "\n") {
			if rest, ok := strings.CutPrefix(line, "million-result "); ok {
				if jerr := json.Unmarshal([]byte(rest), &res); jerr != nil {
					b.Fatal(jerr)
				}
			}
		}
		if res == nil {
			b.Fatalf("phase %s: %v\n%s", phase, err, out)
		}
		return res
	}
	for i := 0; i < b.N; i++ {
		var all []map[string]float64
		if _, err := os.Stat(filepath.Join(dir, "million.done")); err != nil {
			all = append(all, run("make"))
		}
		for _, phase := range []string{"open", "pass", "recover"} {
			all = append(all, run(phase))
		}
		for _, res := range all {
			for k, v := range res {
				b.ReportMetric(v, k)
			}
		}
	}
}

// millionChild runs one phase and prints its measurements.
func millionChild(b *testing.B) {
	phase, dir := os.Getenv("RRDASH_MILLION_CHILD"), os.Getenv("RRDASH_MILLION_DIR")
	if os.Getenv("RRDASH_MILLION_HEAPPROFILE") != "" {
		runtime.MemProfileRate = 4096
	}
	n, _ := strconv.Atoi(os.Getenv("RRDASH_MILLION_N"))
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 1024, Max: 1024}); err != nil {
		b.Fatal(err)
	}
	res := map[string]float64{}
	ctx := context.Background()
	spec := tinySpec(b)
	name := func(i int) string { return fmt.Sprintf("host%d.disk%d.io", i/100, i%100) }
	if dir := os.Getenv("RRDASH_MILLION_CPUPROFILE"); dir != "" {
		// one profile per phase: RRDASH_MILLION_CPUPROFILE is a directory
		f, err := os.Create(filepath.Join(dir, phase+".cpu"))
		if err != nil {
			b.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	t0, c0 := time.Now(), cpuNanos()
	db, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	open, openCPU := time.Since(t0).Seconds(), float64(cpuNanos()-c0)/1e9
	pass := func(tm int64) float64 {
		t0 := time.Now()
		const group = 10000
		for g := 0; g < n; g += group {
			batch := Batch{Updates: make([]Update, 0, group)}
			for i := g; i < min(g+group, n); i++ {
				batch.Updates = append(batch.Updates, Update{Series: name(i), Time: tm, Values: []string{strconv.Itoa(i % 1000)}})
			}
			if r, err := db.Apply(ctx, batch); err != nil || len(r.Errors) > 0 {
				b.Fatalf("apply: %v %v", err, r.Errors)
			}
		}
		return time.Since(t0).Seconds()
	}
	switch phase {
	case "make":
		t0 := time.Now()
		const group = 5000
		for g := 0; g < n; g += group {
			var wait func() error
			for i := g; i < min(g+group, n); i++ {
				if _, wait, err = db.EnsureAsync(name(i), spec, nil); err != nil {
					b.Fatal(err)
				}
			}
			if err := wait(); err != nil {
				b.Fatal(err)
			}
		}
		res["creations/s"] = float64(n) / time.Since(t0).Seconds()
		pass(1000000010)
		if err := db.Checkpoint(ctx); err != nil {
			b.Fatal(err)
		}
		var st syscall.Statfs_t
		syscall.Statfs(dir, &st)
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		disk := duBytes(b, filepath.Join(dir, "series"))
		if _, err := os.Stat(filepath.Join(dir, packDirName)); err == nil {
			disk += duBytes(b, filepath.Join(dir, packDirName)) // series created through the journal
		}
		res["disk-bytes/series"] = float64(disk) / float64(n)
		if err := os.WriteFile(filepath.Join(dir, "million.done"), nil, 0o644); err != nil {
			b.Fatal(err)
		}
	case "open":
		res["open-s"], res["open-cpu-s"] = open, openCPU
		mem(res, "opened")
		t0 := time.Now()
		names, err := db.List("")
		if err != nil || len(names) != n {
			b.Fatalf("list: %d series, %v", len(names), err)
		}
		res["list-s"] = time.Since(t0).Seconds()
		t0 = time.Now()
		if names, err = db.List(""); err != nil || len(names) != n {
			b.Fatalf("list again: %d series, %v", len(names), err)
		}
		res["list-again-s"] = time.Since(t0).Seconds()
		mem(res, "open")
		db.Close()
	case "pass":
		last, err := db.LastUpdate(name(0))
		if err != nil {
			b.Fatal(err)
		}
		res["pass-s"] = pass(last + 10)
		mem(res, "pass")
		if p := os.Getenv("RRDASH_MILLION_HEAPPROFILE"); p != "" {
			f, _ := os.Create(p)
			runtime.GC()
			runtime.GC()
			pprof.WriteHeapProfile(f)
			f.Close()
		}
		// killed: the journal holds the pass, the archives' slots do not
		pprof.StopCPUProfile()
		fmt.Printf("million-result %s\n", mustJSON(res))
		os.Exit(0)
	case "recover":
		res["recover-open-s"], res["recover-open-cpu-s"] = open, openCPU
		mem(res, "recover")
		// the updates Open deferred, applied as a server does after Open
		t0, c0 := time.Now(), cpuNanos()
		if err := db.ReplayDeferred(ctx); err != nil {
			b.Fatal(err)
		}
		res["recover-replayed-s"] = time.Since(t0).Seconds()
		res["recover-replayed-cpu-s"] = float64(cpuNanos()-c0) / 1e9
		mem(res, "replayed")
		if err := db.Checkpoint(ctx); err != nil { // the next run starts clean
			b.Fatal(err)
		}
		db.Close()
	}
	fmt.Printf("million-result %s\n", mustJSON(res))
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// mem reads the process's memory: anonymous (its own) and file-backed
// (page cache mapped into it), in MB.
func mem(res map[string]float64, phase string) {
	f, err := os.Open("/proc/self/smaps_rollup")
	if err != nil {
		return
	}
	defer f.Close()
	kb := map[string]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 3 && fs[2] == "kB" {
			v, _ := strconv.ParseFloat(fs[1], 64)
			kb[strings.TrimSuffix(fs[0], ":")] = v
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res[phase+"-heap-inuse-MB"] = float64(ms.HeapInuse) / (1 << 20)
	res[phase+"-anon-MB"] = kb["Anonymous"] / 1024
	res[phase+"-file-MB"] = (kb["Rss"] - kb["Anonymous"]) / 1024
}

// duBytes is the disk space the files under dir take (st_blocks).
func duBytes(t testing.TB, dir string) int64 {
	var total int64
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}
