package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"rrdash/store/rrdtooltest"
)

// create --source with a serve holding the data directory: the server
// fills the new series itself (XCREATE --source), so every form gives the
// transcript it gives on the directory itself — mappings, several
// sources, --start, an rrdtool file as a source, and the errors.
func TestCreateSourceThroughServe(t *testing.T) {
	bin := rrdtooltest.Bin(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "old.rrd")
	rrdtoolIn(t, bin, dir, "create", file, "--start", "1000000000", "--step", "10", "DS:g:GAUGE:30:U:U", "RRA:AVERAGE:0.5:1:40", "RRA:MAX:0.5:4:20")
	var fileUps []string
	for i := 1; i <= 50; i++ {
		fileUps = append(fileUps, fmt.Sprintf("%d:%d", 1000000000+10*i, (i*17)%40))
	}
	rrdtoolIn(t, bin, dir, append([]string{"update", file}, fileUps...)...)

	script := [][]string{
		{"create", "a", "--start", "1000000000", "--step", "10", "DS:g:GAUGE:30:U:U", "DS:c:COUNTER:30:0:U", "RRA:AVERAGE:0.5:1:30", "RRA:MAX:0.5:3:20", "RRA:LAST:0.5:6:10"},
		{"create", "b", "--start", "1000000100", "--step", "5", "DS:g:GAUGE:20:U:U", "RRA:AVERAGE:0.5:1:60"},
	}
	t0, c := int64(1000000000), 100
	var ua, ub []string
	for i := 0; i < 60; i++ {
		t0 += int64(4 + (i*7)%9)
		c += (i * 31) % 170
		ua = append(ua, fmt.Sprintf("%d:%d.%d:%d", t0, (i*13)%50, i%10, c))
		if t0 > 1000000100 {
			ub = append(ub, fmt.Sprintf("%d:%d", t0, (i*11)%30))
		}
	}
	script = append(script, append([]string{"update", "a"}, ua...), append([]string{"update", "b"}, ub...))
	for _, cr := range [][]string{
		{"n1", "--source", "a", "DS:g:GAUGE:30:U:U", "RRA:AVERAGE:0.5:2:40", "RRA:MAX:0.5:1:20"},
		{"n2", "--source", "a", "--source", "b", "--step", "5", "DS:g:GAUGE:30:U:U", "DS:c:DERIVE:30:U:U", "RRA:AVERAGE:0.5:1:80", "RRA:LAST:0.5:4:30"},
		{"n3", "-r", "a", "DS:x=g:GAUGE:30:U:U", "DS:y=c[1]:COUNTER:30:0:U", "RRA:AVERAGE:0.5:3:30"},
		{"n4", "--source=b", "--start", "1000000200", "DS:g:GAUGE:30:U:U", "RRA:MIN:0.5:2:30"},
		{"n5", "--source", file, "DS:g:GAUGE:30:U:U", "RRA:AVERAGE:0.5:2:30"},
		{"n1", "--no-overwrite", "--source", "a", "DS:g:GAUGE:30:U:U", "RRA:AVERAGE:0.5:2:40"},
		{"n6", "--source", "nope", "DS:g:GAUGE:30:U:U", "RRA:AVERAGE:0.5:2:40"},
		{"n7", "--source", "a", "DS:g:GAUGE:30:U:U"},
	} {
		script = append(script, append([]string{"create"}, cr...))
	}
	for _, n := range []struct{ name, up, cf string }{{"n1", "1000000600:5", "AVERAGE"}, {"n2", "1000000600:5:1000", "AVERAGE"},
		{"n3", "1000000600:5:9000", "AVERAGE"}, {"n4", "1000000600:5", "MIN"}, {"n5", "1000000600:5", "AVERAGE"}} {
		script = append(script, []string{"dump", n.name}, []string{"info", n.name}, []string{"update", n.name, n.up},
			[]string{"fetch", n.name, n.cf, "-s", "1000000000", "-e", "1000000700"})
	}
	transcript := func(data string) string {
		var b strings.Builder
		for _, c := range script {
			var out bytes.Buffer
			err := run(context.Background(), append([]string{"--data", data}, c...), strings.NewReader(""), &out, io.Discard)
			fmt.Fprintf(&b, "$ %q\n%s", c, out.Bytes())
			if err != nil {
				fmt.Fprintf(&b, "ERROR: %v\n", err)
			}
		}
		return b.String()
	}
	local := transcript(filepath.Join(dir, "local"))
	if strings.Count(local, "ERROR:") != 3 || !strings.Contains(local, "Cannot open source RRD nope") {
		t.Fatalf("the local transcript lacks its errors (or has others):\n%s", local)
	}
	data := filepath.Join(dir, "served")
	startServeRRD(t, data, false)
	if remote := transcript(data); remote != local {
		t.Fatalf("create --source through the serve differs: %s", firstDiff(local, remote))
	}
}
