package store

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"rrdash/store/rrdtooltest"
)

func TestParseUpdateArgTimes(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 250_000_000)
	tests := []struct {
		arg        string
		time, usec int64
		err        string
	}{
		{"1600000000:1:2", 1600000000, 0, ""},
		{"1600000000.5:1:2", 1600000000, 500000, ""},
		{"N:1:2", 1700000000, 250000, ""},
		{"-60:1:2", 1699999940, 250000, ""},
		{"-0.5:1:2", 1699999999, 750000, ""},
		{"now-1h@1:2", 1700000000 - 3600, 0, ""},
		{"1600000000@1:2", 1600000000, 0, ""},
		{"-5min@U:2", 1700000000 - 300, 0, ""},
		{"start-1h@1:2", 0, 0, "not allowed"},
		{"yesterday@1:2", 0, 0, "ds time"},
		{"abc:1:2", 0, 0, "invalid timestamp"},
		{"1600000000:1", 0, 0, "expected 2 data source readings"},
		{"1600000000@1", 0, 0, "expected timestamp not found"}, // rrdtool wants a ':' too
	}
	for _, tt := range tests {
		u, err := ParseUpdateArg(tt.arg, nil, 2, now)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: %+v, %v; want error containing %q", tt.arg, u, err, tt.err)
			}
			continue
		}
		if err != nil || u.Time != tt.time || u.Usec != tt.usec {
			t.Errorf("%q: time %d usec %d err %v; want %d %d", tt.arg, u.Time, u.Usec, err, tt.time, tt.usec)
		}
	}
}

// TestUpdateTimesAgainstRRDtool checks the timestamps rrdtool update takes
// beyond epoch seconds: negative (relative to now) and AT-TIME@.
func TestUpdateTimesAgainstRRDtool(t *testing.T) {
	bin := rrdtooltest.Bin(t)
	t.Parallel()
	dir := t.TempDir()
	for i, ts := range []string{"-3600", "-86400.25", "now-2h@", "noon_yesterday@", "-1d-3h@", "20:30_1.11.2026@", "midnight@", "teatime_Mar_3_2026@"} {
		file := filepath.Join(dir, strconv.Itoa(i)+".rrd")
		if out, err := exec.Command(bin, "create", file, "--start", "1000000000", "--step", "60",
			"DS:a:GAUGE:120:U:U", "DS:b:GAUGE:120:U:U", "RRA:AVERAGE:0.5:1:10").CombinedOutput(); err != nil {
			t.Fatalf("create: %v %s", err, out)
		}
		arg := ts + "1:2"
		if !strings.HasSuffix(ts, "@") {
			arg = ts + ":1:2"
		}
		t0 := time.Now().Unix()
		if out, err := exec.Command(bin, "update", file, "--", arg).CombinedOutput(); err != nil {
			t.Fatalf("rrdtool update %s: %v %s", arg, err, out)
		}
		t1 := time.Now().Unix()
		out, err := exec.Command(bin, "last", file).Output()
		if err != nil {
			t.Fatal(err)
		}
		want, _ := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		ok := false
		var got int64
		for now := t0; now <= t1+1 && !ok; now++ {
			// the arg's '_' is a space to rrdtool's parser and to ours
			u, err := ParseUpdateArg(arg, nil, 2, time.Unix(now, 0))
			if err != nil {
				t.Fatalf("%s: %v", arg, err)
			}
			got = u.Time
			// a fractional offset meets rrdtool's clock microseconds: floor may differ by one
			ok = u.Time == want || u.Time == want-1 && strings.Contains(ts, ".")
		}
		if !ok {
			t.Errorf("update %s: rrdtool last %d, rrdash %d", arg, want, got)
		}
	}
}
