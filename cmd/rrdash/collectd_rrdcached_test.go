package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"rrdash/tools/testdeps"
)

// TestRealCollectdRrdcachedPlugin runs Debian's collectd with its
// rrdcached plugin against a running `rrdash serve`: collectd creates each
// .rrd file itself under the data directory (CreateFiles, through librrd)
// and sends UPDATEs to serve's socket; serve adopts each file on its first
// UPDATE. Afterwards the load, memory and cpu series hold collectd's
// values and graph, through the server.
func TestRealCollectdRrdcachedPlugin(t *testing.T) {
	t.Parallel()
	collectd := testdeps.Program(t, "collectd", "/usr/sbin/collectd")
	testdeps.File(t, "collectd's rrdcached plugin", "/usr/lib/collectd/rrdcached.so")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	addrs := startServeRRD(t, data, false)
	sock := filepath.Join(data, socketName)
	if !strings.Contains(addrs[0], sock) {
		t.Fatalf("serve's rrdcached socket %q, want %s", addrs[0], sock)
	}
	conf := fmt.Sprintf(`Hostname "rrdash-test"
FQDNLookup false
Interval 1
BaseDir %q
PIDFile %q
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File %q
</Plugin>
LoadPlugin load
LoadPlugin memory
LoadPlugin cpu
LoadPlugin rrdcached
<Plugin rrdcached>
  DaemonAddress "unix:%s"
  DataDir %q
  CreateFiles true
  CreateFilesAsync false
  RRARows 100
  RRATimespan 600
  RRATimespan 3600
</Plugin>
`, dir, filepath.Join(dir, "pid"), filepath.Join(dir, "log"), sock, filepath.Join(data, "collectd"))
	confPath := filepath.Join(dir, "collectd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, collectd, "-f", "-C", confPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	defer stop()
	series := []string{"collectd/rrdash-test/load/load", "collectd/rrdash-test/memory/memory-used", "collectd/rrdash-test/cpu-0/cpu-idle"}
	// Every series adopted, then five more seconds of updates: the cpu
	// DERIVE has rates from its second update on.
	var last map[string]int64
	deadline := time.Now().Add(30 * time.Second)
	for {
		last = map[string]int64{}
		for _, s := range series {
			if o, ok, _ := rrdashRun(t, data, "last", s); ok {
				last[s], _ = strconv.ParseInt(strings.TrimSpace(o), 10, 64)
			}
		}
		done := len(last) == len(series)
		for _, s := range series {
			if o, ok, _ := rrdashRun(t, data, "info", s); !ok || !strings.Contains(o, `meta[imported] = "rrdtool file"`) {
				done = false
			}
		}
		if done && time.Since(time.Unix(minOf(last), 0)) < 10*time.Second {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("after 30 s: last updates %v\ncollectd log:\n%s\n%s", last, log, out.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(5 * time.Second)
	stop()
	for _, s := range series {
		if _, err := os.Stat(filepath.Join(data, s+".rrd")); err != nil {
			t.Errorf("collectd's file for %s: %v", s, err)
		}
		end, _, err := rrdashRun(t, data, "last", s)
		if err != nil {
			t.Fatal(err)
		}
		e := strings.TrimSpace(end)
		got, ok, err := rrdashRun(t, data, "fetch", s, "AVERAGE", "-s", "end-30", "-e", e)
		if !ok {
			t.Fatalf("fetch %s: %v", s, err)
		}
		known := 0
		for _, line := range strings.Split(got, "\n") {
			_, vals, found := strings.Cut(line, ":")
			if !found {
				continue
			}
			for _, f := range strings.Fields(vals) {
				v, err := strconv.ParseFloat(f, 64)
				if err != nil || math.IsNaN(v) {
					continue
				}
				known++
				if v < 0 || strings.Contains(s, "load") && v > 5000 || strings.Contains(s, "cpu") && v > 1000 {
					t.Errorf("%s: value %v", s, v)
				}
			}
		}
		if known < 3 {
			t.Errorf("%s: %d known values in the last 30 s:\n%s", s, known, got)
		}
		ds := "value"
		if strings.HasSuffix(s, "/load") {
			ds = "shortterm"
		}
		png, ok, err := rrdashRun(t, data, "graph", "-", "--start", "end-60", "--end", e,
			"DEF:v="+s+":"+ds+":AVERAGE", "LINE1:v#ff0000:"+filepath.Base(s))
		if !ok || !strings.HasPrefix(png, "\x89PNG") {
			t.Errorf("graph %s: %v (%d bytes)", s, err, len(png))
		}
	}
	if o, _, _ := rrdashRun(t, data, "info", series[0]); !strings.Contains(o, "ds[shortterm]") {
		t.Errorf("load series: %s", o)
	}
}

func minOf(m map[string]int64) int64 {
	v := int64(math.MaxInt64)
	for _, x := range m {
		v = min(v, x)
	}
	return v
}
