package main

import (
	"fmt"
	"os"
	"testing"

	"rrdash/store/rrdtooltest"
)

// modifyBase is a file with archives long enough that rows rrd_modify
// adds (RRA:…, RRA#i:+n) are filled from the others.
func modifyBase() (create, updates []string) {
	create = []string{"--start", "1000000000", "--step", "10", "DS:g:GAUGE:30:U:U", "DS:c:COUNTER:30:0:U", "DS:d:DERIVE:30:U:U",
		"RRA:AVERAGE:0.5:1:30", "RRA:AVERAGE:0.5:4:20", "RRA:MAX:0.5:3:12", "RRA:MIN:0.5:2:15", "RRA:LAST:0.3:1:10"}
	t, c := int64(1000000000), 100
	for i := 0; i < 70; i++ {
		t += int64(5 + (i*7)%11)
		c += (i * 37) % 200
		g := fmt.Sprintf("%d.%d", (i*13)%50, i%10)
		if i%17 == 5 {
			g = "U"
		}
		updates = append(updates, fmt.Sprintf("%d:%s:%d:%d", t, g, c, (i*29)%90-40))
	}
	return create, updates
}

// tune's archive additions, row additions and --step give the same
// series as rrdtool 1.7.2's on the same file: dump byte for byte, info,
// ring positions, fetches — and again after further updates.
func TestTuneModifyFillAgainstRRDtool(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	dir := t.TempDir()
	create, updates := modifyBase()
	b, err := os.ReadFile(rrdtoolBase(t, bin, dir, create, updates))
	if err != nil {
		t.Fatal(err)
	}
	more := []string{"1000000900:3:90000:7", "1000000913:4:90500:9", "1000000940:U:91000:2", "1000000977:8:92000:30"}
	for _, args := range [][]string{
		{"RRA:AVERAGE:0.5:2:10"}, {"RRA:MAX:0.5:3:20"}, {"RRA:MIN:0.5:1:5", "RRA:LAST:0.5:4:6"},
		{"RRA:AVERAGE:0.5:5:30", "DEL:c"}, {"DS:n:GAUGE:30:U:U", "RRA:AVERAGE:0.9:2:7"}, {"RRA:AVERAGE:0.5:1m:10m"},
		{"RRA#0:+20"}, {"RRA#1:=25"}, {"RRA#2:+4", "RRA#3:+9"}, {"DELRRA:4", "RRA#2:+5"},
		{"--step", "5", "RRA#0:+0"}, {"--step", "5", "RRA:AVERAGE:0.5:3:9"}, {"-t", "2", "DEL:c", "RRA#1:+3"},
		{"--step", "3", "DEL:c"}, {"--step=5", "-h", "g:40", "DS:x:GAUGE:20:U:U"},
		{"RRA:FOO:0.5:1:5"},
	} {
		tuneAgainstRRDtool(t, bin, dir, b, args, more, tuneOpts{})
	}
}
