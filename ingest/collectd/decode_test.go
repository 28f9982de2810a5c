package collectd

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rrdash/ingest/push"
)

var testTypes = TypesDB{
	"load":      {{"shortterm", DSGauge}, {"midterm", DSGauge}, {"longterm", DSGauge}},
	"if_octets": {{"rx", DSDerive}, {"tx", DSDerive}},
	"memory":    {{"value", DSGauge}},
	"counter":   {{"value", DSCounter}},
	"absolute":  {{"value", DSAbsolute}},
}

func TestDecodeSecurity(t *testing.T) {
	t.Parallel()
	users := map[string]string{"alice": "pw"}
	plain := samplePacket("h1", 1000)
	iv := [16]byte{1, 2, 3}
	for _, tc := range []struct {
		name    string
		level   SecurityLevel
		users   map[string]string
		pkt     []byte
		lists   int
		refused int
		err     error
	}{
		{"plain at none", SecurityNone, nil, plain, 3, 0, nil},
		{"plain at sign", SecuritySign, users, plain, 0, 15, ErrUnsigned},
		{"plain at encrypt", SecurityEncrypt, users, plain, 0, 15, ErrUnencrypted},
		{"signed at sign", SecuritySign, users, sign("alice", "pw", plain), 3, 0, nil},
		{"signed at encrypt", SecurityEncrypt, users, sign("alice", "pw", plain), 0, 16, ErrUnencrypted},
		{"signed, wrong password", SecuritySign, users, sign("alice", "nope", plain), 0, 0, ErrBadSignature},
		{"signed, unknown user", SecuritySign, users, sign("mallory", "pw", plain), 0, 0, ErrUnknownUser},
		{"signed, no users at none: accepted unchecked", SecurityNone, nil, sign("x", "y", plain), 3, 0, nil},
		{"encrypted at encrypt", SecurityEncrypt, users, encrypt("alice", "pw", plain, iv), 3, 0, nil},
		{"encrypted at none", SecurityNone, users, encrypt("alice", "pw", plain, iv), 3, 0, nil},
		{"encrypted, wrong password", SecurityEncrypt, users, encrypt("alice", "bad", plain, iv), 0, 0, ErrBadChecksum},
		{"encrypted, unknown user", SecurityEncrypt, users, encrypt("eve", "pw", plain, iv), 0, 0, ErrUnknownUser},
		{"encrypted signed", SecurityEncrypt, users, encrypt("alice", "pw", sign("alice", "pw", plain), iv), 3, 0, nil},
	} {
		d := Decoder{Level: tc.level, Users: tc.users}
		var lists []ValueList
		refused, err := d.Decode(tc.pkt, func(vl *ValueList) { lists = append(lists, *vl) })
		if len(lists) != tc.lists || refused != tc.refused || !errors.Is(err, tc.err) {
			t.Errorf("%s: %d lists, %d refused, error %v; want %d, %d, %v", tc.name, len(lists), refused, err, tc.lists, tc.refused, tc.err)
		}
		if tc.lists > 0 && (lists[0].Host != "h1" || lists[0].Time != 1000<<30 || lists[2].TypeInstance != "used" || lists[1].PluginInstance != "eth0") {
			t.Errorf("%s: lists %+v", tc.name, lists)
		}
	}
}

func TestDecodeBad(t *testing.T) {
	t.Parallel()
	good := samplePacket("h", 1)
	for _, tc := range []struct {
		name  string
		pkt   []byte
		lists int
		want  string
	}{
		{"truncated part", good[:len(good)-3], 2, "part length"},
		{"trailing bytes", append(append([]byte(nil), good...), 0, 1), 3, "trailing"},
		{"string without NUL", packet([]byte{0, 0, 0, 6, 'a', 'b'}), 0, "NUL"},
		{"short number", packet([]byte{0, 1, 0, 8, 1, 2, 3, 4}), 0, "want 8"},
		{"values count mismatch", packet([]byte{0, 6, 0, 15, 0, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}), 0, "values in"},
		{"unknown DS type", packet(strPart(partType, "x"), valuesPart([]uint8{9}, []float64{1})), 0, "unknown data source type"},
		{"part length below 4", packet([]byte{0, 0, 0, 2, 0}), 0, "part length 2"},
		{"a bare part header", packet([]byte{0, 0, 0, 4}), 0, "trailing"},
	} {
		d := Decoder{}
		n := 0
		_, err := d.Decode(tc.pkt, func(*ValueList) { n++ })
		var de *DecodeError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), tc.want) || n != tc.lists {
			t.Errorf("%s: error %v, %d lists; want %q, %d lists", tc.name, err, n, tc.want, tc.lists)
		}
	}
}

type sliceWriter struct{ pts []push.Point }

func (s *sliceWriter) Write(_ context.Context, pts []push.Point) (push.WriteResult, error) {
	s.pts = append(s.pts, pts...)
	return push.WriteResult{Accepted: len(pts)}, nil
}

func TestConvert(t *testing.T) {
	t.Parallel()
	sw := &sliceWriter{}
	srv, err := New(sw, Config{Addr: "127.0.0.1:0", Types: testTypes})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.udp.Close()
	now := uint64(time.Now().Unix())
	from := netip.MustParseAddrPort("127.0.0.1:1")
	srv.HandlePacket(samplePacket("web1", now), from)
	srv.HandlePacket(packet(strPart(partHost, "web1"), numPart(partTime, now+10), strPart(partPlugin, "interface"), strPart(partPluginInstance, "eth0"),
		strPart(partType, "if_octets"), valuesPart([]uint8{DSDerive, DSDerive}, []float64{3000, 1000}),
		strPart(partPlugin, "x"), strPart(partPluginInstance, ""), numPart(partInterval, 5), strPart(partType, "absolute"), valuesPart([]uint8{DSAbsolute}, []float64{50}),
		strPart(partType, "memory"), valuesPart([]uint8{DSGauge}, []float64{nan()}),
		strPart(partType, "nosuchtype"), valuesPart([]uint8{DSGauge}, []float64{1})), from)
	srv.writePending(t.Context())
	got := map[string]string{}
	for _, p := range sw.pts {
		got[p.Series] = p.Value
	}
	want := map[string]string{
		"collectd.load.load.shortterm;host=web1":                         "0.5",
		"collectd.load.load.midterm;host=web1":                           "0.25",
		"collectd.load.load.longterm;host=web1":                          "0.125",
		"collectd.memory.memory;host=web1;type_instance=used":            "1.073741824e+09",
		"collectd.interface.if_octets.rx;host=web1;plugin_instance=eth0": "200", // (3000-1000)/10 s
		"collectd.interface.if_octets.tx;host=web1;plugin_instance=eth0": "-100",
		"collectd.x.absolute;host=web1":                                  "10", // 50 / 5 s
		"collectd.x.memory;host=web1":                                    "U",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %v", got)
	}
	if st := srv.Stats(); st.Bad != 1 {
		t.Errorf("bad = %d, want 1 (the unknown type)", st.Bad)
	}
}

func TestCounterWrap(t *testing.T) {
	t.Parallel()
	for _, tc := range [][3]uint64{{10, 15, 5}, {1<<32 - 6, 4, 10}, {1<<64 - 6, 4, 10}} {
		if got := counterDiff(tc[0], tc[1]); got != tc[2] {
			t.Errorf("counterDiff(%d, %d) = %d, want %d", tc[0], tc[1], got, tc[2])
		}
	}
}

func TestReadFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "types.db")
	os.WriteFile(p, []byte("# c\nload shortterm:GAUGE:0:5000, midterm:GAUGE:0:5000 longterm:GAUGE:0:U\nif_octets\trx:DERIVE:0:U,tx:DERIVE:0:U\n"), 0o644)
	db, err := ReadTypesDB(p)
	if err != nil || len(db["load"]) != 3 || db["if_octets"][1].Name != "tx" || db["if_octets"][1].Type != DSDerive {
		t.Fatalf("%v %v", db, err)
	}
	os.WriteFile(p, []byte("bad x:NOPE:0:1\n"), 0o644)
	if _, err := ReadTypesDB(p); err == nil || !strings.Contains(err.Error(), ":1:") {
		t.Errorf("bad types.db: %v", err)
	}
	a := filepath.Join(dir, "auth")
	os.WriteFile(a, []byte("alice: pw with spaces \n\n# x\nbob:b\n"), 0o600)
	users, err := ReadAuthFile(a)
	if err != nil || users["alice"] != "pw with spaces" || users["bob"] != "b" {
		t.Fatalf("%v %v", users, err)
	}
	os.WriteFile(a, []byte("alice\n"), 0o600)
	if _, err := ReadAuthFile(a); err == nil || !strings.Contains(err.Error(), ":1:") {
		t.Errorf("bad auth file: %v", err)
	}
}

func nan() float64 { return math.NaN() }

var discard = slog.New(slog.DiscardHandler)
