package statsd

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"rrdash/tools/testdeps"
)

// TestBenchAgainstEtsyStatsd is the side-by-side benchmark of issue 24
// (`make bench`; RRDASH_STATSD_BENCH=1): the same statsd lines over TCP
// to npm's statsd 0.9.0 and to rrdash's listener, in interleaved rounds,
// metrics per second each and their ratio.
//
// TCP, not UDP: npm statsd's UDP socket (node's default receive buffer)
// drops datagrams long before its parser is busy, so over UDP its figure
// would be the drop point. npm statsd's clock stops when its own
// statsd.metrics_received counter (read on its management port) has every
// line — it keeps the aggregates in memory until a flush; rrdash's when
// its listener has read every line and a flush of the aggregates into a
// store is durable (journal fsync).
func TestBenchAgainstEtsyStatsd(t *testing.T) {
	if os.Getenv("RRDASH_STATSD_BENCH") == "" {
		t.Skip("a benchmark: RRDASH_STATSD_BENCH=1 (make bench)")
	}
	statsJS := filepath.Join(repoRoot(t), "tools", "statsd", "node_modules", "statsd", "stats.js")
	testdeps.File(t, "npm statsd 0.9.0", statsJS)
	node := testdeps.Program(t, "node")
	const packets, rounds = 10000, 3
	var body bytes.Buffer
	for _, p := range statsdPackets(packets) {
		body.Write(p)
	}
	lines := int64(packets * 40)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	tcpPort, mgmtPort := freePort(t, "tcp"), freePort(t, "tcp")
	conf := fmt.Sprintf(`{ address: "127.0.0.1", mgmt_address: "127.0.0.1", mgmt_port: %d,
  servers: [{server: "./servers/tcp", address: "127.0.0.1", port: %d}],
  flushInterval: 3600000, percentThreshold: [50, 90, 99], backends: [] }
`, mgmtPort, tcpPort)
	confPath := filepath.Join(t.TempDir(), "statsd-config.js")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := exec.CommandContext(ctx, node, statsJS, confPath)
	ref.Dir = filepath.Dir(statsJS)
	if err := ref.Start(); err != nil {
		t.Fatal(err)
	}
	defer ref.Wait()
	defer cancel()
	refAddr := fmt.Sprintf("127.0.0.1:%d", tcpPort)
	received := func() (int64, error) { return etsyMetricsReceived(fmt.Sprintf("127.0.0.1:%d", mgmtPort)) }
	for deadline := time.Now().Add(30 * time.Second); ; {
		if _, err := received(); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("npm statsd's management port: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	_, w := newStoreWriter(t, 10)
	srv, err := New(w, 10, Config{TCPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ctx)
	mine := srv.TCPAddr().String()

	// One untimed round each creates rrdash's series and warms both up.
	send := func(addr string) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write(body.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	timeEtsy := func() time.Duration {
		before, err := received()
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		send(refAddr)
		for n := before; n < before+lines; {
			time.Sleep(2 * time.Millisecond)
			if n, err = received(); err != nil {
				t.Fatal(err)
			}
		}
		return time.Since(start)
	}
	timeMine := func() time.Duration {
		before := srv.Stats().Lines
		start := time.Now()
		send(mine)
		for srv.Stats().Lines < before+lines {
			time.Sleep(200 * time.Microsecond)
		}
		if err := srv.Flush(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	timeEtsy()
	timeMine()
	var etsy, ours []time.Duration
	for range rounds {
		etsy = append(etsy, timeEtsy())
		ours = append(ours, timeMine())
	}
	slices.Sort(etsy)
	slices.Sort(ours)
	me, mo := etsy[rounds/2], ours[rounds/2]
	rate := func(d time.Duration) float64 { return float64(lines) / d.Seconds() }
	t.Logf("%d lines over TCP, median of %d rounds: npm statsd %.0f metrics/s (%v), rrdash %.0f metrics/s (%v, durable): rrdash %.2f× npm statsd",
		lines, rounds, rate(me), me, rate(mo), mo, me.Seconds()/mo.Seconds())
	if st := srv.Stats(); st.Bad != 0 || st.WriteErrors != 0 {
		t.Errorf("rrdash's listener: %+v", st)
	}
}

var metricsReceivedRE = regexp.MustCompile(`'statsd\.metrics_received': (\d+)`)

// etsyMetricsReceived reads npm statsd's statsd.metrics_received counter
// through its management console's "counters" command.
func etsyMetricsReceived(addr string) (int64, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("counters\n")); err != nil {
		return 0, err
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(c)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() && sc.Text() != "END" {
		out.WriteString(sc.Text())
	}
	m := metricsReceivedRE.FindSubmatch(out.Bytes())
	if m == nil {
		return 0, fmt.Errorf("npm statsd counters: no statsd.metrics_received in %.200q (%v)", out.String(), sc.Err())
	}
	return strconv.ParseInt(string(m[1]), 10, 64)
}
