package collectd

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"rrdash/store"
)

// FuzzDecode: no panic; an error is a *DecodeError or a security refusal;
// every value list has as many types as values; conversion gives valid
// series names.
func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "packets", "*.bin"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	users := map[string]string{"alice": "pw"}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		for _, level := range []SecurityLevel{SecurityNone, SecuritySign, SecurityEncrypt} {
			d := Decoder{Level: level, Users: users}
			_, err := d.Decode(pkt, func(vl *ValueList) {
				if len(vl.Types) != len(vl.Values) || len(vl.Values) == 0 {
					t.Fatalf("value list %+v", vl)
				}
			})
			var de *DecodeError
			if err != nil && !errors.As(err, &de) && !errors.Is(err, ErrUnsigned) && !errors.Is(err, ErrUnencrypted) {
				t.Fatalf("error %v of type %T", err, err)
			}
		}
		sw := &sliceWriter{}
		srv := &Server{w: sw, dec: Decoder{Users: users}, cfg: Config{Types: testTypes, MaxPending: 1 << 10}, log: discard,
			names: map[string][]string{}, last: map[string]lastValue{}, wake: make(chan struct{}, 1)}
		srv.HandlePacket(pkt, netip.AddrPort{})
		for _, p := range srv.pending {
			if err := store.ValidSeriesName(p.Series); err != nil {
				t.Fatalf("series %q: %v", p.Series, err)
			}
		}
	})
}

// TestWriteSeeds keeps the committed seed corpus in step with the encoder
// (RRDASH_WRITE_SEEDS=1 rewrites it).
func TestWriteSeeds(t *testing.T) {
	if os.Getenv("RRDASH_WRITE_SEEDS") == "" {
		t.Skip("RRDASH_WRITE_SEEDS not set")
	}
	dir := filepath.Join("testdata", "packets")
	os.MkdirAll(dir, 0o755)
	plain := samplePacket("h1", 1700000000)
	for name, b := range map[string][]byte{
		"plain": plain, "signed": sign("alice", "pw", plain), "encrypted": encrypt("alice", "pw", plain, [16]byte{7}),
		"encrypted-signed": encrypt("alice", "pw", sign("alice", "pw", plain), [16]byte{9}),
		"counter":          packet(strPart(partHost, "h"), strPart(partPlugin, "p"), numPart(partInterval, 10), strPart(partType, "counter"), valuesPart([]uint8{DSCounter}, []float64{5})),
		"truncated":        plain[:len(plain)-5],
	} {
		if err := os.WriteFile(filepath.Join(dir, name+".bin"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
