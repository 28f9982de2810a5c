package push

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"rrdash/tools/testdeps"
)

// pickleSeeds are pickle.dumps of [('a.b', (1700000000, 1.5)), ('c;x=1',
// (1700000060.25, -3)), ('big', (1700000000, 2**70)), ('s',
// ('1700000000', '4.25'))] by Debian's python3, protocols 0 to 5.
var pickleSeeds = []string{
	"286c70300a2856612e620a70310a2849313730303030303030300a46312e350a7470320a7470330a612856633b783d310a70340a2846313730303030303036302e32350a492d330a7470350a7470360a6128566269670a70370a2849313730303030303030300a4c313138303539313632303731373431313330333432344c0a7470380a7470390a612856730a7031300a2856313730303030303030300a7031310a56342e32350a7031320a747031330a747031340a612e",
	"5d710028285803000000612e627101284a00f15365473ff8000000000000747102747103285805000000633b783d317104284741d954fc4f1000004afdffffff7471057471062858030000006269677107284a00f153654c313138303539313632303731373431313330333432344c0a74710874710928580100000073710a28580a00000031373030303030303030710b5804000000342e3235710c74710d74710e652e",
	"80025d7100285803000000612e6271014a00f15365473ff80000000000008671028671035805000000633b783d3171044741d954fc4f1000004afdffffff867105867106580300000062696771074a00f153658a09000000000000000040867108867109580100000073710a580a00000031373030303030303030710b5804000000342e3235710c86710d86710e652e",
	"80035d7100285803000000612e6271014a00f15365473ff80000000000008671028671035805000000633b783d3171044741d954fc4f1000004afdffffff867105867106580300000062696771074a00f153658a09000000000000000040867108867109580100000073710a580a00000031373030303030303030710b5804000000342e3235710c86710d86710e652e",
	"8004956d000000000000005d94288c03612e62944a00f15365473ff8000000000000869486948c05633b783d31944741d954fc4f1000004afdffffff869486948c03626967944a00f153658a09000000000000000040869486948c0173948c0a31373030303030303030948c04342e32359486948694652e",
	"8005956d000000000000005d94288c03612e62944a00f15365473ff8000000000000869486948c05633b783d31944741d954fc4f1000004afdffffff869486948c03626967944a00f153658a09000000000000000040869486948c0173948c0a31373030303030303030948c04342e32359486948694652e",
}

const pickleSeedsWant = "a.b 1700000000.000000 1.5|c;x=1 1700000060.250000 -3|big 1700000000.000000 1.1805916207174113e+21|s 1700000000.000000 4.25"

func pointsText(pts []Point) string {
	var out []string
	for _, p := range pts {
		out = append(out, fmt.Sprintf("%s %d.%06d %s", p.Series, p.Sec, p.Usec, p.Value))
	}
	return strings.Join(out, "|")
}

func TestPicklePointsAllProtocols(t *testing.T) {
	t.Parallel()
	for proto, h := range pickleSeeds {
		b, _ := hex.DecodeString(h)
		pts, bad, err := PicklePoints(b)
		if err != nil || len(bad) > 0 {
			t.Fatalf("protocol %d: %v %v", proto, err, bad)
		}
		if got := pointsText(pts); got != pickleSeedsWant {
			t.Errorf("protocol %d:\n%s\nwant\n%s", proto, got, pickleSeedsWant)
		}
		for _, p := range pts {
			if !p.Graphite {
				t.Errorf("protocol %d: %s not marked as a Graphite point", proto, p.Series)
			}
		}
	}
}

// TestPickleFromPython pickles with Debian's python3 what carbon's clients
// send — names with tags and non-ASCII, every protocol, memo references —
// and checks the decoded points.
func TestPickleFromPython(t *testing.T) {
	t.Parallel()
	py := testdeps.Program(t, "python3", "/usr/bin/python3")
	script := `
import pickle, sys
d = [("x.y;b=2;a=1", (1700000000.5, 7)), ("caf\u00e9.b\\s", (1700000001, 2.5e-300)), ("n", (1700000002, True)), ("l", [1700000003, -0.0])]
d.append(d[0])  # a memo reference
for p in range(6):
    sys.stdout.write(pickle.dumps(d, protocol=p).hex() + "\n")
`
	out, err := exec.Command(py, "-c", script).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "x.y;a=1;b=2 1700000000.500000 7|café.b\\s 1700000001.000000 2.5e-300|n 1700000002.000000 1|l 1700000003.000000 -0|x.y;a=1;b=2 1700000000.500000 7"
	for proto, h := range strings.Fields(string(out)) {
		b, _ := hex.DecodeString(h)
		pts, bad, err := PicklePoints(b)
		if err != nil || len(bad) > 0 {
			t.Fatalf("protocol %d: %v %v", proto, err, bad)
		}
		if got := pointsText(pts); got != want {
			t.Errorf("protocol %d:\n%s\nwant\n%s", proto, got, want)
		}
	}
}

func TestPickleRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, pickle, err string
	}{
		{"os.system", "cos\nsystem\n(S'echo hi'\ntR.", "opcode GLOBAL (0x63) builds objects: refused"},
		{"stack global", "\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x93.", "STACK_GLOBAL"},
		{"reduce", "\x80\x02]q\x00R.", "REDUCE"},
		{"dict", "\x80\x02}q\x00.", "EMPTY_DICT"},
		{"unknown", "\x80\x02\xff.", "unknown opcode 0xff"},
		{"protocol 6", "\x80\x06].", "pickle protocol 6"},
		{"truncated", "\x80\x02X\x10\x00\x00\x00ab", "truncated"},
		{"no stop", "\x80\x02]", "no STOP"},
		{"trailing bytes", "\x80\x02].]", "after STOP"},
		{"two values", "\x80\x02]].", "STOP with 2 values"},
		{"underflow", "\x80\x02a.", "stack underflow"},
		{"tuple across a mark", "\x80\x02K\x01(\x86.", "stack underflow"},
		{"memo miss", "\x80\x02h\x05.", "memo key 5 not set"},
		{"append to a str", "\x80\x02X\x01\x00\x00\x00aK\x01a.", "APPEND to a string"},
		{"bad utf-8", "\x80\x02X\x01\x00\x00\x00\xff.", "UTF-8"},
		{"escaped STRING", "S'a\\x00'\n.", "only plain quoted strings"},
		{"not a list", "\x80\x02K\x05.", "pickle holds a int"},
		{"huge length", "\x80\x02\x8d\xff\xff\xff\xff\xff\xff\xff\x7f.", "length"},
	} {
		_, _, err := PicklePoints([]byte(tc.pickle))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
		}
	}
	// bad datapoints are reported one by one; the others are points
	b := []byte("\x80\x02]q\x00(X\x01\x00\x00\x00aq\x01K\x01K\x02\x86\x86K\x07X\x01\x00\x00\x00bK\x01X\x03\x00\x00\x00abc\x86\x86X\x01\x00\x00\x00cG\x7f\xf8\x00\x00\x00\x00\x00\x00K\x01\x86\x86X\x00\x00\x00\x00K\x01K\x01\x86\x86X\x01\x00\x00\x00d)\x86e.")
	pts, bad, err := PicklePoints(b)
	if err != nil || pointsText(pts) != "a 1.000000 2" || len(bad) != 5 {
		t.Fatalf("%q %v %v", pointsText(pts), bad, err)
	}
	for i, want := range []string{"datapoint 1: a int", `"b": value "abc" is not a number`, `"c": timestamp NaN`, "datapoint 4:", `"d": datapoint is a tuple`} {
		if !strings.Contains(bad[i].Error(), want) {
			t.Errorf("bad %d: %v, want %q", i, bad[i], want)
		}
	}
}

// FuzzUnpickle: no input panics or runs away; a decoded pickle holds only
// plain values, and its points are valid.
func FuzzUnpickle(f *testing.F) {
	for _, h := range pickleSeeds {
		b, _ := hex.DecodeString(h)
		f.Add(b)
	}
	f.Add([]byte("cos\nsystem\n(S'echo hi'\ntR."))
	f.Add([]byte("\x80\x02(K\x01K\x02l0h\x00."))
	f.Add([]byte("(lp0\n(V\\u00e9\np1\n(I1\nF2.5\ntp2\ntp3\na."))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := unpickle(b)
		if err != nil {
			var pe *PickleError
			if !errors.As(err, &pe) || pe.Offset < 0 || pe.Offset > len(b) {
				t.Fatalf("error %v without a valid offset", err)
			}
			return
		}
		var walk func(any, int)
		walk = func(v any, depth int) {
			if depth > 1<<20 {
				t.Fatal("too deep")
			}
			switch x := v.(type) {
			case nil, string, int64, float64, bool, *big.Int:
			case []any:
				for _, e := range x {
					walk(e, depth+1)
				}
			case pickleTuple:
				for _, e := range x {
					walk(e, depth+1)
				}
			default:
				t.Fatalf("decoded a %T", v)
			}
		}
		if len(b) < 1<<12 {
			walk(v, 0)
		}
		pts, _, err := PicklePoints(b)
		if err != nil {
			return
		}
		for _, p := range pts {
			if p.Series == "" || p.Usec < 0 || p.Usec >= 1e6 {
				t.Fatalf("bad point %+v", p)
			}
		}
	})
}

// TestPickleListener sends frames over TCP and checks the points are
// stored and acknowledged by a clean close; a bad frame and an oversized
// one reset the connection after what came before is stored.
func TestPickleListener(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	w, err := NewWriter(db, WriterConfig{Template: exactTemplate(t), MaxDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	g, err := ListenPickle("127.0.0.1:0", w, GraphiteConfig{}, 1<<10)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go g.Serve(ctx)
	send := func(frames ...[]byte) error {
		c, err := net.Dial("tcp", g.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for _, f := range frames {
			if _, err := c.Write(f); err != nil {
				return err
			}
		}
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(time.Minute))
		_, err = io.Copy(io.Discard, c)
		return err
	}
	frame := func(pickle []byte) []byte {
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(pickle))), pickle...)
	}
	p0, _ := hex.DecodeString(pickleSeeds[2])
	if err := send(frame(p0)); err != nil {
		t.Fatalf("not acknowledged: %v", err)
	}
	if got := stored(t, db, "a.b", 1699999990, 1700000010); got[1700000000] != 1.5 {
		t.Errorf("a.b: %v", got)
	}
	if got := stored(t, db, "c;x=1", 1700000050, 1700000070); got[1700000060] != -3 {
		t.Errorf("c;x=1: %v", got)
	}
	// a frame that is not carbon's, after a good one: reset
	p1 := []byte("\x80\x02]q\x00(X\x01\x00\x00\x00eJ\x64\xf1\x53\x65K\x09\x86\x86e.") // [("e", (1700000100, 9))]
	if err := send(frame(p1), frame([]byte("cos\nsystem\n."))); err == nil {
		t.Error("a refused frame was acknowledged")
	}
	if got := stored(t, db, "e", 1700000090, 1700000110); got[1700000100] != 9 {
		t.Errorf("points before the bad frame: %v", got)
	}
	// too long
	if err := send(binary.BigEndian.AppendUint32(nil, 1<<11)); err == nil {
		t.Error("an oversized frame was acknowledged")
	}
	// cut short inside a frame
	if err := send(frame(p0)[:10]); err == nil {
		t.Error("a frame cut short was acknowledged")
	}
	st := g.Stats()
	if st.Points != 5 || st.Bad != 1 || st.Aborted != 3 || st.Lines != 3 {
		t.Errorf("stats %+v", st)
	}
}
