package statsd

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"rrdash/tools/testdeps"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"rrdash/ingest/push"
	"rrdash/store"
)

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// recorder is a PointWriter that keeps what it passes to a real writer.
type recorder struct {
	w  push.PointWriter
	mu sync.Mutex
	// writes are the point batches in order; bySec the points by second.
	writes [][]push.Point
	bySec  map[int64][]push.Point
	notify chan struct{}
}

func newRecorder(w push.PointWriter) *recorder {
	return &recorder{w: w, bySec: map[int64][]push.Point{}, notify: make(chan struct{}, 1)}
}

func (r *recorder) Write(ctx context.Context, pts []push.Point) (push.WriteResult, error) {
	r.mu.Lock()
	r.writes = append(r.writes, append([]push.Point(nil), pts...))
	for _, p := range pts {
		r.bySec[p.Sec] = append(r.bySec[p.Sec], p)
	}
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	return r.w.Write(ctx, pts)
}

// waitFor waits until cond (under the lock) holds.
func (r *recorder) waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.After(d)
	for {
		r.mu.Lock()
		ok := cond()
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.notify:
		case <-deadline:
			t.Fatalf("timed out after %v waiting for %s", d, what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// newStoreWriter opens a store in a temp dir and a writer creating series
// of the given step; it is closed at the end of the test.
func newStoreWriter(t testing.TB, step int64) (*store.DB, *push.Writer) {
	t.Helper()
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// Few rows: the test creates hundreds of series.
	tmpl, err := store.ParseSpecArgs(step, 0, []string{"DS:value:GAUGE:600:U:U", "RRA:LAST:0.5:1:100"})
	if err != nil {
		t.Fatal(err)
	}
	w, err := push.NewWriter(db, push.WriterConfig{Template: tmpl, MaxDelay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return db, w
}

// feeder sends the same statsd traffic to every target given, with
// Debian's python3-statsd client (and raw datagrams for DogStatsD tags,
// which that client does not write, and TCP lines). It says "ready", waits
// for a line on stdin, sends, and says "done".
const feeder = `
import random, socket, sys, time, statsd
targets = [(a.split(':')[0], int(a.split(':')[1]), int(a.split(':')[2])) for a in sys.argv[1:]]
udp = [statsd.StatsClient(h, u) for h, u, _ in targets]
tcp = [statsd.TCPStatsClient(h, t) for h, _, t in targets]
raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for c in tcp:
    for attempt in range(100):  # the daemon may still be starting
        try:
            c.connect()
            break
        except ConnectionRefusedError:
            time.sleep(0.1)
    else:
        c.connect()
print("ready", flush=True)
sys.stdin.readline()
rng = random.Random(7)
op = 0
def each(clients, f):
    global op
    op += 1
    for c in clients:
        random.seed(op)  # the client's sampling draws the same for every target
        f(c)
# The bulk over TCP: node's UDP socket buffer would overflow.
for i in range(150):
    v = rng.uniform(0, 250)
    each(tcp, lambda c: c.incr('api.hits'))
    each(tcp, lambda c: c.incr('api.bytes', 1500, rate=0.5))
    each(tcp, lambda c: c.decr('queue.len', 2))
    each(tcp, lambda c: c.timing('db.query', v))
    each(tcp, lambda c: c.timing('db.sampled', v / 3, rate=0.25))
    each(tcp, lambda c: c.gauge('temp', round(v, 2)))
    each(tcp, lambda c: c.gauge('conns', 3, delta=True))
    each(tcp, lambda c: c.gauge('conns', -1, delta=True))
    each(tcp, lambda c: c.set('users', 'u%d' % (i % 17)))
for c in tcp:
    c.close()
# UDP, paced.
for i in range(20):
    v = rng.uniform(0, 100)
    each(udp, lambda c: c.incr('udp.hits', rate=0.5))
    each(udp, lambda c: c.timing('udp.t', v))
    def piped(c):
        with c.pipeline() as p:
            p.incr('pipe.count', 3)
            p.timing('pipe.t', i)
            p.gauge('pipe.g', i * 1.5)
            p.set('pipe.s', i % 3)
    each(udp, piped)
    lines = [b'web.req:1|c|#env:prod,host:a', b'web.lat:%d|ms|#route:/api/v1,env:prod' % (i % 40),
             b'multi:1|c:2|c:0.5|c', b'odd name/with stuff:2|c', b'g.tagged:%d|g|#dc:eu' % i,
             b'nocolon', b'bad.val:abc|c', b'bad.timer:-1|ms', b'bad.rate:1|c|@-1', b'bad.notype:1']
    for h, u, _ in targets:
        raw.sendto(b'\n'.join(lines), (h, u))
    time.sleep(0.005)
for h, _, tport in targets:
    s = socket.create_connection((h, tport))
    s.sendall(b'tcp.hits:5|c\ntcp.t:12|ms\ntcp.t:30|ms\ntcp.g:-4|g\n')
    s.close()
print("done", flush=True)
sys.stdin.readline()
`

const refStep = 2

// TestMatchesEtsyStatsd feeds npm's statsd 0.9.0 (its Graphite backend
// pointed at rrdash's Graphite listener) and rrdash's statsd listener the
// same traffic from the python3-statsd client, and compares one flush of
// each, value by value.
func TestMatchesEtsyStatsd(t *testing.T) {
	root := repoRoot(t)
	statsJS := filepath.Join(root, "tools", "statsd", "node_modules", "statsd", "stats.js")
	testdeps.File(t, "npm statsd 0.9.0", statsJS)
	testdeps.File(t, "python3-statsd", "/usr/lib/python3/dist-packages/statsd/__init__.py")
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required for npm statsd:", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	// The reference's flushes land in store A through the Graphite listener.
	_, wa := newStoreWriter(t, refStep)
	recA := newRecorder(wa)
	gl, err := push.ListenGraphite("127.0.0.1:0", recA, push.GraphiteConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { gl.Serve(ctx) })

	// rrdash's statsd listener writes to store B.
	dbB, wb := newStoreWriter(t, refStep)
	recB := newRecorder(wb)
	srv, err := New(recB, refStep, Config{UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { srv.Serve(ctx) })

	refUDP, refTCP, mgmt := freePort(t, "udp"), freePort(t, "tcp"), freePort(t, "tcp")
	dir := t.TempDir()
	conf := fmt.Sprintf(`{
  address: "127.0.0.1", mgmt_address: "127.0.0.1", mgmt_port: %d,
  servers: [{server: "./servers/udp", address: "127.0.0.1", port: %d}, {server: "./servers/tcp", address: "127.0.0.1", port: %d}],
  flushInterval: %d, percentThreshold: [50, 90, 99],
  backends: ["./backends/graphite"], graphiteHost: "127.0.0.1", graphitePort: %d,
  graphite: {legacyNamespace: false}
}
`, mgmt, refUDP, refTCP, refStep*1000, gl.Addr().(*net.TCPAddr).Port)
	confPath := filepath.Join(dir, "statsd-config.js")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := exec.CommandContext(ctx, node, statsJS, confPath)
	ref.Dir = filepath.Dir(statsJS)
	var refOut strings.Builder
	ref.Stdout, ref.Stderr = &refOut, &refOut
	if err := ref.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ref.Process.Kill()
		ref.Wait()
		if t.Failed() {
			t.Logf("statsd output:\n%s", refOut.String())
		}
	}()

	script := filepath.Join(dir, "feed.py")
	if err := os.WriteFile(script, []byte(feeder), 0o644); err != nil {
		t.Fatal(err)
	}
	mine := srv.UDPAddr().(*net.UDPAddr)
	feed := exec.CommandContext(ctx, "/usr/bin/python3", script, // Debian's, with python3-statsd
		fmt.Sprintf("127.0.0.1:%d:%d", refUDP, refTCP),
		fmt.Sprintf("127.0.0.1:%d:%d", mine.Port, srv.TCPAddr().(*net.TCPAddr).Port))
	feedIn, _ := feed.StdinPipe()
	feedOut, err := feed.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var feedErr strings.Builder
	feed.Stderr = &feedErr
	if err := feed.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { feedIn.Close(); feed.Wait() }()
	feedLines := bufio.NewScanner(feedOut)
	expect := func(word string) {
		t.Helper()
		if !feedLines.Scan() || feedLines.Text() != word {
			t.Fatalf("feeder: want %q, got %q (%v); stderr: %s", word, feedLines.Text(), feedLines.Err(), feedErr.String())
		}
	}
	expect("ready")

	// The reference writes a flush in one piece, read in one batch by
	// the Graphite listener: a write with the daemon's numStats and the
	// backend's flush_length is one whole flush.
	flushes := func() [][]push.Point {
		var out [][]push.Point
		for _, w := range recA.writes {
			var num, length bool
			for _, p := range w {
				num = num || p.Series == "stats.statsd.numStats"
				length = length || p.Series == "stats.statsd.graphiteStats.flush_length"
			}
			if num && length {
				out = append(out, w)
			}
		}
		return out
	}
	// Wait for a reference flush, then send the traffic at once so that
	// it lands in the reference's next interval; rrdash flushes right
	// after each reference flush.
	var n1 int
	recA.waitFor(t, "a flush of npm statsd", 15*time.Second, func() bool { n1 = len(flushes()); return n1 > 0 })
	seen := time.Now()
	if err := srv.Flush(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(feedIn, "go")
	expect("done")
	took := time.Since(seen)
	if took > refStep*time.Second*3/4 {
		t.Skipf("the feeder took %v of a %ds interval (machine too busy): the intervals cannot be lined up", took, refStep)
	}
	var refFlush []push.Point
	recA.waitFor(t, "the next flush of npm statsd", 10*time.Second, func() bool {
		if f := flushes(); len(f) > n1 {
			refFlush = f[n1]
			return true
		}
		return false
	})
	if err := srv.Flush(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	t.Logf("feeder took %v; the next reference flush (%d points at %d) came %v after the one before", took, len(refFlush), refFlush[0].Sec, time.Since(seen))

	want := map[string]float64{}
	st := srv.Stats()
	for _, p := range refFlush {
		if p.Series == "stats.counters.statsd.metrics_received.count" && mustFloat(t, p.Text()) != float64(st.Lines) {
			t.Fatalf("npm statsd received %s lines in the interval, rrdash %d: datagrams lost or the intervals not lined up", p.Text(), st.Lines)
		}
		if isReferenceInternal(p.Series) {
			continue
		}
		want[p.Series] = mustFloat(t, p.Text())
	}
	got := map[string]float64{}
	recB.mu.Lock()
	lastWrite := recB.writes[len(recB.writes)-1]
	recB.mu.Unlock()
	for _, p := range lastWrite {
		got[p.Series] = mustFloat(t, p.Text())
	}
	if len(want) < 50 {
		t.Fatalf("the reference flushed only %d series: %v", len(want), want)
	}
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s: npm statsd flushed %v, rrdash nothing", name, w)
		case g != w && !(math.IsNaN(g) && math.IsNaN(w)):
			t.Errorf("%s: npm statsd %v, rrdash %v", name, w, g)
		}
	}
	for name, g := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: rrdash flushed %v, npm statsd nothing", name, g)
		}
	}
	if st.Bad != 5*20 {
		t.Errorf("bad values counted %d, want %d", st.Bad, 5*20)
	}
	if st.KernelDrops != 0 {
		t.Errorf("the kernel dropped %d datagrams", st.KernelDrops)
	}
	// The points are durable in the store.
	for _, name := range []string{"stats.counters.api.hits.count", "stats.timers.db.query.mean_90", "stats.sets.users.count", "stats.gauges.g.tagged;dc=eu"} {
		if _, ok := got[name]; !ok {
			t.Errorf("series %s not flushed", name)
			continue
		}
		want := lastWrite[0].Sec
		if meta, _ := dbB.Meta(name); meta[store.MetaModel] == store.ModelGraphite {
			// statsd's series follow carbon's model: the flush is stored in
			// its step slot, the rrdtool row ending at the slot's end
			sp, err := dbB.Spec(name)
			if err != nil {
				t.Fatal(err)
			}
			want = want - want%sp.Step + sp.Step
		} else {
			t.Errorf("series %s: not a Graphite series (meta %v)", name, meta)
		}
		if lu, err := dbB.LastUpdate(name); err != nil || lu != want {
			t.Errorf("series %s: last update %d (%v), want %d", name, lu, err, want)
		}
	}
	t.Logf("compared %d series of one flush; rrdash stats %+v", len(want), st)
}

// isReferenceInternal tells the daemon's own metrics (statsd.*), which
// rrdash reports in /-/metrics instead.
func isReferenceInternal(name string) bool {
	if strings.HasPrefix(name, "stats.statsd.") {
		return true
	}
	for _, k := range []string{"counters", "gauges", "timers", "sets"} {
		if strings.HasPrefix(name, "stats."+k+".statsd.") {
			return true
		}
	}
	return false
}

func mustFloat(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("value %q: %v", s, err)
	}
	return v
}

// freePort returns a loopback port nobody listens on now.
func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
