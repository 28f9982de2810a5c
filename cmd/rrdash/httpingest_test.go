package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"rrdash/store"
	"rrdash/tools/testdeps"
)

// The real clients of the HTTP ingest protocols (Makefile deps-test
// installs them): Debian's prometheus and prometheus-node-exporter,
// python3-influxdb, and tools/ingestclients' npm packages.

// needNodeModules checks tools/ingestclients' npm packages.
func needNodeModules(t *testing.T) string {
	t.Helper()
	testdeps.Program(t, "node")
	dir, _ := filepath.Abs(filepath.Join("..", "..", "tools", "ingestclients"))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@opentelemetry", "sdk-metrics")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("tools/ingestclients/node_modules is required (CI=true; make deps-test installs it): %v", err)
		}
		t.Skipf("tools/ingestclients/node_modules missing (make deps-test installs it): %v", err)
	}
	return dir
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// runClient runs a client program to completion within a bound.
func runClient(t *testing.T, timeout time.Duration, dir string, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// seriesInfo opens the store after serve stopped and returns the info of
// every series whose name starts with prefix and contains each of parts.
func seriesInfo(t *testing.T, db *store.DB, prefix string, parts ...string) map[string]*store.Info {
	t.Helper()
	names, err := db.List("")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*store.Info{}
outer:
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) {
			continue
		}
		for _, p := range parts {
			if !strings.Contains(n, p) {
				continue outer
			}
		}
		info, err := db.Info(n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = info
	}
	return out
}

// one returns the single series matching, failing otherwise.
func one(t *testing.T, db *store.DB, prefix string, parts ...string) *store.Info {
	t.Helper()
	m := seriesInfo(t, db, prefix, parts...)
	if len(m) != 1 {
		all, _ := db.List("")
		t.Fatalf("series %s…%v: %d match, want 1 (store has %d series: %.2000v)", prefix, parts, len(m), len(all), all)
	}
	for _, i := range m {
		return i
	}
	return nil
}

func checkDS(t *testing.T, info *store.Info, typ, last string) {
	t.Helper()
	if info.DS[0].Type != typ || last != "" && info.DS[0].LastDS != last {
		t.Errorf("%s: %s last %q, want %s last %q", info.Name, info.DS[0].Type, info.DS[0].LastDS, typ, last)
	}
}

// TestServeRemoteWriteFromPrometheus: Debian's Prometheus 2.42 scrapes
// rrdash's own /-/metrics and node-exporter every second and
// remote-writes into rrdash with a push token; the series are in the
// store with their labels as tags, counters as DERIVE, gauges as GAUGE,
// and their last values are what was scraped.
func TestServeRemoteWriteFromPrometheus(t *testing.T) {
	t.Parallel()
	prom := testdeps.Program(t, "prometheus")
	nodeExp := testdeps.Program(t, "prometheus-node-exporter")
	data := t.TempDir()
	// A retention rule with a 5 s step, so that a minute of scrapes is a
	// graph of a dozen rows (the default template's step is 60 s).
	rules := filepath.Join(t.TempDir(), "rrdash.toml")
	if err := os.WriteFile(rules, []byte("[[retention]]\nname = \"prom\"\nretentions = \"5s:2h,1m:2d\"\nmodel = \"rrdtool\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, data, "--config", rules)
	self := strings.TrimPrefix(p.base, "http://")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nodeAddr := freePort(t)
	ne := exec.CommandContext(ctx, nodeExp, "--web.listen-address="+nodeAddr, "--collector.disable-defaults", "--collector.cpu", "--collector.loadavg", "--collector.meminfo")
	if err := ne.Start(); err != nil {
		t.Fatal(err)
	}
	defer ne.Wait()

	dir := t.TempDir()
	conf := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: rrdash
    metrics_path: /-/metrics
    static_configs: [{targets: [%q]}]
  - job_name: node
    static_configs: [{targets: [%q]}]
remote_write:
  - url: %s/api/v1/prom/write
    authorization: {credentials: %q}
    queue_config: {batch_send_deadline: 500ms, min_backoff: 100ms, max_backoff: 1s}
    metadata_config: {send_interval: 2s}
`, self, nodeAddr, p.base, p.token)
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var promOut bytes.Buffer
	pc := exec.CommandContext(ctx, prom, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+freePort(t), "--log.level=warn")
	pc.Stdout, pc.Stderr = &promOut, &promOut
	pc.Cancel = func() error { return pc.Process.Signal(syscall.SIGTERM) }
	pc.WaitDelay = 10 * time.Second
	if err := pc.Start(); err != nil {
		t.Fatal(err)
	}
	// A minute of 1 s scrapes (the "for a minute"); metadata goes
	// every 2 s.
	c := &http.Client{Timeout: 5 * time.Second}
	time.Sleep(time.Minute)
	// Prometheus stops first (SIGTERM: it sends what it has queued), so
	// that rrdash's count of remote_write records below is final: the
	// last value Prometheus scraped of it cannot be more.
	cancel()
	pc.Wait()
	ne.Wait()
	fams := scrape(t, c, p.base)
	// Graphable while serve runs: the load average through Graphite's
	// /render (a value every 5 s for most of the minute), and drawn.
	load := renderJSON(t, c, p.base, "seriesByTag('name=node_load1')", "-2min")
	if len(load) != 1 || load[0].known < 8 {
		t.Errorf("/render node_load1: %d series, want 1 with >= 8 known values of 5 s rows: %+v", len(load), load)
	}
	if resp, err := c.Get(p.base + "/render?from=-2min&target=" + url.QueryEscape("seriesByTag('name=node_load1')")); err != nil {
		t.Error(err)
	} else {
		im, err := png.Decode(resp.Body)
		resp.Body.Close()
		if err != nil || im.Bounds().Dx() != 330 {
			t.Errorf("/render node_load1 as a PNG: %s, %v", resp.Status, err)
		}
	}
	// node-exporter's target was up (a scrape that times out under load
	// makes a 0: the last value need not be 1).
	if up := renderJSON(t, c, p.base, "seriesByTag('name=up','job=node')", "-2min"); len(up) != 1 || math.Abs(up[0].max-1) > 1e-9 {
		t.Errorf("/render up of job node: %+v, want one series reaching 1 (a 5 s average of 1 s scrapes)", up)
	}
	records := sample(fams, "rrdash_ingest_records_total", "source", "remote_write")
	bad := sample(fams, "rrdash_ingest_bad_records_total", "source", "remote_write")
	p.stop(t)
	if records <= 0 || bad != 0 {
		t.Fatalf("/-/metrics: remote_write records %v, bad %v; prometheus said:\n%s", records, bad, promOut.String())
	}

	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkDS(t, one(t, db, "up;", "instance="+self, "job=rrdash"), "GAUGE", "1")
	checkDS(t, one(t, db, "up;", "instance="+nodeAddr, "job=node"), "GAUGE", "")
	checkDS(t, one(t, db, "node_cpu_seconds_total;", "cpu=0;", "mode=idle"), "DERIVE", "")
	checkDS(t, one(t, db, "node_load1;", "job=node"), "GAUGE", "")
	// rrdash's own counter of remote_write records, as Prometheus scraped
	// it: DERIVE, an integer, and no more than what rrdash counted at the
	// end.
	rec := one(t, db, "rrdash_ingest_records_total;", "source=remote_write")
	checkDS(t, rec, "DERIVE", "")
	if n, err := strconv.ParseFloat(rec.DS[0].LastDS, 64); err != nil || n <= 0 || n > records {
		t.Errorf("%s last %q: want an integer in (0, %v]", rec.Name, rec.DS[0].LastDS, records)
	}
	buckets := seriesInfo(t, db, "rrdash_journal_fsync_seconds_bucket;", "le=")
	if len(buckets) == 0 {
		t.Error("no histogram buckets from rrdash's /-/metrics")
	}
	for _, b := range buckets {
		checkDS(t, b, "DERIVE", "")
	}
}

// TestServeOTLPFromJSSDK: the OpenTelemetry JS SDK exports a counter, an
// up-down counter, a histogram and a gauge over OTLP/HTTP, once as JSON
// with cumulative temporality and once as protobuf with delta.
func TestServeOTLPFromJSSDK(t *testing.T) {
	t.Parallel()
	dir := needNodeModules(t)
	data := t.TempDir()
	p := startServe(t, data)
	runClient(t, 60*time.Second, dir, "node", "otlp-export.mjs", p.base+"/v1/metrics", p.token, "json", "cumulative", "js-json")
	runClient(t, 60*time.Second, dir, "node", "otlp-export.mjs", p.base+"/v1/metrics", p.token, "proto", "delta", "js-proto")
	c := &http.Client{Timeout: 5 * time.Second}
	fams := scrape(t, c, p.base)
	if n, bad := sample(fams, "rrdash_ingest_records_total", "source", "otlp"), sample(fams, "rrdash_ingest_bad_records_total", "source", "otlp"); n <= 0 || bad != 0 {
		t.Errorf("/-/metrics: otlp records %v, bad %v", n, bad)
	}
	p.stop(t)
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Cumulative: the last export holds the totals.
	checkDS(t, one(t, db, "jobs.done;", "kind=batch", "service.name=js-json"), "DERIVE", "15")
	checkDS(t, one(t, db, "workers.active;", "service.name=js-json"), "GAUGE", "3")
	checkDS(t, one(t, db, "queue.depth;", "queue=main", "service.name=js-json"), "GAUGE", "7")
	checkDS(t, one(t, db, "job.duration.count;", "service.name=js-json"), "DERIVE", "3")
	checkDS(t, one(t, db, "job.duration.sum;", "service.name=js-json"), "DERIVE", "1") // 0.6, rounded
	checkDS(t, one(t, db, "job.duration.bucket;", "le=0.15;", "service.name=js-json"), "DERIVE", "1")
	checkDS(t, one(t, db, "job.duration.bucket;", "le=0.25;", "service.name=js-json"), "DERIVE", "2")
	checkDS(t, one(t, db, "job.duration.bucket;", "le=+Inf;", "service.name=js-json"), "DERIVE", "3")
	checkDS(t, one(t, db, "job.duration.max;", "service.name=js-json"), "GAUGE", "0.3")
	// Delta: counts per interval.
	checkDS(t, one(t, db, "jobs.done;", "kind=batch", "service.name=js-proto"), "ABSOLUTE", "")
	checkDS(t, one(t, db, "job.duration.count;", "service.name=js-proto"), "ABSOLUTE", "")
	checkDS(t, one(t, db, "queue.depth;", "service.name=js-proto"), "GAUGE", "7")
	if m, _ := db.Meta(one(t, db, "job.duration.sum;", "service.name=js-json").Name); m["units"] != "s" {
		t.Errorf("job.duration.sum units %q, want s", m["units"])
	}
}

// TestServeInfluxClients: InfluxDB's 1.x Python client writes to /write
// (user and password, the password a push token; gzip) and its 2.x JS
// client to /api/v2/write (Authorization: Token; gzip); both ping first.
func TestServeInfluxClients(t *testing.T) {
	t.Parallel()
	testdeps.Program(t, "python3")
	dir := needNodeModules(t)
	// Debian's module is in Debian's python3, which another python3
	// earlier on PATH (pyenv, a venv) does not see.
	py := "python3"
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		py = "/usr/bin/python3"
	}
	if out, err := exec.Command(py, "-c", "import influxdb").CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3-influxdb is required (CI=true; make deps-test installs it): %v %s", err, out)
		}
		t.Skipf("python3-influxdb not installed: %v %s", err, out)
	}
	data := t.TempDir()
	p := startServe(t, data)
	u, _ := url.Parse(p.base)
	host, port, _ := net.SplitHostPort(u.Host)
	now := time.Now().Unix() - 100
	script := fmt.Sprintf(`
from influxdb import InfluxDBClient
c = InfluxDBClient(host=%q, port=%s, username="rrdash", password=%q, database="telegraf", gzip=True, timeout=10)
assert c.ping(), "ping"
pts = [{"measurement": "cpu", "tags": {"host": "py", "cpu": "cpu0"}, "time": %d + i, "fields": {"usage_idle": 90.5 + i, "count": 3 + i}} for i in range(3)]
assert c.write_points(pts, time_precision="s")
try:
    c.write_points([{"measurement": "cpu", "tags": {"host": "py"}, "time": %d, "fields": {"usage_idle": 1.0}}], time_precision="s", retention_policy="weekly")
    raise SystemExit("a write to an unknown retention policy was accepted")
except Exception as e:
    assert "retention policy not found" in str(e), e
`, host, port, p.token, now, now+10)
	runClient(t, 30*time.Second, "", py, "-c", script)
	runClient(t, 30*time.Second, dir, "node", "influx2-write.mjs", p.base, p.token, "my-org", "my-bucket", strconv.FormatInt(now, 10))
	c := &http.Client{Timeout: 5 * time.Second}
	fams := scrape(t, c, p.base)
	if n := sample(fams, "rrdash_ingest_records_total", "source", "influx"); n != 10 {
		t.Errorf("/-/metrics: influx records %v, want 10", n)
	}
	// The write to an unknown retention policy is the one bad request.
	if n := sample(fams, "rrdash_ingest_bad_records_total", "source", "influx"); n != 1 {
		t.Errorf("/-/metrics: influx bad %v, want 1", n)
	}
	p.stop(t)
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkDS(t, one(t, db, "cpu.usage_idle;cpu=cpu0;host=py"), "GAUGE", "92.5")
	checkDS(t, one(t, db, "cpu.count;cpu=cpu0;host=py"), "GAUGE", "5")
	checkDS(t, one(t, db, "mem.used_percent;host=js"), "GAUGE", "43.5")
	checkDS(t, one(t, db, "mem.free;host=js"), "GAUGE", "1000")
	if got := one(t, db, "cpu.usage_idle;cpu=cpu0;host=py").LastUpdate; got != now+2 {
		t.Errorf("cpu.usage_idle last update %d, want %d", got, now+2)
	}
}

// renderedSeries is one series of a Graphite /render?format=json answer.
type renderedSeries struct {
	target string
	known  int     // non-null datapoints
	max    float64 // of the non-null datapoints
}

func renderJSON(t *testing.T, c *http.Client, base, target, from string) []renderedSeries {
	t.Helper()
	resp, err := c.Get(base + "/render?format=json&from=" + url.QueryEscape(from) + "&target=" + url.QueryEscape(target))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []struct {
		Target     string        `json:"target"`
		Datapoints [][2]*float64 `json:"datapoints"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/render %s: %s, %v", target, resp.Status, err)
	}
	out := make([]renderedSeries, len(got))
	for i, g := range got {
		out[i].target = g.Target
		for _, p := range g.Datapoints {
			if p[0] != nil {
				if out[i].known == 0 || *p[0] > out[i].max {
					out[i].max = *p[0]
				}
				out[i].known++
			}
		}
	}
	return out
}
