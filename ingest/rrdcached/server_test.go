package rrdcached

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"rrdash/store"
)

// testServer serves a fresh store over loopback TCP with perms.
type testServer struct {
	db   *store.DB
	srv  *Server
	addr string
	dir  string
}

func newTestServer(t testing.TB, perms Permissions, cfg Config) *testServer {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dir = dir
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return time.Unix(1700003600, 0) }
	}
	srv, err := New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, srv.Listener(ln, "rrdcached"), perms) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		db.Close()
	})
	return &testServer{db: db, srv: srv, addr: ln.Addr().String(), dir: dir}
}

// client is a raw protocol client reading answers as rrd_client.c does.
type client struct {
	t  testing.TB
	c  net.Conn
	rd *bufio.Reader
}

func (ts *testServer) dial(t testing.TB) *client {
	t.Helper()
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return &client{t: t, c: c, rd: bufio.NewReader(c)}
}

func (cl *client) send(s string) {
	cl.t.Helper()
	if _, err := io.WriteString(cl.c, s); err != nil {
		cl.t.Fatal(err)
	}
}

// answer reads one answer: the status line and as many lines as it counts.
func (cl *client) answer() string {
	cl.t.Helper()
	line, err := cl.rd.ReadString('\n')
	if err != nil {
		cl.t.Fatalf("reading status: %v (got %q)", err, line)
	}
	var n int
	fmt.Sscanf(line, "%d", &n)
	out := line
	for i := 0; i < n; i++ {
		l, err := cl.rd.ReadString('\n')
		if err != nil {
			cl.t.Fatalf("reading line %d of %d: %v", i+1, n, err)
		}
		out += l
	}
	return out
}

func (cl *client) do(req string) string {
	cl.t.Helper()
	cl.send(req + "\n")
	return cl.answer()
}

const createWeb1 = "CREATE web1.rrd -b 1700000000 -s 60 DS:a:GAUGE:120:U:U DS:b:COUNTER:120:0:U RRA:AVERAGE:0.5:1:10 RRA:MAX:0.5:5:10"

func TestProtocolAnswers(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, AllCommands, Config{})
	cl := ts.dial(t)
	d := ts.dir
	steps := []struct{ req, want string }{
		{"PING", "0 PONG\n"},
		{"ping", "0 PONG\n"},
		{"NOSUCH x", "-1 Unknown command: NOSUCH\n"},
		{"", "-1 Unknown command: \n"},
		{".", "-1 Can't use '.' here.\n"},
		{"WROTE x", "-1 Can't use 'WROTE' here.\n"},
		{"UPDATE", "-1 Usage: UPDATE <filename> <values> [<values> ...]\n"},
		{"UPDATE web1.rrd 1700000060:1:100", "-1 No such file: " + d + "/web1.rrd\n"},
		{"UPDATE ../x.rrd 1700000060:1", "-1 " + d + "/../x.rrd: Permission denied\n"},
		{"UPDATE /etc/x.rrd 1700000060:1", "-1 /etc/x.rrd: Permission denied\n"},
		{createWeb1, "0 RRD created OK\n"},
		{createWeb1 + " -O", "-1 RRD Error: creating '" + d + "/web1.rrd': File exists\n"},
		{"CREATE x.rrd -b 100 DS:a:GAUGE:120:U:U RRA:AVERAGE:0.5:1:10", "-1 The first entry must be after 1980.\n"},
		{"CREATE x.rrd -r y.rrd DS:a:GAUGE:120:U:U", "-1 RRD Error: rrdash does not create from source files (-r): give DS and RRA definitions\n"},
		{"CREATE x.rrd bogus", "-1 Usage: CREATE <filename> [-b start] [-s step] [-O] <DS definitions> <RRA definitions>\n"},
		{"UPDATE web1.rrd 1700000060:1:100 1700000120:2:200", "0 errors, enqueued 2 value(s).\n"},
		{"UPDATE " + d + "/web1.rrd 1700000180:3:300", "0 errors, enqueued 1 value(s).\n"},
		{"UPDATE web1.rrd 1700000180:3:300", "-1 illegal attempt to update using time 1700000180.000000 when last update time is 1700000180.000000 (minimum one second step)\n"},
		{"UPDATE web1.rrd N:3:300", "-1 Cannot find timestamp in 'N:3:300'!\n"},
		{"UPDATE web1.rrd 1700000240:4", "-1 RRD Error: web1: expected 2 data source readings (got 1) from 1700000240:4\n"},
		{"UPDATE web1.rrd", "-1 No values updated.\n"},
		// the first value is applied, the second refused
		{"UPDATE web1.rrd 1700000240:4:400 1700000200:5:500", "-1 illegal attempt to update using time 1700000200.000000 when last update time is 1700000240.000000 (minimum one second step)\n"},
		{"LAST web1.rrd", "0 1700000220\n"},
		{"FIRST web1.rrd 0", "0 1699999680\n"},
		{"FIRST web1.rrd 1", "0 1699997400\n"},
		{"FIRST web1.rrd 2", "-1 RRD Error: invalid rraindex number\n"},
		{"FIRST web1.rrd -1", "-1 Invalid index specified (-1)\n"},
		// rrd_fetch moves an aligned end one step on, as the store does
		{"FETCH web1.rrd AVERAGE 1700000040 1700000160", "9 Success\nFlushVersion: 1\nStart: 1700000040\nEnd: 1700000220\nStep: 60\nDSCount: 2\nDSName: a b\n" +
			"1700000100: 1.66666666666666674e+00 1.66666666666666674e+00\n1700000160: 2.66666666666666652e+00 1.66666666666666674e+00\n" +
			"1700000220: 3.66666666666666652e+00 1.66666666666666674e+00\n"},
		{"FETCH web1.rrd AVERAGE 1700000040 1700000160 b", "9 Success\nFlushVersion: 1\nStart: 1700000040\nEnd: 1700000220\nStep: 60\nDSCount: 1\nDSName: b\n" +
			"1700000100: 1.66666666666666674e+00\n1700000160: 1.66666666666666674e+00\n1700000220: 1.66666666666666674e+00\n"},
		{"FETCH web1.rrd AVERAGE 1700000040 1700000160 c", "-1 field c not found in " + d + "/web1.rrd\n"},
		{"FETCH web1.rrd AVERAGE 1700000040 1700000160 b b", "-1 field b already used\n"},
		{"FETCH web1.rrd AVERAGE x", "-1 Cannot parse start time `x': Only simple integers are allowed.\n"},
		{"FETCH web1.rrd BOGUS 1700000040 1700000160", "-1 rrd_fetch_r failed: unknown consolidation function 'BOGUS'\n"},
		{"FETCH nope.rrd AVERAGE", "-1 rrd_fetch_r failed: opening '" + d + "/nope.rrd': No such file or directory\n"},
		{"FETCH web1.rrd", "-1 Usage: FETCH <file> <CF> [<start> [<end>] [<column>...]]\n"},
		{"INFO nope.rrd", "-1 RRD Error: opening '" + d + "/nope.rrd': No such file or directory\n"},
		{"FLUSH web1.rrd", "0 Successfully flushed " + d + "/web1.rrd.\n"},
		{"FLUSH nope.rrd", "-1 No such file: " + d + "/nope.rrd.\n"},
		{"FLUSHALL", "0 Started flush.\n"},
		{"PENDING web1.rrd", "0 updates pending\n"},
		{"QUEUE", "0 in queue.\n"},
		{"SUSPEND web1.rrd", "0 " + d + "/web1.rrd suspended\n"},
		{"SUSPEND web1.rrd", "0 " + d + "/web1.rrd already suspended\n"},
		{"RESUME web1.rrd", "0 " + d + "/web1.rrd resumed\n"},
		{"RESUME web1.rrd", "0 " + d + "/web1.rrd not suspended\n"},
		{"SUSPEND other.rrd", "-1 " + d + "/other.rrd - No such file or directory\n"},
		{"SUSPENDALL", "0 1 rrds suspend\n"},
		{"RESUMEALL", "0 1 rrds resumed\n"},
		{"CREATE sub/dir/x.rrd -b 1700000000 -s 60 DS:v:GAUGE:120:U:U RRA:LAST:0:1:5", "0 RRD created OK\n"},
		{"LIST /", "2 RRDs\nsub\nweb1.rrd\n"},
		{"LIST RECURSIVE /", "2 RRDs\nsub/dir/x.rrd\nweb1.rrd\n"},
		{"LIST /sub", "1 RRDs\ndir\n"},
		{"LIST /sub/dir/x.rrd", "1 RRDs\nx.rrd\n"},
		{"LIST /*.rrd", "1 RRDs\nweb1.rrd\n"},
		{"LIST /nope", "-1 List " + d + "/nope: No such file or directory\n"},
		{"LIST sub", "-1 Usage: LIST [RECURSIVE] /[<path>]\n"},
		{"FORGET web1.rrd", "0 Gone!\n"},
		{"FORGET web1.rrd", "-1 No such file or directory\n"},
		{"HELP PING", "4 Help for PING\nUsage: PING\n\nAnswers PONG.\n\n"},
	}
	for _, s := range steps {
		if got := cl.do(s.req); got != s.want {
			t.Errorf("%q:\n got %q\nwant %q", s.req, got, s.want)
		}
	}
	st := cl.do("STATS")
	for _, key := range []string{"QueueLength: 0", "UpdatesReceived: 10", "FlushesReceived: 2", "UpdatesWritten: 3", "DataSetsWritten: 4", "TreeNodesNumber: 0", "JournalRotate: 0"} {
		if !strings.Contains(st, "\n"+key+"\n") {
			t.Errorf("STATS lacks %q:\n%s", key, st)
		}
	}
	if !strings.HasPrefix(st, "9 Statistics follow\n") {
		t.Errorf("STATS status: %q", st)
	}
	info := cl.do("INFO web1.rrd")
	for _, l := range []string{"Info for " + d + "/web1.rrd follows\n", "\nfilename 2 " + d + "/web1.rrd\n", "\nstep 1 60\n", "\nlast_update 1 1700000240\n",
		"\nds[b].index 1 1\n", "\nds[b].type 2 COUNTER\n", "\nds[b].min 0 0.0000000000e+00\n", "\nds[a].max 0 NaN\n", "\nds[a].last_ds 2 4\n",
		"\nrra[1].cf 2 MAX\n", "\nrra[1].pdp_per_row 1 5\n", "\nrra[0].xff 0 5.0000000000e-01\n", "\nrra[1].cdp_prep[1].unknown_datapoints 1 "} {
		if !strings.Contains(info, l) {
			t.Errorf("INFO lacks %q:\n%s", l, info)
		}
	}
	cl.send("QUIT\n")
	if b, err := io.ReadAll(cl.rd); err != nil || len(b) > 0 {
		t.Errorf("QUIT: read %q, %v; want the connection closed without an answer", b, err)
	}
}
