package main

import (
	"bufio"
	"encoding/binary"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"rrdash/store"
)

// TestServeStatsdCollectd runs serve with the statsd (UDP, TCP) and
// collectd listeners on, sends to each, checks /-/metrics counts them per
// source (bad lines too), stops serve with SIGTERM — the shutdown flush
// writes statsd's partial interval — and finds the series in the store.
func TestServeStatsdCollectd(t *testing.T) {
	if _, err := os.Stat("/usr/share/collectd/types.db"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("collectd's types.db is required (CI=true); make deps-test installs collectd-core")
		}
		t.Skip("collectd-core not installed (make deps-test installs it)")
	}
	bin := buildRrdash(t)
	data := t.TempDir()
	cmd := exec.Command(bin, "--data", data, "serve", "--addr", "127.0.0.1:0",
		"--statsd", "127.0.0.1:0", "--statsd-tcp", "127.0.0.1:0", "--collectd", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	var base, sUDP, sTCP, cUDP string
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "statsd on udp "); ok {
			f := strings.Fields(rest) // ADDR tcp ADDR …
			sUDP, sTCP = f[0], f[2]
		}
		if rest, ok := strings.CutPrefix(line, "collectd on udp "); ok {
			cUDP = strings.Fields(rest)[0]
		}
		if i := strings.Index(line, "http://"); i >= 0 {
			base = strings.Fields(line[i:])[0]
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	if base == "" || sUDP == "" || sTCP == "" || cUDP == "" {
		t.Fatalf("serve did not start its listeners: %s", stderr.String())
	}
	send := func(network, addr string, b []byte) {
		c, err := net.Dial(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	send("udp", sUDP, []byte("t.udp:3|c\nt.udp:2|c|@0.5\nt.bad:x|c"))
	send("tcp", sTCP, []byte("t.tcp:7|g|#env:test\n"))
	send("udp", cUDP, collectdPacket("web1", uint64(time.Now().Unix())))

	metrics := ""
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(base + "/-/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		metrics = string(b)
		if strings.Contains(metrics, `rrdash_ingest_records_total{source="statsd"} 4`) && strings.Contains(metrics, `rrdash_ingest_records_total{source="collectd"} 1`) {
			break
		}
	}
	for _, want := range []string{`rrdash_ingest_records_total{source="statsd"} 4`, `rrdash_ingest_bad_records_total{source="statsd"} 1`,
		`rrdash_ingest_records_total{source="collectd"} 1`, `rrdash_ingest_bad_records_total{source="collectd"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/-/metrics lacks %s:\n%s", want, grepLines(metrics, "rrdash_ingest_"))
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "statsd: bad line") || !strings.Contains(stderr.String(), "t.bad:x|c") {
		t.Errorf("the bad line is not logged with its text:\n%s", stderr.String())
	}
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, name := range []string{"stats.counters.t.udp.count", "stats.gauges.t.tcp;env=test", "collectd.memory.memory;host=web1;type_instance=used"} {
		if _, err := db.LastUpdate(name); err != nil {
			t.Errorf("series %s: %v", name, err)
		}
	}
}

// collectdPacket is one memory value list of collectd's binary protocol.
func collectdPacket(host string, sec uint64) []byte {
	var b []byte
	str := func(typ uint16, s string) {
		b = binary.BigEndian.AppendUint16(b, typ)
		b = binary.BigEndian.AppendUint16(b, uint16(5+len(s)))
		b = append(append(b, s...), 0)
	}
	str(0, host)
	b = binary.BigEndian.AppendUint16(b, 1) // TIME
	b = binary.BigEndian.AppendUint16(b, 12)
	b = binary.BigEndian.AppendUint64(b, sec)
	str(2, "memory")
	str(4, "memory")
	str(5, "used")
	b = binary.BigEndian.AppendUint16(b, 6) // VALUES: one GAUGE
	b = binary.BigEndian.AppendUint16(b, 4+2+9)
	b = binary.BigEndian.AppendUint16(b, 1)
	b = append(b, 1)
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(1<<30))
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
