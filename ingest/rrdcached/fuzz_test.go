package rrdcached

import (
	"strings"
	"testing"
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
