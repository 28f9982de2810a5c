package rrdcached

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBatch(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, AllCommands, Config{})
	cl := ts.dial(t)
	if got := cl.do(createWeb1); got != "0 RRD created OK\n" {
		t.Fatal(got)
	}
	cl.send("BATCH\n")
	if got := cl.answer(); got != "0 Go ahead.  End with dot '.' on its own line.\n" {
		t.Fatalf("BATCH: %q", got)
	}
	cl.send(strings.Join([]string{
		"UPDATE web1.rrd 1700000060:1:100",
		"UPDATE web1.rrd 1700000060:1:100", // 2: too old
		"PING",                             // 3: not in a batch
		"UPDATE nope.rrd 1700000060:1",     // 4
		"UPDATE web1.rrd 1700000120:2:200 1700000180:3:300",
		"FLUSH web1.rrd",
		"BOGUS", // 7
		".", ""}, "\n"))
	want := "4 errors\n" +
		"2 illegal attempt to update using time 1700000060.000000 when last update time is 1700000060.000000 (minimum one second step)\n" +
		"3 Can't use 'PING' here.\n" +
		"4 No such file: " + ts.dir + "/nope.rrd\n" +
		"7 Unknown command: BOGUS\n"
	if got := cl.answer(); got != want {
		t.Errorf("batch answer:\n got %q\nwant %q", got, want)
	}
	// every acknowledged update is in the store
	if last, err := ts.db.LastUpdate("web1"); err != nil || last != 1700000180 {
		t.Errorf("last update %d, %v", last, err)
	}
	// an empty batch, and the connection goes on
	cl.send("BATCH\n.\n")
	if got := cl.answer() + cl.answer(); got != "0 Go ahead.  End with dot '.' on its own line.\n0 errors\n" {
		t.Errorf("empty batch: %q", got)
	}
	if got := cl.do("PING"); got != "0 PONG\n" {
		t.Errorf("after batches: %q", got)
	}
}

// TestPipelined sends many commands in one write: the answers come in
// order, once the updates are durable.
func TestPipelined(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, AllCommands, Config{})
	cl := ts.dial(t)
	cl.do(createWeb1)
	var req strings.Builder
	const n = 200
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&req, "UPDATE web1.rrd %d:%d:%d\n", 1700000000+i*60, i, i*100)
	}
	req.WriteString("LAST web1.rrd\n")
	cl.send(req.String())
	for i := 1; i <= n; i++ {
		if got := cl.answer(); got != "0 errors, enqueued 1 value(s).\n" {
			t.Fatalf("update %d: %q", i, got)
		}
	}
	// LAST rounds down to the step
	if got, want := cl.answer(), fmt.Sprintf("0 %d\n", (1700000000+n*60)/60*60); got != want {
		t.Errorf("LAST after the updates: %q, want %q", got, want)
	}
}

// TestOversizedLine: a line over MaxLine is answered with an error and
// skipped; the connection and the rest of a batch go on.
func TestOversizedLine(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, AllCommands, Config{MaxLine: 4096})
	cl := ts.dial(t)
	cl.do(createWeb1)
	long := "UPDATE web1.rrd " + strings.Repeat("1700000060:1:1 ", 400)
	cl.send(long + "\nPING\n")
	if got := cl.answer(); got != "-1 Command too long: a request line may hold at most 4096 bytes\n" {
		t.Errorf("oversized: %q", got)
	}
	if got := cl.answer(); got != "0 PONG\n" {
		t.Errorf("after oversized: %q", got)
	}
	cl.send("BATCH\nUPDATE web1.rrd 1700000060:1:100\n" + long + "\nUPDATE web1.rrd 1700000120:2:200\n.\n")
	cl.answer()
	if got, want := cl.answer(), "1 errors\n2 Command too long: a request line may hold at most 4096 bytes\n"; got != want {
		t.Errorf("batch with an oversized line: %q, want %q", got, want)
	}
	if last, err := ts.db.LastUpdate("web1"); err != nil || last != 1700000120 {
		t.Errorf("last update %d, %v: the batch's other updates are lost", last, err)
	}
}

func TestPermissions(t *testing.T) {
	t.Parallel()
	perms, err := ParsePermissions(DefaultTCPCommands)
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, perms, Config{})
	cl := ts.dial(t)
	for _, c := range []struct{ req, want string }{
		{createWeb1, "-1 Permission denied.\n"},
		{"FORGET web1.rrd", "-1 Permission denied.\n"},
		{"SUSPENDALL", "-1 Permission denied.\n"},
		{"HELP QUIT", "4 Help for QUIT\nUsage: QUIT\n\nCloses the connection.\n\n"},
		{"PING", "0 PONG\n"},
		{"UPDATE web1.rrd 1700000060:1", "-1 No such file: " + ts.dir + "/web1.rrd\n"},
	} {
		if got := cl.do(c.req); got != c.want {
			t.Errorf("%q: %q, want %q", c.req, got, c.want)
		}
	}
	// "." is allowed with BATCH
	cl.send("BATCH\n.\n")
	if got := cl.answer() + cl.answer(); got != "0 Go ahead.  End with dot '.' on its own line.\n0 errors\n" {
		t.Errorf("batch: %q", got)
	}
	for _, bad := range [][]string{{"UPDATE", "NOPE"}, {"."}, {"WROTE"}} {
		if _, err := ParsePermissions(bad); err == nil {
			t.Errorf("ParsePermissions(%q) accepted", bad)
		}
	}
	if p, err := ParsePermissions([]string{" fetch", "PING "}); err != nil || p.String() != "PING,FETCH" {
		t.Errorf("ParsePermissions: %v %v", p, err)
	}
}

func TestConnectionLimit(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, AllCommands, Config{MaxConns: 1})
	a := ts.dial(t)
	if got := a.do("PING"); got != "0 PONG\n" {
		t.Fatal(got)
	}
	b := ts.dial(t)
	if got := b.answer(); !strings.HasPrefix(got, "-1 Too many connections (1)") {
		t.Errorf("second connection: %q", got)
	}
	if got := a.do("PING"); got != "0 PONG\n" {
		t.Errorf("first connection after the refusal: %q", got)
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m, err := newMapper(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ file, series, err string }{
		{"web1.rrd", "web1", ""},
		{"web1", "web1", ""},
		{"sub/dir/x.rrd", "sub/dir/x", ""},
		{"./sub//x.rrd", "sub/x", ""},
		{dir + "/web1.rrd", "web1", ""},
		{dir + "/a/b.rrd", "a/b", ""},
		{"tracelog.web1.rrd", "tracelog.web1", ""},
		{"../web1.rrd", "", "Permission denied"},
		{"a/../../b.rrd", "", "Permission denied"},
		{"/etc/passwd", "", "Permission denied"},
		{dir + "x/web1.rrd", "", "Permission denied"},
		{dir, "", "No such file or directory"},
		{".rrd", "", "No such file or directory"},
	} {
		got, err := m.series(c.file)
		if got != c.series || (err == nil) != (c.err == "") || err != nil && err.Error() != c.err {
			t.Errorf("series(%q) = %q, %v; want %q, %q", c.file, got, err, c.series, c.err)
		}
	}
	// a link to the data directory: clients send realpath(3) names
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	ml, err := newMapper(link)
	if err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(dir)
	for _, f := range []string{link + "/w.rrd", real + "/w.rrd"} {
		if got, err := ml.series(f); got != "w" || err != nil {
			t.Errorf("through a link: series(%q) = %q, %v", f, got, err)
		}
	}
	for _, c := range []struct{ series, file string }{{"web1", "web1.rrd"}, {"a/b", "a/b.rrd"}, {"//host/x", ""}, {"a/../b", ""}, {"a//b", ""}} {
		if got := fileOf(c.series); got != c.file {
			t.Errorf("fileOf(%q) = %q, want %q", c.series, got, c.file)
		}
	}
}

func TestListenUnix(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "rrdcached.sock")
	ln, err := ListenUnix(p, 0o660)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o660 || fi.Mode().Type() != os.ModeSocket {
		t.Errorf("socket mode %v, %v; want socket 0660", fi.Mode(), err)
	}
	if _, err := ListenUnix(p, 0o660); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second listener: %v, want in use", err)
	}
	ln.Close()
	// a regular file is never removed
	f := filepath.Join(dir, "file")
	os.WriteFile(f, []byte("x"), 0o644)
	if _, err := ListenUnix(f, 0o660); err == nil {
		t.Error("listening over a regular file")
	}
}

func TestTCPAddr(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want, err string }{
		{"127.0.0.1", "127.0.0.1:42217", ""},
		{"127.0.0.1:9000", "127.0.0.1:9000", ""},
		{"[::1]", "[::1]:42217", ""},
		{"localhost:1", "localhost:1", ""},
		{":42217", "", "name the host"},
		{"", "", "name the host"},
	} {
		got, err := TCPAddr(c.in)
		if got != c.want || (err == nil) != (c.err == "") || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("TCPAddr(%q) = %q, %v", c.in, got, err)
		}
	}
}

func TestCFormat(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{{"123", 123, true}, {"-86400", -86400, true}, {"0x10", 16, true}, {"010", 8, true}, {" 7x", 7, true}, {"x", 0, false}, {"", 0, false},
		{"99999999999999999999", 0, false}, {"+5", 5, true}} {
		if got, ok := strtol(c.in); got != c.want || ok != c.ok {
			t.Errorf("strtol(%q) = %d, %v", c.in, got, ok)
		}
	}
	for in, want := range map[string]int64{"3": 3, "-1": -1, "x": 0, "2abc": 2} {
		if got := atoi(in); got != want {
			t.Errorf("atoi(%q) = %d", in, got)
		}
	}
}

// TestPipelinedUpdates: plain UPDATE lines sent without waiting for their
// answers (applied as one chunk) are answered one by one, in order, each
// with its own error.
func TestPipelinedUpdates(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, AllCommands, Config{})
	cl := ts.dial(t)
	if got := cl.do(createWeb1); got != "0 RRD created OK\n" {
		t.Fatal(got)
	}
	cl.send("UPDATE web1.rrd 1700000060:1:100\n" + // the full parser: the connection learns the file
		"UPDATE web1.rrd 1700000120:2:200\nUPDATE web1.rrd 1700000100:9:9\nUPDATE web1.rrd 1700000180:3\n" +
		"UPDATE web1.rrd 1700000240:x:400\nUPDATE web1.rrd 1700000300:5:500\nLAST web1.rrd\n")
	want := []string{"0 errors, enqueued 1 value(s).\n", "0 errors, enqueued 1 value(s).\n",
		"-1 illegal attempt to update using time 1700000100.000000 when last update time is 1700000120.000000 (minimum one second step)\n",
		"-1 RRD Error: web1: expected 2 data source readings (got 1) from 1700000180:3\n",
		"", "0 errors, enqueued 1 value(s).\n", "0 1700000280\n"}
	for i, w := range want {
		got := cl.answer()
		if w == "" {
			if !strings.HasPrefix(got, "-1 RRD Error: web1: ") {
				t.Errorf("answer %d: %q, want an error", i+1, got)
			}
			continue
		}
		if got != w {
			t.Errorf("answer %d: %q, want %q", i+1, got, w)
		}
	}
}

// TestBatchChunkWithGaps: a refused command that does not end the chunk
// (an unknown file) leaves a gap in the chunk's command numbers; the
// chunk's own errors keep their numbers.
func TestBatchChunkWithGaps(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, AllCommands, Config{})
	cl := ts.dial(t)
	if got := cl.do(createWeb1); got != "0 RRD created OK\n" {
		t.Fatal(got)
	}
	cl.send("BATCH\n")
	cl.answer()
	cl.send(strings.Join([]string{
		"UPDATE web1.rrd 1700000060:1:100", // 1
		"UPDATE nope.rrd 1700000060:1",     // 2: no such file
		"UPDATE web1.rrd 1700000060:1:100", // 3: too old, same chunk as 1
		"UPDATE web1.rrd 1700000120:2:200", // 4
		"UPDATE nope.rrd 1700000060:1",     // 5
		"UPDATE web1.rrd 1700000120:2:200", // 6: too old
		".", ""}, "\n"))
	tooOld := "illegal attempt to update using time 1700000060.000000 when last update time is 1700000060.000000 (minimum one second step)\n"
	want := "4 errors\n" +
		"2 No such file: " + ts.dir + "/nope.rrd\n" +
		"3 " + tooOld +
		"5 No such file: " + ts.dir + "/nope.rrd\n" +
		"6 illegal attempt to update using time 1700000120.000000 when last update time is 1700000120.000000 (minimum one second step)\n"
	if got := cl.answer(); got != want {
		t.Errorf("batch answer:\n got %q\nwant %q", got, want)
	}
}

func TestCmdRuns(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cmds []int
		runs int
	}{
		{nil, 0},
		{[]int{1}, 1},
		{[]int{1, 2, 3, 4}, 1},
		{[]int{1, 3, 4, 7}, 3},
		{[]int{2, 3, 5, 6, 7, 9}, 3},
	} {
		var r cmdRuns
		for _, n := range tc.cmds {
			r = r.add(n)
		}
		if len(r) != tc.runs {
			t.Errorf("%v: %d runs, want %d", tc.cmds, len(r), tc.runs)
		}
		var each []int
		r.each(func(n int) { each = append(each, n) })
		if !slices.Equal(each, tc.cmds) {
			t.Errorf("%v: each gives %v", tc.cmds, each)
		}
		for i, n := range tc.cmds {
			if got := r.at(i); got != n {
				t.Errorf("%v: at(%d) = %d, want %d", tc.cmds, i, got, n)
			}
		}
	}
}

// TestFastUpdateAfterCreate: a file created anew on the connection that
// was updating it (another number of data sources) takes updates of its
// new shape, on the fast path and off it.
func TestFastUpdateAfterCreate(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, AllCommands, Config{})
	cl := ts.dial(t)
	if got := cl.do(createWeb1); got != "0 RRD created OK\n" {
		t.Fatal(got)
	}
	for i, want := range []string{"0 errors, enqueued 1 value(s).\n", "0 errors, enqueued 1 value(s).\n"} {
		if got := cl.do(fmt.Sprintf("UPDATE web1.rrd %d:1:2", 1700000060*(i+1))); got != want {
			t.Fatalf("update %d: %q", i, got)
		}
	}
	if got := cl.do("CREATE web1.rrd -b 1700000000 -s 60 DS:a:GAUGE:120:U:U RRA:LAST:0.5:1:10"); got != "0 RRD created OK\n" {
		t.Fatal(got)
	}
	for i, tc := range []struct{ line, want string }{
		{"UPDATE web1.rrd 1700000060:5", "0 errors, enqueued 1 value(s).\n"},
		{"UPDATE web1.rrd 1700000120:6", "0 errors, enqueued 1 value(s).\n"},
		{"UPDATE web1.rrd 1700000180:1:2", "-1 RRD Error: web1: expected 1 data source readings (got 2) from 1700000180:1:2\n"},
	} {
		if got := cl.do(tc.line); got != tc.want {
			t.Errorf("update %d after CREATE: %q, want %q", i, got, tc.want)
		}
	}
	if last, err := ts.db.LastUpdate("web1"); err != nil || last != 1700000120 {
		t.Errorf("last update %d (%v)", last, err)
	}
}

// TestWriterSendsHeldAnswersBeforeWaiting: the writer holds answers
// while more are queued, but sends them before an answer that must wait
// (its updates not yet durable): a pipelining client, answered only once
// its whole window was durable, sent nothing meanwhile. An answer known
// ready (ticket.ready) is not a reason to send early.
func TestWriterSendsHeldAnswersBeforeWaiting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		ready func() bool
		early bool // the first answer arrives before the second is released
	}{
		{"unknown readiness", nil, true},
		{"not ready", func() bool { return false }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, AllCommands, Config{})
			server, client := net.Pipe()
			defer client.Close()
			c := &conn{s: ts.srv, nc: server, out: make(chan reply, 4)}
			release := make(chan struct{})
			c.out <- ok("first\n", nil)
			c.out <- reply{msg: "second\n", wait: func() error { <-release; return nil }, ready: tc.ready}
			close(c.out)
			done := make(chan struct{})
			go func() { defer close(done); c.writer() }()
			rd := bufio.NewReader(client)
			client.SetReadDeadline(time.Now().Add(10 * time.Second))
			line, err := rd.ReadString('\n')
			if err != nil || line != "0 first\n" {
				t.Fatalf("first answer %q, %v: held behind one that waits", line, err)
			}
			close(release)
			if line, err = rd.ReadString('\n'); err != nil || line != "0 second\n" {
				t.Fatalf("second answer %q, %v", line, err)
			}
			<-done
		})
	}
}

// TestTicketReady: a ticket is ready once applied and, when its group is
// syncing, once that group is durable.
func TestTicketReady(t *testing.T) {
	t.Parallel()
	tk := &ticket{applied: make(chan struct{})}
	if tk.ready() {
		t.Fatal("ready before applied")
	}
	g := &groupSync{done: make(chan struct{})}
	tk.sync = g
	close(tk.applied)
	if tk.ready() {
		t.Fatal("ready before its group is durable")
	}
	close(g.done)
	if !tk.ready() {
		t.Fatal("not ready once applied and durable")
	}
	refused := &ticket{applied: make(chan struct{})}
	close(refused.applied)
	if !refused.ready() {
		t.Fatal("an applied ticket without a group (refused) is not ready")
	}
}
