package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// pipeServer is rrdash's pipe mode (`rrdash --data D -`, issue 15) fed the
// workload's updates as one "update sN T:V" line each, series round-robin,
// from a file on stdin; the series are created by an earlier pipe run (not
// timed). The clock runs from the process's start to its exit, when every
// answer is written and every update durable (the pipe answers OK only
// after the journal fsync); the CPU is the process's user+system time
// (wait4), start-up and opening the store included.
func pipeServer(bin string, w workload) (res result, err error) {
	dir, err := os.MkdirTemp("", "rrdpipebench")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	const t0 = 1700000000
	var create, in bytes.Buffer
	for s := range w.series {
		fmt.Fprintf(&create, "create s%d --start %d --step 10 DS:v:GAUGE:600:U:U RRA:AVERAGE:0.5:1:1000 RRA:MAX:0.5:60:100\n", s, t0)
	}
	for u := range w.updates {
		for s := range w.series {
			in.WriteString("update s")
			in.WriteString(strconv.Itoa(s))
			in.WriteByte(' ')
			in.WriteString(strconv.Itoa(t0 + 10*(u+1)))
			in.WriteByte(':')
			in.WriteString(strconv.Itoa(u % 97))
			in.WriteByte('\n')
		}
	}
	data := filepath.Join(dir, "data")
	if _, _, err := pipeRun(bin, data, filepath.Join(dir, "create"), create.Bytes(), w.series); err != nil {
		return res, fmt.Errorf("create: %w", err)
	}
	if err := syncFS(dir); err != nil {
		return res, err
	}
	wall, cpu, err := pipeRun(bin, data, filepath.Join(dir, "update"), in.Bytes(), w.series*w.updates)
	if err != nil {
		return res, err
	}
	return result{ack: wall, durable: wall, cpu: cpu}, nil
}

// pipeRun runs `bin --data data -` with input on stdin (from the file
// name+".in") and checks that it answers every one of the lines with OK.
// It returns the wall time from start to exit and the process's CPU.
func pipeRun(bin, data, name string, input []byte, lines int) (wall, cpu time.Duration, err error) {
	if err := os.WriteFile(name+".in", input, 0o644); err != nil {
		return 0, 0, err
	}
	stdin, err := os.Open(name + ".in")
	if err != nil {
		return 0, 0, err
	}
	defer stdin.Close()
	stdout, err := os.Create(name + ".out")
	if err != nil {
		return 0, 0, err
	}
	defer stdout.Close()
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "--data", data, "-")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("%s: %w: %s", bin, err, stderr.Bytes())
	}
	wall = time.Since(start)
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if ru != nil {
		cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if _, err := stdout.Seek(0, 0); err != nil {
		return 0, 0, err
	}
	sc := bufio.NewScanner(stdout)
	n := 0
	for sc.Scan() {
		if !bytes.HasPrefix(sc.Bytes(), []byte("OK ")) {
			return 0, 0, fmt.Errorf("%s: answer %d: %q", bin, n+1, sc.Text())
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if n != lines {
		return 0, 0, fmt.Errorf("%s: %d answers to %d lines", bin, n, lines)
	}
	return wall, cpu, nil
}
