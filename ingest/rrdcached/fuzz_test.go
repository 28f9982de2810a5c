package rrdcached

import (
	"strings"
	"testing"
	"time"
)

// escape writes a field as rrd_client.c's buffer_add_string does.
func escape(f string) string {
	return strings.NewReplacer(`\`, `\\`, ` `, `\ `).Replace(f)
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"UPDATE web1.rrd 1700000060:1:2", "update a\\ b.rrd N:1", "", " ", "FETCH x AVERAGE  1", "BATCH\r",
		"x\\", "\\\\", "CREATE a.rrd -b 1 DS:a:GAUGE:1:U:U", "LIST RECURSIVE /", ".", "a\\ \\ b c "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmd, ok := ParseCommand(line)
		if !ok {
			if !strings.HasSuffix(strings.TrimSuffix(line, "\r"), `\`) {
				t.Fatalf("%q refused without a trailing backslash", line)
			}
			return
		}
		// escaping the fields again gives a line that parses the same
		fields := append([]string{cmd.Name}, cmd.Args...)
		esc := make([]string, len(fields))
		for i, f := range fields {
			esc[i] = escape(f)
		}
		// (a "\r" is appended: the parser drops one at the end)
		again, ok := ParseCommand(strings.Join(esc, " ") + "\r")
		if !ok || again.Name != cmd.Name || strings.Join(again.Args, "\x00") != strings.Join(cmd.Args, "\x00") || len(again.Args) != len(cmd.Args) {
			t.Fatalf("%q: %q %q, re-escaped %q %q", line, cmd.Name, cmd.Args, again.Name, again.Args)
		}
	})
}

// FuzzServeLine runs arbitrary request lines through a connection: any
// line gets an answer, and the connection goes on.
func FuzzServeLine(f *testing.F) {
	for _, s := range []string{createWeb1, "UPDATE web1.rrd 1700000060:1:2", "FETCH web1.rrd AVERAGE 0x10 -5 a", "LIST RECURSIVE /*",
		"FIRST web1.rrd 99999999999", "BATCH", "INFO /", "CREATE a.rrd -s", "UPDATE web1.rrd 1e300:1:1", "LIST /../"} {
		f.Add(s)
	}
	ts := newTestServer(f, AllCommands, Config{})
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\n") || len(line) > 4000 {
			return
		}
		cl := ts.dial(t)
		cl.send(line + "\n")
		if strings.EqualFold(strings.SplitN(line, " ", 2)[0], "QUIT") {
			return
		}
		if strings.EqualFold(strings.TrimSuffix(strings.SplitN(line, " ", 2)[0], "\r"), "BATCH") {
			cl.send(".\n")
			cl.answer()
		}
		cl.answer()
		if got := cl.do("PING"); got != "0 PONG\n" {
			t.Fatalf("after %q: %q", line, got)
		}
	})
}

// FuzzFastUpdate: a request line answers the same whether the fast path
// for single-value UPDATEs takes it or the full parser does (two servers
// in the same state, one with the fast path off), in a BATCH and outside.
func FuzzFastUpdate(f *testing.F) {
	for _, s := range []string{"UPDATE web1.rrd 1700000060:1:2", "update web1.rrd 1700000120:1:2", "UPDATE web1.rrd 1700000120:1:2",
		"UPDATE web1.rrd 1700000180.5:U:3\r", "UPDATE web1.rrd 1700000240:1", "UPDATE web1.rrd 1700000300:1:2:3", "UPDATE web1.rrd N:1:2",
		"UPDATE web1.rrd -5:1:2", "UPDATE web1.rrd 1700000360:x:2", "UPDATE web1.rrd  1700000420:1:2", "UPDATE web1.rrd 1700000480:1:2 ",
		"UPDATE web1.rrd 0x65555555:1:2", "UPDATE web1.rrd 1e9:1:2", "UPDATE web1.rrd 1700000540:1:2 1700000600:3:4", "UPDATE w\\eb1.rrd 1700000660:1:2",
		// the arena path (whole seconds) against the full parser: '@', empty values, odd stamps
		"UPDATE web1.rrd 1700000720:1@2:3", "UPDATE web1.rrd 1700000780:1:", "UPDATE web1.rrd 01700000840:1:2", "UPDATE web1.rrd 17000009001:1:2",
		"UPDATE web1.rrd 1700000960::2", "UPDATE web1.rrd 1700001020:1:2:", "UPDATE web1.rrd 1700001080:1.5e3:-2", "UPDATE web1.rrd 999999999999999999:1:2",
		// after a line of web1.rrd (the connection's last file): the file's
		// end and the value are checked without the file scans
		"UPDATE web1.rrd 1700001140:1:2\\", "UPDATE web1.rrd 1700001200:1\\ 2:3", "UPDATE web1.rrdx 1700001260:1:2",
		"UPDATE web1.rrd 1700001320:1:2 3", "UPDATE web1.rrd\\ 1700001380:1:2", "UPDATE web1.rrd 1700001440:1: 2", "UPDATE web1.rrd 1700001500 :1:2",
		"UPDATE web1.rrd  ", "UPDATE web1.rrd :", "UPDATE web1.rrd 17000015601:1:2", "UPDATE web1.rrd 1700001620:1\r"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	fast, slow := newTestServer(f, AllCommands, Config{}), newTestServer(f, AllCommands, Config{})
	slow.srv.slowOnly = true
	var conns [2]*client
	for i, ts := range []*testServer{fast, slow} {
		conns[i] = ts.dial(f)
		if got := conns[i].do(createWeb1); got != "0 RRD created OK\n" {
			f.Fatal(got)
		}
		// the connection now knows web1.rrd: the fast path may take it
		if got := conns[i].do("UPDATE web1.rrd 1700000001:0:0"); got != "0 errors, enqueued 1 value(s).\n" {
			f.Fatal(got)
		}
	}
	f.Fuzz(func(t *testing.T, line string, batch bool) {
		if strings.ContainsAny(line, "\n") || len(line) > 4000 || !strings.HasPrefix(strings.ToUpper(line), "UPDATE ") {
			return
		}
		var got [2]string
		for i, ts := range []*testServer{fast, slow} {
			cl := conns[i]
			cl.t = t
			cl.c.SetDeadline(time.Now().Add(30 * time.Second)) // fuzzing outlasts dial's deadline
			if batch {
				cl.send("BATCH\n" + line + "\n.\n")
				cl.answer()
			} else {
				cl.send(line + "\n")
			}
			got[i] = strings.ReplaceAll(cl.answer(), ts.dir, "DIR")
		}
		if got[0] != got[1] {
			t.Fatalf("%q (batch %v): fast path %q, full parser %q", line, batch, got[0], got[1])
		}
	})
}
