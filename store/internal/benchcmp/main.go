// Command benchcmp times `rrdtool update` against `rrdash update` on the
// same update streams, in one run, and prints the ratio (make bench).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	bin := flag.String("rrdash", "./rrdash", "rrdash binary")
	pipeRuns := flag.Int("pipe-runs", 9, "runs of each pipe-mode workload (the median is shown)")
	flag.Parse()
	dir, err := os.MkdirTemp("", "benchcmp")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	specArgs := []string{"--start", "1000000000", "--step", "10", "DS:a:GAUGE:100:U:U", "DS:b:COUNTER:100:U:U",
		"RRA:AVERAGE:0.5:1:8640", "RRA:MAX:0.5:6:1440", "RRA:AVERAGE:0.5:360:1000"}
	args := func(n, from int) []string {
		out := make([]string, n)
		for i := range out {
			k := from + i
			out[i] = fmt.Sprintf("%d:%d.%d:%d", 1000000000+10*(k+1), k%1000, k%7, k*37)
		}
		return out
	}
	type run struct {
		name  string
		calls [][]string // argv tails per process
	}
	// (a) one series, 100,000 updates, 1,000 ARGs per call
	var a [][]string
	for c := 0; c < 100; c++ {
		a = append(a, append([]string{"update", "S"}, args(1000, c*1000)...))
	}
	// (b) 1,000 series × 100 updates, one call per series
	var b [][]string
	for s := 0; s < 1000; s++ {
		b = append(b, append([]string{"update", "s" + strconv.Itoa(s)}, args(100, 0)...))
	}
	fmt.Printf("| workload | mode | rrdtool 1.7.2 | rrdash | rrdtool / rrdash |\n")
	fmt.Println("|---|---|---|---|---|")
	for _, w := range []struct {
		name   string
		series []string
		calls  [][]string
	}{{"(a) 1 series, 100,000 updates, 1,000 ARGs per call", []string{"S"}, a}, {"(b) 1,000 series × 100 updates, 1 call per series", names(1000), b}} {
		// the series are made once, then copied afresh for every run
		rt := filepath.Join(dir, "rrd.template")
		dt := filepath.Join(dir, "dash.template")
		os.MkdirAll(rt, 0o755)
		var creates strings.Builder
		for _, s := range w.series {
			must(exec.Command("rrdtool", append([]string{"create", filepath.Join(rt, s+".rrd")}, specArgs...)...).Run())
			creates.WriteString("create " + s + " " + strings.Join(specArgs, " ") + "\n")
		}
		cmd := exec.Command(*bin, "--data", dt, "-")
		cmd.Stdin = strings.NewReader(creates.String())
		if out, err := cmd.CombinedOutput(); err != nil {
			fail(fmt.Errorf("creating the series: %v %s", err, out))
		}
		rd := filepath.Join(dir, "rrd")
		dd := filepath.Join(dir, "dash")
		rrdCalls := make([][]string, len(w.calls))
		for i, c := range w.calls {
			rrdCalls[i] = append([]string{"update", filepath.Join(rd, c[1]+".rrd")}, c[2:]...)
		}
		fresh := func() {
			os.RemoveAll(rd)
			os.RemoveAll(dd)
			must(exec.Command("cp", "-a", rt, rd).Run())
			must(exec.Command("cp", "-a", dt, dd).Run())
			must(exec.Command("sync").Run())
		}
		for _, pipe := range []bool{false, true} {
			mode := "one process per call"
			n := 1
			if pipe {
				mode = fmt.Sprintf("one process, commands on stdin (rrdtool -); median of %d, alternating", *pipeRuns)
				n = *pipeRuns
			}
			var trs, tds []time.Duration
			for range n {
				fresh()
				if pipe {
					trs = append(trs, timePipe("rrdtool", []string{"-"}, rrdCalls))
					tds = append(tds, timePipe(*bin, []string{"--data", dd, "-"}, w.calls))
				} else {
					trs = append(trs, timeCalls("rrdtool", nil, rrdCalls))
					tds = append(tds, timeCalls(*bin, []string{"--data", dd}, w.calls))
				}
			}
			tr, td := median(trs), median(tds)
			fmt.Printf("| %s | %s | %.3f s | %.3f s | %.2f× |\n", w.name, mode, tr.Seconds(), td.Seconds(), tr.Seconds()/td.Seconds())
		}
		os.RemoveAll(rd)
		os.RemoveAll(dd)
		os.RemoveAll(rt)
		os.RemoveAll(dt)
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func timeCalls(bin string, prefix []string, calls [][]string) time.Duration {
	t0 := time.Now()
	for _, c := range calls {
		if out, err := exec.Command(bin, append(append([]string(nil), prefix...), c...)...).CombinedOutput(); err != nil {
			fail(fmt.Errorf("%s: %v %s", bin, err, out))
		}
	}
	return time.Since(t0)
}

// timePipe feeds every call as one line to a single process in pipe mode
// and checks that each was answered OK.
func timePipe(bin string, args []string, calls [][]string) time.Duration {
	var in strings.Builder
	for _, c := range calls {
		in.WriteString(strings.Join(c, " "))
		in.WriteByte('\n')
	}
	t0 := time.Now()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.CombinedOutput()
	d := time.Since(t0)
	if err != nil {
		fail(fmt.Errorf("%s: %v %s", bin, err, out))
	}
	if n := strings.Count(string(out), "OK u:"); n != len(calls) {
		fail(fmt.Errorf("%s: %d of %d commands OK: %.300s", bin, n, len(calls), out))
	}
	return d
}

func names(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = "s" + strconv.Itoa(i)
	}
	return s
}

func must(err error) {
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchcmp:", err)
	os.Exit(1)
}
