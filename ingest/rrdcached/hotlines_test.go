package rrdcached

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// createOne is a file of one data source: its lines may take hotLines.
const createOne = "CREATE one.rrd -b 1700000000 -s 1 DS:a:GAUGE:120:U:U RRA:AVERAGE:0.5:1:10000 RRA:LAST:0.5:1:10000"

// hotPair is two servers in the same state, one with every fast path
// off, each with a connection that has updated one.rrd (its last file).
func hotPair(tb testing.TB) (fast, slow *testServer, conns [2]*client) {
	fast, slow = newTestServer(tb, AllCommands, Config{}), newTestServer(tb, AllCommands, Config{})
	slow.srv.slowOnly = true
	for i, ts := range []*testServer{fast, slow} {
		conns[i] = ts.dial(tb)
		for _, req := range []string{createOne, createWeb1} {
			if got := conns[i].do(req); got != "0 RRD created OK\n" {
				tb.Fatal(got)
			}
		}
		if got := conns[i].do("UPDATE one.rrd 1700000001:0"); got != "0 errors, enqueued 1 value(s).\n" {
			tb.Fatal(got)
		}
	}
	return fast, slow, conns
}

// hotSend sends lines in one write (in a BATCH or not) to both servers
// and compares every answer.
func hotSend(t testing.TB, fast, slow *testServer, conns [2]*client, lines []string, batch bool) {
	t.Helper()
	req := strings.Join(lines, "\n") + "\n"
	answers := len(lines)
	if batch {
		req, answers = "BATCH\n"+req+".\n", 2
	}
	var got [2][]string
	for i, ts := range []*testServer{fast, slow} {
		cl := conns[i]
		cl.t = t
		cl.c.SetDeadline(time.Now().Add(time.Minute))
		cl.send(req)
		for range answers {
			got[i] = append(got[i], strings.ReplaceAll(cl.answer(), ts.dir, "DIR"))
		}
	}
	for k := range got[0] {
		if got[0][k] != got[1][k] {
			t.Fatalf("batch %v, answer %d of %q: fast path %q, full parser %q", batch, k, lines[:min(len(lines), 5)], got[0][k], got[1][k])
		}
	}
}

// hotLine is a random request line near the form hotLines takes.
func hotLine(r *rand.Rand, t *int64) string {
	*t += 1 + r.Int64N(2)
	ts := fmt.Sprint(*t)
	v := fmt.Sprint(r.IntN(1000))
	switch r.IntN(40) {
	case 0:
		return "UPDATE one.rrd " + ts + ":" + v + "\r"
	case 1:
		return "UPDATE one.rrd " + ts + ":"
	case 2:
		return "UPDATE one.rrd " + ts + ":" + v + ":1"
	case 3:
		return "UPDATE one.rrd " + ts + ":1@2"
	case 4:
		return "UPDATE one.rrd " + ts + ":1 2"
	case 5:
		return "UPDATE one.rrd " + ts + ":1\\"
	case 6:
		return "UPDATE one.rrd 0" + ts + ":" + v
	case 7:
		return "UPDATE one.rrd " + ts + ".0:" + v
	case 8:
		return "UPDATE one.rrd " + ts[:9] + ":" + v
	case 9:
		return "update one.rrd " + ts + ":" + v
	case 10:
		return "UPDATE one.rrdx " + ts + ":" + v
	case 11:
		return "UPDATE one.rr " + ts + ":" + v
	case 12:
		return "UPDATE web1.rrd " + ts + ":" + v + ":1"
	case 13:
		return "UPDATE one.rrd " + ts + ".5:" + v
	case 14:
		return "UPDATE one.rrd " + ts + ":U"
	case 15:
		return "UPDATE one.rrd " + ts + ":x"
	case 16:
		return "UPDATE one.rrd " + ts + ":1e3"
	case 17:
		return "UPDATE one.rrd " + fmt.Sprint(*t-5) + ":" + v // refused: too old
	case 18:
		return "UPDATE one.rrd " + ts + ":-" + v
	case 19:
		return "PING"
	// integers hotLines reads as numbers, and forms near them it leaves
	// as text
	case 20:
		return "UPDATE one.rrd " + ts + ":-0"
	case 21:
		return "UPDATE one.rrd " + ts + ":0" + v
	case 22:
		return "UPDATE one.rrd " + ts + ":+" + v
	case 23:
		return "UPDATE one.rrd " + ts + ":" + v + ".5"
	case 24:
		return "UPDATE one.rrd " + ts + ":999999999999999"
	case 25:
		return "UPDATE one.rrd " + ts + ":-1000000000000000"
	case 26:
		return "UPDATE one.rrd " + ts + ":" + v + "e1"
	case 27:
		return "UPDATE one.rrd " + ts + ":00"
	}
	return "UPDATE one.rrd " + ts + ":" + v
}

// TestHotLines: runs of lines hotLines takes, mixed with lines near that
// form that it must leave to the other paths, get the same answers as
// from the full parser (outside and in a BATCH, with runs longer than a
// chunk), and leave the same data.
func TestHotLines(t *testing.T) {
	t.Parallel()
	fast, slow, conns := hotPair(t)
	r := rand.New(rand.NewPCG(22, 5))
	tm := int64(1700000001)
	for _, n := range []int{1, 2, 50, 3000, 5000} {
		for _, batch := range []bool{false, true} {
			lines := make([]string, n)
			for i := range lines {
				lines[i] = hotLine(r, &tm)
				if batch && lines[i] == "PING" {
					lines[i] = "UPDATE one.rrd " + fmt.Sprint(tm) + ":7"
				}
			}
			hotSend(t, fast, slow, conns, lines, batch)
		}
	}
	// only the plain form: every line of a long run taken at once
	var lines []string
	for range 9000 {
		tm++
		lines = append(lines, fmt.Sprintf("UPDATE one.rrd %d:%d", tm, tm%97))
	}
	hotSend(t, fast, slow, conns, lines, false)
	hotSend(t, fast, slow, conns, []string{fmt.Sprintf("UPDATE one.rrd %d:1", tm+1)}, true)
	var got [2]string
	for i, ts := range []*testServer{fast, slow} {
		var b strings.Builder
		for _, req := range []string{"INFO one.rrd", "LAST one.rrd", fmt.Sprintf("FETCH one.rrd AVERAGE %d %d", tm-20000, tm), fmt.Sprintf("FETCH one.rrd LAST %d %d", tm-20000, tm)} {
			conns[i].send(req + "\n")
			b.WriteString(strings.ReplaceAll(conns[i].answer(), ts.dir, "DIR"))
		}
		got[i] = b.String()
	}
	if got[0] != got[1] {
		t.Errorf("after the updates: fast path\n%s\nfull parser\n%s", got[0], got[1])
	}
	if !strings.Contains(got[0], fmt.Sprintf("last_update 1 %d\n", tm+1)) {
		t.Errorf("INFO, want last_update %d: %s", tm+1, got[0][:min(len(got[0]), 600)])
	}
}

// FuzzHotLines: a block of UPDATE lines sent in one write answers the
// same whether hotLines and the fast path take what they can or the full
// parser takes every line.
func FuzzHotLines(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	tm := int64(1700000001)
	for range 20 {
		var lines []string
		for range 1 + r.IntN(12) {
			lines = append(lines, hotLine(r, &tm))
		}
		f.Add(strings.Join(lines, "\n"), r.IntN(2) == 0)
	}
	// the numeric path's edges, after a line of the file (hotLines takes
	// the lines after the first)
	for _, vals := range [][]string{{"0", "-0", "00", "7"}, {"5", "007", "-7", "+7"}, {"1", "999999999999999", "-999999999999999", "1000000000000000"},
		{"2", "3\r", "4", "1.0"}, {"6", "1e3", "U", "-"}, {"8", "9:1", "10@1", "-12"}} {
		var lines []string
		for _, v := range vals {
			tm++
			lines = append(lines, fmt.Sprintf("UPDATE one.rrd %d:%s", tm, v))
		}
		f.Add(strings.Join(lines, "\n"), false)
		f.Add(strings.Join(lines, "\n"), true)
	}
	fast, slow, conns := hotPair(f)
	f.Fuzz(func(t *testing.T, block string, batch bool) {
		lines := strings.Split(block, "\n")
		if len(block) > 20000 || len(lines) > 200 {
			return
		}
		for _, l := range lines {
			if !strings.HasPrefix(strings.ToUpper(l), "UPDATE ") && l != "PING" || batch && l == "PING" {
				return
			}
		}
		hotSend(t, fast, slow, conns, lines, batch)
	})
}
