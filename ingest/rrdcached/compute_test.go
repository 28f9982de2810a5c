package rrdcached

import (
	"strings"
	"testing"
)

// A series with a COMPUTE data source takes UPDATEs with values for the
// other data sources only (as rrdtool's file does), computes it when a
// step closes, and INFO prints its expression as ds[x].cdef.
func TestComputeDataSource(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, AllCommands, Config{})
	cl := ts.dial(t)
	for _, s := range []struct{ req, want string }{
		{"CREATE c.rrd -b 1700000000 -s 60 DS:a:GAUGE:120:U:U DS:b:GAUGE:120:U:U DS:s:COMPUTE:a,b,+,2.0,* RRA:AVERAGE:0.5:1:10", "0 RRD created OK\n"},
		{"UPDATE c.rrd 1700000060:1:2 1700000120:3:4", "0 errors, enqueued 2 value(s).\n"},
		{"UPDATE c.rrd 1700000180:1:2:3", "-1 RRD Error: c: expected 2 data source readings (got 3) from 1700000180:1:2:3\n"},
		// steps end at …040, …100: s = (a+b)·2 of each step's time-weighted a and b
		{"FETCH c.rrd AVERAGE 1700000000 1700000060 s", "8 Success\nFlushVersion: 1\nStart: 1699999980\nEnd: 1700000100\nStep: 60\nDSCount: 1\nDSName: s\n" +
			"1700000040: 6.00000000000000000e+00\n1700000100: 1.13333333333333339e+01\n"},
	} {
		if got := cl.do(s.req); got != s.want {
			t.Fatalf("%s:\n got %q\nwant %q", s.req, got, s.want)
		}
	}
	if got := cl.do("INFO c.rrd"); !strings.Contains(got, "ds[s].cdef 2 a,b,+,2,*\n") || strings.Contains(got, "ds[s].minimal_heartbeat") {
		t.Fatalf("INFO:\n%s", got)
	}
}
