package rrdcached

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestCanonicalInt(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want float64
		n    int
	}{
		{"0", 0, 1}, {"7", 7, 1}, {"-7", -7, 2}, {"10", 10, 2}, {"96\n", 96, 2}, {"5:1", 5, 1},
		{"999999999999999", 999999999999999, 15}, {"-999999999999999", -999999999999999, 16},
		{"-0", 0, 0}, {"00", 0, 0}, {"007", 0, 0}, {"-07", 0, 0}, {"+5", 0, 0}, {"", 0, 0}, {"-", 0, 0},
		{"U", 0, 0}, {"1000000000000000", 0, 0}, {"-1000000000000000", 0, 0}, {"12345678901234567890", 0, 0},
		// what follows is the caller's: here the digits end at '.', 'e'
		{"1.5", 1, 1}, {"1e3", 1, 1},
	} {
		x, n := canonicalInt([]byte(c.in))
		if n != c.n || n > 0 && x != c.want {
			t.Errorf("canonicalInt(%q) = %v, %d; want %v, %d", c.in, x, n, c.want, c.n)
		}
	}
	for _, c := range []struct {
		in string
		t  int64
		x  float64
		ok bool
	}{
		{"1700000001:5", 1700000001, 5, true}, {"1700000001:-12", 1700000001, -12, true},
		{"1700000001:1.5", 0, 0, false}, {"1700000001:5:6", 0, 0, false}, {"0700000001:5", 0, 0, false},
		{"170000000:5", 0, 0, false}, {"1700000001:", 0, 0, false}, {"1700000001:-0", 0, 0, false},
		{"17000000011:5", 0, 0, false}, {"1700000001.5:5", 0, 0, false}, {"1700000001:5 ", 0, 0, false},
	} {
		tm, x, ok := plainInt([]byte(c.in))
		if ok != c.ok || ok && (tm != c.t || x != c.x) {
			t.Errorf("plainInt(%q) = %d, %v, %v; want %d, %v, %v", c.in, tm, x, ok, c.t, c.x, c.ok)
		}
	}
}

// numTypes are one-DS files of every type that takes readings: their
// lines may take hotLines' numeric path. Heartbeat 3 (with gaps of up to
// 5 s) makes some readings unknown; min and max make some rates unknown.
var numTypes = []struct{ file, ds string }{
	{"g.rrd", "GAUGE:3:-1000000:1000000"},
	{"c.rrd", "COUNTER:3:U:100000000"},
	{"d.rrd", "DERIVE:3:-100000000:U"},
	{"a.rrd", "ABSOLUTE:3:U:U"},
	{"dc.rrd", "DCOUNTER:3:U:U"},
	{"dd.rrd", "DDERIVE:3:U:U"},
}

// numValue is a random reading: mostly canonical integers of every size
// (near a 32-bit counter's wrap too), else forms that keep the text path.
func numValue(r *rand.Rand, last *int64) string {
	switch r.IntN(30) {
	case 0:
		return "007"
	case 1:
		return "-0"
	case 2:
		return "1e3"
	case 3:
		return "1.5"
	case 4:
		return "U"
	case 5:
		return "+5"
	case 6:
		return "00"
	case 7:
		return "x" // refused (by DCOUNTER, DDERIVE only with a previous reading)
	case 8:
		return "1000000000000000" // 16 digits
	case 9:
		return "-999999999999999"
	case 10:
		return "999999999999999"
	case 11:
		return "4294967290" // a 32-bit counter about to wrap
	case 12:
		return fmt.Sprint(r.Int64N(20)) // a fall after it: the wrap
	case 13:
		return "-" + fmt.Sprint(1+r.Int64N(1000)) // refused by COUNTER
	case 14:
		return "0"
	case 15:
		return "-00"
	}
	// a counter's steady climb, sometimes falling back
	*last += r.Int64N(5000) - 200
	return fmt.Sprint(*last)
}

// TestHotNumbers: the same UPDATE stream of every DS type, its canonical
// integers taken as numbers by hotLines and fastUpdate on one server and
// every line parsed as text on the other (slowOnly), gets the same
// answers and leaves the same state (INFO: last_ds, the PDP and CDP
// state) and the same rows of every archive.
func TestHotNumbers(t *testing.T) {
	t.Parallel()
	fast, slow := newTestServer(t, AllCommands, Config{}), newTestServer(t, AllCommands, Config{})
	slow.srv.slowOnly = true
	r := rand.New(rand.NewPCG(22, 6))
	for _, ty := range numTypes {
		var conns [2]*client
		for i, ts := range []*testServer{fast, slow} {
			conns[i] = ts.dial(t)
			create := fmt.Sprintf("CREATE %s -b 1700000000 -s 1 DS:v:%s RRA:AVERAGE:0.5:1:20000 RRA:MAX:0.5:1:20000 RRA:MIN:0.5:5:5000 RRA:LAST:0.5:1:20000", ty.file, ty.ds)
			if got := conns[i].do(create); got != "0 RRD created OK\n" {
				t.Fatal(got)
			}
		}
		tm, last := int64(1700000000), int64(0)
		// long runs in a BATCH only (outside, the text path syncs each
		// line), one longer than a chunk (maxChunk)
		for _, n := range []int{1, 1, 3, 50, 700, 4500, 2, 200} {
			for _, batch := range []bool{false, true} {
				if !batch && n > 200 || n > maxChunk && ty.file != "c.rrd" {
					continue
				}
				lines := make([]string, n)
				for i := range lines {
					tm += 1 + r.Int64N(5)
					ts := tm
					if r.IntN(50) == 0 {
						ts -= 10 // refused: too old
					}
					lines[i] = fmt.Sprintf("UPDATE %s %d:%s", ty.file, ts, numValue(r, &last))
				}
				hotSend(t, fast, slow, conns, lines, batch)
			}
		}
		var got [2]string
		for i, ts := range []*testServer{fast, slow} {
			var b strings.Builder
			for _, req := range []string{"INFO " + ty.file, "LAST " + ty.file,
				fmt.Sprintf("FETCH %s AVERAGE 1700000000 %d", ty.file, tm), fmt.Sprintf("FETCH %s MAX 1700000000 %d", ty.file, tm),
				fmt.Sprintf("FETCH %s MIN 1700000000 %d", ty.file, tm), fmt.Sprintf("FETCH %s LAST 1700000000 %d", ty.file, tm)} {
				conns[i].send(req + "\n")
				b.WriteString(strings.ReplaceAll(conns[i].answer(), ts.dir, "DIR"))
			}
			got[i] = b.String()
		}
		if got[0] != got[1] {
			t.Errorf("%s after the updates: numeric path\n%s\ntext path\n%s", ty.ds, firstDiff(got[0], got[1]), firstDiff(got[1], got[0]))
		}
		if !strings.Contains(got[0], "ds[v].last_ds") {
			t.Errorf("%s: INFO without last_ds: %.400s", ty.ds, got[0])
		}
	}
}

// firstDiff is a from its first line that differs from b's.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range al {
		if i >= len(bl) || al[i] != bl[i] {
			return strings.Join(al[i:min(len(al), i+5)], "\n")
		}
	}
	return ""
}
