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
		cmds := []func() *exec.Cmd{
			func() *exec.Cmd {
				return exec.Command("rrdtool", append([]string{"graph", filepath.Join(dir, "r.out")}, tail(rrd)...)...)
			},
			func() *exec.Cmd {
				return exec.Command(*bin, append([]string{"--data", data, "graph", filepath.Join(dir, "d.out")}, tail("s")...)...)
			},
		}
		if *before != "" {
			cmds = append(cmds, func() *exec.Cmd {
				return exec.Command(*before, append([]string{"--data", data + ".before", "graph", filepath.Join(dir, "b.out")}, tail("s")...)...)
			})
		}
		wall, cpu := medians(*runs, cmds)
		rt, rc, dt, dc := wall[0], cpu[0], wall[1], cpu[1]
		line := fmt.Sprintf("| %s | %s / %s | %s / %s | %.1f×, %.1f× |", c.name, ms(rt), ms(rc), ms(dt), ms(dc),
			float64(rt)/float64(dt), float64(rc)/float64(dc))
		if *before != "" {
			line += fmt.Sprintf(" %s / %s | %.1f× |", ms(wall[2]), ms(cpu[2]), float64(rc)/float64(cpu[2]))
		}
		fmt.Println(line)
	}
}

// medians runs each command n times, in turn (rrdtool, rrdash, rrdash,
// …: interleaved, so a drift of the machine's speed during the run falls
// on both alike), and returns each one's median wall time and median CPU
// time (user + system) of the process.
func medians(n int, cmds []func() *exec.Cmd) (wall, cpu []time.Duration) {
	ws := make([][]time.Duration, len(cmds))
	cs := make([][]time.Duration, len(cmds))
	for range n {
		for i, cmd := range cmds {
			c := cmd()
			t := time.Now()
			do(c)
			ws[i] = append(ws[i], time.Since(t))
			cs[i] = append(cs[i], c.ProcessState.UserTime()+c.ProcessState.SystemTime())
		}
	}
	for i := range cmds {
		slices.Sort(ws[i])
		slices.Sort(cs[i])
		wall = append(wall, ws[i][n/2])
		cpu = append(cpu, cs[i][n/2])
	}
	return wall, cpu
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
