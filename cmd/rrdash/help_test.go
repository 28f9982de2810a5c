package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHelpOfEveryCommand runs `rrdash CMD --help`, `rrdash CMD -h` and
// `rrdash help CMD` for every command in an empty working directory: each
// prints the command's usage to stdout, exits 0 and creates nothing (no
// ./data, no --data directory).
func TestHelpOfEveryCommand(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "rrdash")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// want: a word the command's usage must show.
	commands := []struct {
		path []string
		want string
	}{
		{nil, "Commands"},
		{[]string{"create"}, "rrdash create NAME"},
		{[]string{"update"}, "rrdash update NAME"},
		{[]string{"updatev"}, "rrdash updatev NAME"},
		{[]string{"fetch"}, "rrdash fetch NAME CF"},
		{[]string{"info"}, "rrdash info NAME"},
		{[]string{"last"}, "rrdash last NAME"},
		{[]string{"first"}, "rrdash first NAME [--rraindex N]"},
		{[]string{"lastupdate"}, "rrdash lastupdate NAME"},
		{[]string{"flushcached"}, "rrdash flushcached NAME"},
		{[]string{"list"}, "rrdash list [--recursive] [--noflush] DIR"},
		{[]string{"import"}, "rrdash import --tree DIR [--prefix P] [--force]"},
		{[]string{"restore"}, "rrdash restore [--force-overwrite|-f] FILE.xml|FILE.rrd NAME"},
		{[]string{"dump"}, "rrdash dump [--header|-h {none,xsd,dtd}]"},
		{[]string{"tune"}, "rrdash tune NAME [--heartbeat|-h ds:hb]"},
		{[]string{"resize"}, "rrdash resize NAME RRA-NUM GROW|SHRINK ROWS"},
		{[]string{"xport"}, "rrdash xport"},
		{[]string{"graph"}, "rrdash graph FILE"},
		{[]string{"graphv"}, "rrdash graphv FILE"},
		{[]string{"serve"}, "-addr"},
		{[]string{"ingest"}, "rrdash ingest kinesis"},
		{[]string{"ingest", "tracelog"}, "-instance"},
		{[]string{"ingest", "kinesis"}, "-dead-letter"},
		{[]string{"monitor"}, "-timeout"},
		{[]string{"monitor", "run"}, "-timeout"},
		{[]string{"check"}, "rrdash [--data DIR] check [--repair]"},
		{[]string{"version"}, "rrdash version [--json]"},
		{[]string{"import-carbon-config"}, "rrdash import-carbon-config STORAGE-SCHEMAS.CONF"},
		{[]string{"delete"}, "rrdash delete NAME"},
		{[]string{"rename"}, "rrdash rename OLD NEW"},
		{[]string{"backup"}, "rrdash [--data DIR] backup [--daemon ADDR] DEST"},
		{[]string{"restore-backup"}, "rrdash restore-backup SRC --data DIR"},
		{[]string{"rotate-key"}, "rrdash [--data DIR] rotate-key [--config FILE]"},
		{[]string{"annotate"}, "rrdash [--data DIR] annotate --text TEXT"},
		{[]string{"annotations"}, "rrdash [--data DIR] annotations [--from T]"},
		{[]string{"-"}, "pipe mode"},
		{[]string{"cd"}, "usage (pipe mode only): cd DIR"},
		{[]string{"pwd"}, "usage (pipe mode only): pwd"},
		{[]string{"mkdir"}, "usage (pipe mode only): mkdir DIR"},
		{[]string{"ls"}, "usage (pipe mode only): ls"},
		{[]string{"quit"}, "usage (pipe mode only): quit"},
	}
	// Every command main.go dispatches has a row.
	covered := map[string]bool{}
	for _, c := range commands {
		if len(c.path) > 0 {
			covered[c.path[0]] = true
		}
	}
	for _, name := range dispatchedCommands() {
		if !covered[name] {
			t.Errorf("command %q has no help test", name)
		}
	}
	for _, c := range commands {
		forms := [][]string{append([]string{"help"}, c.path...)}
		if len(c.path) > 0 {
			forms = append(forms, append(append([]string{}, c.path...), "--help"), append(append([]string{}, c.path...), "-h"))
		} else {
			forms = append(forms, []string{"--help"}, []string{"-h"})
		}
		for _, args := range forms {
			t.Run(strings.Join(args, "_"), func(t *testing.T) {
				t.Parallel()
				for _, withData := range []bool{false, true} {
					wd := t.TempDir()
					argv := args
					if withData {
						argv = append([]string{"--data", filepath.Join(wd, "mydata")}, args...)
					}
					cmd := exec.Command(bin, argv...)
					cmd.Dir = wd
					cmd.Env = append(os.Environ(), "RRDASH_DATA=", "RRDASH_CONFIG=")
					var stdout, stderr bytes.Buffer
					cmd.Stdout, cmd.Stderr = &stdout, &stderr
					err := cmd.Run()
					var ee *exec.ExitError
					if errors.As(err, &ee) {
						t.Errorf("rrdash %s: exit %d, want 0; stderr:\n%s", strings.Join(argv, " "), ee.ExitCode(), stderr.String())
					} else if err != nil {
						t.Fatal(err)
					}
					if !strings.Contains(stdout.String(), c.want) {
						t.Errorf("rrdash %s: stdout lacks %q:\n%s", strings.Join(argv, " "), c.want, stdout.String())
					}
					ents, err := os.ReadDir(wd)
					if err != nil {
						t.Fatal(err)
					}
					for _, e := range ents {
						t.Errorf("rrdash %s created %s in its working directory", strings.Join(argv, " "), e.Name())
					}
				}
			})
		}
	}
}

func TestHelpTopic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args  []string
		topic string // "-" for no help
	}{
		{nil, ""},
		{[]string{"help"}, ""},
		{[]string{"--help"}, ""},
		{[]string{"help", "ingest", "kinesis"}, "ingest kinesis"},
		{[]string{"ingest", "kinesis", "--stream", "s", "--help"}, "ingest kinesis"},
		{[]string{"ingest", "-h"}, "ingest"},
		{[]string{"monitor", "run", "-help", "x.py"}, "monitor run"},
		{[]string{"update", "s", "--help"}, "update"},
		{[]string{"update", "s", "N:1"}, "-"},
		{[]string{"graph", "-h"}, "graph"},
		{[]string{"graph", "out.png", "-h", "200", "DEF:a=s:v:AVERAGE"}, "-"}, // -h is --height
		{[]string{"graph", "out.png", "--help"}, "graph"},
		{[]string{"list", "--", "--help"}, "-"},
	}
	for _, tc := range tests {
		topic, ok := helpTopic(tc.args)
		got := strings.Join(topic, " ")
		if !ok {
			got = "-"
		}
		if got != tc.topic {
			t.Errorf("helpTopic(%q) = %q, want %q", tc.args, got, tc.topic)
		}
	}
}
