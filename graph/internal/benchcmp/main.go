// Command benchcmp times `rrdtool graph` against `rrdash graph` on the
// same argv, whole processes, over 1 day and 1 year of 1-minute data, PNG
// and SVG, in one run, and prints the ratios (make bench).
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
	runs := flag.Int("runs", 7, "runs of each command (the median is shown)")
	before := flag.String("before", "", "an older rrdash binary, timed in the same run for a before/after column")
	flag.Parse()
	dir, err := os.MkdirTemp("", "graphbench")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	const t0 = 1600000000
	const rows = 366 * 1440 // a year and a day of 1-minute rows
	create := []string{"--start", strconv.Itoa(t0), "--step", "60", "DS:v:GAUGE:120:U:U", "DS:w:GAUGE:120:U:U",
		fmt.Sprintf("RRA:AVERAGE:0.5:1:%d", rows), fmt.Sprintf("RRA:MAX:0.5:1:%d", rows)}
	rrd := filepath.Join(dir, "s.rrd")
	data := filepath.Join(dir, "data")
	do(exec.Command("rrdtool", append([]string{"create", rrd}, create...)...))
	do(exec.Command(*bin, append([]string{"--data", data, "create", "s"}, create...)...))
	if *before != "" {
		// the older binary reads a copy made by itself: its file format
		do(exec.Command(*before, append([]string{"--data", data + ".before", "create", "s"}, create...)...))
	}
	// Updates through stdin batches: rrdtool's pipe mode and rrdash's.
	var rb, db strings.Builder
	for k := 0; k < rows; k += 1000 {
		var args strings.Builder
		for i := k; i < min(k+1000, rows); i++ {
			fmt.Fprintf(&args, " %d:%d:%d", t0+60*(i+1), (i*7919)%1000, (i*104729)%333)
		}
		fmt.Fprintf(&rb, "update %s%s\n", rrd, args.String())
		fmt.Fprintf(&db, "update s%s\n", args.String())
	}
	pipe := func(cmd *exec.Cmd, in string) {
		cmd.Stdin = strings.NewReader(in)
		do(cmd)
	}
	pipe(exec.Command("rrdtool", "-"), rb.String())
	pipe(exec.Command(*bin, "--data", data, "-"), db.String())
	if *before != "" {
		pipe(exec.Command(*before, "--data", data+".before", "-"), db.String())
	}
	end := t0 + 60*rows
	if *before != "" {
		fmt.Println("| graph (whole process, median of", *runs, "runs) | rrdtool 1.7.2 wall / CPU | rrdash wall / CPU | rrdtool / rrdash wall, CPU | before: wall / CPU | rrdtool / before CPU |")
		fmt.Println("|---|---|---|---|---|---|")
	} else {
		fmt.Println("| graph (whole process, median of", *runs, "runs) | rrdtool 1.7.2 wall / CPU | rrdash wall / CPU | rrdtool / rrdash wall, CPU |")
		fmt.Println("|---|---|---|---|")
	}
	for _, c := range []struct {
		name string
		span int
		fmt  string
	}{{"1 day, PNG", 86400, "PNG"}, {"1 day, SVG", 86400, "SVG"}, {"1 year, PNG", 365 * 86400, "PNG"}, {"1 year, SVG", 365 * 86400, "SVG"}} {
		tail := func(src string) []string {
			return []string{"--start", strconv.Itoa(end - c.span), "--end", strconv.Itoa(end), "--imgformat", c.fmt,
				"-w", "800", "-h", "200", "--title", "bench",
				"DEF:v=" + src + ":v:AVERAGE", "DEF:w=" + src + ":w:MAX", "CDEF:x=v,w,+", "VDEF:vm=v,MAXIMUM", "VDEF:va=v,AVERAGE",
				"AREA:v#00ff0080:v", "LINE1:w#ff0000:w:STACK", "LINE2:x#0000ff:x\\l",
				"GPRINT:vm:max %6.2lf%s", "GPRINT:va:avg %6.2lf%s\\l", "HRULE:500#000000:limit"}
		}
		rt, rc := median(*runs, func() *exec.Cmd {
			return exec.Command("rrdtool", append([]string{"graph", filepath.Join(dir, "r.out")}, tail(rrd)...)...)
		})
		dt, dc := median(*runs, func() *exec.Cmd {
			return exec.Command(*bin, append([]string{"--data", data, "graph", filepath.Join(dir, "d.out")}, tail("s")...)...)
		})
		line := fmt.Sprintf("| %s | %s / %s | %s / %s | %.1f×, %.1f× |", c.name, ms(rt), ms(rc), ms(dt), ms(dc),
			float64(rt)/float64(dt), float64(rc)/float64(dc))
		if *before != "" {
			bt, bc := median(*runs, func() *exec.Cmd {
				return exec.Command(*before, append([]string{"--data", data + ".before", "graph", filepath.Join(dir, "b.out")}, tail("s")...)...)
			})
			line += fmt.Sprintf(" %s / %s | %.1f× |", ms(bt), ms(bc), float64(rc)/float64(bc))
		}
		fmt.Println(line)
	}
}

// median runs a command n times and returns the median wall time and the
// median CPU time (user + system) of the process.
func median(n int, cmd func() *exec.Cmd) (time.Duration, time.Duration) {
	var ws, cs []time.Duration
	for range n {
		c := cmd()
		t := time.Now()
		do(c)
		ws = append(ws, time.Since(t))
		cs = append(cs, c.ProcessState.UserTime()+c.ProcessState.SystemTime())
	}
	slices.Sort(ws)
	slices.Sort(cs)
	return ws[len(ws)/2], cs[len(cs)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func do(c *exec.Cmd) {
	if out, err := c.CombinedOutput(); err != nil {
		fail(fmt.Errorf("%s: %v\n%.500s", strings.Join(c.Args, " "), err, out))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchcmp:", err)
	os.Exit(1)
}
