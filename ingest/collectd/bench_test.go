package collectd

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"rrdash/ingest/push/pushtest"
)

// benchPacket is a full collectd datagram (1452 bytes at most, as
// collectd's default MaxPacketSize): value lists of 500 hosts' load
// (3 gauges) and interface (2 derives) at time sec.
func benchPackets(sec uint64) (pkts [][]byte, values int) {
	var cur []byte
	for h := range 500 {
		host := "host" + string(rune('a'+h%26)) + string(rune('a'+h/26))
		vl := packet(strPart(partHost, host), numPart(partTimeHR, sec<<30), numPart(partIntervalHR, 10<<30),
			strPart(partPlugin, "load"), strPart(partType, "load"), valuesPart([]uint8{DSGauge, DSGauge, DSGauge}, []float64{0.5, 0.25, float64(sec % 7)}),
			strPart(partPlugin, "interface"), strPart(partPluginInstance, "eth0"), strPart(partType, "if_octets"),
			valuesPart([]uint8{DSDerive, DSDerive}, []float64{float64(sec * 1000), float64(sec * 10)}))
		if len(cur)+len(vl) > 1452 {
			pkts, cur = append(pkts, cur), nil
		}
		cur = append(cur, vl...)
		values += 5
	}
	return append(pkts, cur), values
}

// BenchmarkCollectdValues decodes and converts collectd datagrams and
// writes the points durably into a store (one op: one datagram); the
// socket is left out (see BenchmarkStatsdUDP for its cost).
func BenchmarkCollectdValues(b *testing.B) {
	for _, enc := range []string{"plain", "encrypted"} {
		b.Run(enc, func(b *testing.B) {
			_, w := newStoreWriter(b)
			users := map[string]string{"alice": "pw"}
			srv, err := New(w, Config{Addr: "127.0.0.1:0", Types: testTypes, Users: users, MaxPending: 1 << 24})
			if err != nil {
				b.Fatal(err)
			}
			defer srv.udp.Close()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { srv.writeLoop(ctx); close(done) }()
			from := netip.MustParseAddrPort("127.0.0.1:1")
			sec := uint64(time.Now().Unix()) - 100000
			feed := func(n int) int {
				vals := 0
				for i := 0; i < n; {
					pkts, v := benchPackets(sec)
					sec++
					for _, p := range pkts {
						if enc == "encrypted" {
							p = encrypt("alice", "pw", p, [16]byte{byte(i)})
						}
						srv.HandlePacket(p, from)
						if i++; i == n {
							break
						}
					}
					vals += v
				}
				return vals
			}
			feed(200) // create the series outside the timing
			for srv.Stats().Points+srv.Stats().Late < srv.Stats().Values-1000 {
				time.Sleep(time.Millisecond)
			}
			start := srv.Stats()
			b.ResetTimer()
			cpu0 := pushtest.CPUTime()
			feed(b.N)
			for {
				st := srv.Stats()
				srv.mu.Lock()
				idle := len(srv.pending) == 0
				srv.mu.Unlock()
				if idle && st.Points+st.Late+st.WriteErrors >= st.Values-1000 {
					break
				}
				time.Sleep(100 * time.Microsecond)
			}
			cancel()
			<-done
			b.StopTimer()
			st := srv.Stats()
			b.ReportMetric(float64(st.Values-start.Values)/b.Elapsed().Seconds(), "values/s")
			// Per CPU-second of the process (decode, store, journal fsync,
			// GC): steadier than wall time on a shared machine.
			b.ReportMetric(float64(st.Values-start.Values)/(pushtest.CPUTime()-cpu0).Seconds(), "values/CPU-s")
			if st.Overload > 0 || st.Bad > 0 || st.WriteErrors > 0 {
				b.Fatalf("stats %+v", st)
			}
		})
	}
}
