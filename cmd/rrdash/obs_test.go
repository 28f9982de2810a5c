package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"rrdash/ingest/kinesis"
	"rrdash/ingest/kinesis/kds"
	"rrdash/ingest/kinesis/kinesistest"
	"rrdash/store"
	"rrdash/ui/obs"
)

type serveProc struct {
	base, graphite string
	token          string // a push token of the local user
	cancel         func()
	done           chan error
}

// startServe starts serve on data with a Graphite listener and extra
// flags, and makes a push token in data/metadata.db.
func startServe(t *testing.T, data string, extra ...string) *serveProc {
	t.Helper()
	p := startServeMeta(t, data, append([]string{"--graphite", "127.0.0.1:0"}, extra...)...)
	if p.graphite == "" {
		p.cancel()
		t.Fatalf("serve did not start: %v", <-p.done)
	}
	p.token = pushToken(t, data)
	return p
}

// push posts line protocol with the push token, as a script does.
func (p *serveProc) push(c *http.Client, path string, body io.Reader) (*http.Response, error) {
	return pushWith(c, p.base+path, p.token, body)
}

// serveAddrs reads serve's start-up lines up to the HTTP address and
// returns it (http://HOST:PORT) and the Graphite listener's address, if
// one was reported before it; empty when r ends first.
func serveAddrs(r io.Reader) (base, graphite string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "graphite plaintext on "); ok {
			graphite = rest
		}
		if i := strings.Index(sc.Text(), "http://"); i >= 0 {
			return strings.Fields(sc.Text()[i:])[0], graphite
		}
	}
	return "", graphite
}

func (p *serveProc) stop(t *testing.T) {
	t.Helper()
	p.cancel()
	if err := <-p.done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}

func scrape(t *testing.T, c *http.Client, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := c.Get(base + "/-/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("/-/metrics: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/-/metrics does not parse as Prometheus text: %v", err)
	}
	return fams
}

// sample returns the value of the family's metric with exactly the given
// labels (counters and gauges) or its count (histograms); -1 if absent.
func sample(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
outer:
	for _, m := range f.Metric {
		if len(m.Label) != len(labels)/2 {
			continue
		}
		for i, l := range m.Label {
			if l.GetName() != labels[2*i] || l.GetValue() != labels[2*i+1] {
				continue outer
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// TestServeMetricsAndSelfMonitoring scrapes /-/metrics with Prometheus's
// own text parser before and after requests and pushes, and checks that
// the self-monitoring series of those requests are in the store after
// shutdown, named by route pattern.
func TestServeMetricsAndSelfMonitoring(t *testing.T) {
	data := t.TempDir()
	logPath := filepath.Join(t.TempDir(), "web1.log")
	if err := os.WriteFile(logPath, []byte("B 1 2026-01-01 10:00:00.1 GET /\nnot a trace record\nE 1 2026-01-01 10:00:00.5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, data, "--tracelog", logPath)
	client := &http.Client{Timeout: 20 * time.Second}
	// Families without samples yet are left out by the parser; the
	// monitor and Kinesis instruments are tested in ui/obs.
	before := scrape(t, client, p.base)
	for _, name := range []string{"rrdash_ingest_bad_records_total", "rrdash_ingest_late_points_total",
		"rrdash_monitor_active_executions", "rrdash_store_checkpoint_archives_total"} {
		if before[name] == nil {
			t.Errorf("/-/metrics lacks %s", name)
		}
	}
	get := func(path string, want int) {
		t.Helper()
		resp, err := client.Get(p.base + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("GET %s: %s, want %d", path, resp.Status, want)
		}
	}
	for range 3 {
		get("/-/healthz", 200)
	}
	get("/g/nosuchgraph", 404)
	get("/no/such/page", 404)
	get("/api/v1/nothing", 404)
	for i, body := range []string{"m,host=a v=1 1700000000\nm,host=a v=2 1700000060\n", "m,host=a v=3 1700000000\n"} {
		resp, err := p.push(client, "/api/v1/write?precision=s", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := []int{204, 400}[i]; resp.StatusCode != want { // the second is late: a partial write
			t.Fatalf("write %d: %s, want %d", i, resp.Status, want)
		}
	}
	resp, err := p.push(client, "/api/v1/write", strings.NewReader("m v=\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	conn, err := net.Dial("tcp", p.graphite)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "g.a 1 1700000000\nnot a line\n")
	conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	var after map[string]*dto.MetricFamily
	for {
		after = scrape(t, client, p.base)
		if sample(after, "rrdash_ingest_records_total", "source", "graphite") >= 2 && sample(after, "rrdash_ingest_records_total", "source", "tracelog") >= 3 ||
			time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	checks := []struct {
		name   string
		labels []string
		min    float64
	}{
		{"rrdash_http_requests_total", []string{"route", "GET:/-/healthz", "status_code", "200"}, 3},
		{"rrdash_http_requests_total", []string{"route", "GET:/g/{id}", "status_code", "404"}, 1},
		{"rrdash_http_requests_total", []string{"route", "unmatched", "status_code", "404"}, 2},
		{"rrdash_http_requests_total", []string{"route", "POST:/api/v1/write", "status_code", "400"}, 2},
		{"rrdash_http_requests_total", []string{"route", "POST:/api/v1/write", "status_code", "204"}, 1},
		{"rrdash_http_requests_total", []string{"route", "GET:/-/metrics", "status_code", "200"}, 1},
		{"rrdash_http_request_duration_seconds", []string{"route", "GET:/-/healthz", "status_code", "200"}, 3},
		{"rrdash_store_updates_total", []string{"result", "applied"}, 2},
		{"rrdash_journal_fsync_seconds", nil, 1},
		{"rrdash_ingest_records_total", []string{"source", "push"}, 3},
		{"rrdash_ingest_bad_records_total", []string{"source", "push"}, 1},
		{"rrdash_ingest_late_points_total", []string{"source", "push"}, 1},
		{"rrdash_ingest_records_total", []string{"source", "graphite"}, 2},
		{"rrdash_ingest_bad_records_total", []string{"source", "graphite"}, 1},
	}
	// The trace log may be read before the first scrape: absolute values.
	if got := sample(after, "rrdash_ingest_records_total", "source", "tracelog"); got != 3 {
		t.Errorf("tracelog records %v, want 3 lines", got)
	}
	if got := sample(after, "rrdash_ingest_bad_records_total", "source", "tracelog"); got != 1 {
		t.Errorf("tracelog bad records %v, want 1", got)
	}
	// Runtime and process gauges (obs.RegisterRuntime) are wired into serve.
	for _, name := range []string{"go_goroutines", "go_threads", "go_memstats_sys_bytes", "process_open_fds", "process_resident_memory_bytes", "process_start_time_seconds"} {
		if got := sample(after, name); got <= 0 {
			t.Errorf("%s = %v, want > 0", name, got)
		}
	}
	if f := after["rrdash_build_info"]; f == nil || len(f.Metric) != 1 || f.Metric[0].GetGauge().GetValue() != 1 {
		t.Errorf("rrdash_build_info: %v, want one series of value 1", f)
	}
	for _, c := range checks {
		was := max(sample(before, c.name, c.labels...), 0)
		if got := sample(after, c.name, c.labels...); got-was < c.min {
			t.Errorf("%s%v: moved from %v to %v, want +%v", c.name, c.labels, was, got, c.min)
		}
	}
	p.stop(t)

	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The values of a step appear once the step is complete (ui/obs tests
	// them); a short run leaves a partial step, written at shutdown.
	started := time.Now().Unix() - 120
	for _, name := range []string{
		obs.RequestSeriesName("GET:/-/healthz", 200),
		obs.RequestSeriesName("GET:/g/{id}", 404),
		obs.RequestSeriesName("GET:/-/metrics", 200),
		obs.ErrorSeriesName("GET:/g/{id}", 404, "not_found"),
		obs.ErrorSeriesName(obs.Unmatched, 404, "not_found"),
		obs.ErrorSeriesName("POST:/api/v1/write", 400, "bad_request"),
	} {
		last, err := db.LastUpdate(name)
		if err != nil || last < started {
			t.Errorf("self-monitoring series %q: last update %d (%v), want one from this run", name, last, err)
		}
	}
	names, _ := db.List("rrdash.requests;*")
	for _, n := range names {
		if strings.Contains(n, "nosuchgraph") || strings.Contains(n, "/no/such") {
			t.Errorf("series named after a raw path: %s", n)
		}
	}
}

// TestServe100kPoints sends 100,000 points as line protocol over HTTP (in
// batches) and 100,000 over Graphite TCP, then fetches every one back
// from the store after a graceful shutdown.
func TestServe100kPoints(t *testing.T) {
	const (
		series = 100
		steps  = 1000 // per series; the 1-minute archive keeps 2880
		batch  = 50   // steps per HTTP request: 5,000 points
		t0     = 1699999980
	)
	value := func(s, k int) int { return s*100000 + k }
	data := t.TempDir()
	p := startServe(t, data)
	client := &http.Client{Timeout: 60 * time.Second}
	var body strings.Builder
	for k0 := 0; k0 < steps; k0 += batch {
		body.Reset()
		for k := k0; k < k0+batch; k++ {
			for s := range series {
				fmt.Fprintf(&body, "load,host=h%03d v=%d %d\n", s, value(s, k), t0+60*k)
			}
		}
		resp, err := p.push(client, "/api/v1/write?precision=s", strings.NewReader(body.String()))
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("write of steps %d…: %s %s", k0, resp.Status, msg)
		}
	}
	conn, err := net.Dial("tcp", p.graphite)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(conn)
	for k := range steps {
		for s := range series {
			fmt.Fprintf(w, "carbon.h%03d %d %d\n", s, value(s, k), t0+60*k)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	// Graphite has no replies: wait until the listener has handed every
	// point to the writer; shutdown then flushes the writer.
	deadline := time.Now().Add(60 * time.Second)
	for sample(scrape(t, client, p.base), "rrdash_ingest_records_total", "source", "graphite") < series*steps {
		if time.Now().After(deadline) {
			t.Fatal("graphite points not all received within 60s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop(t)

	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	found := 0
	for _, prefix := range []string{"load.v;host=h%03d", "carbon.h%03d"} {
		for s := range series {
			name := fmt.Sprintf(prefix, s)
			// Graphite's plaintext makes Graphite series: the point of slot
			// t is in the row ending t+60
			shift := int64(0)
			if prefix == "carbon.h%03d" {
				shift = 60
			}
			res, err := db.Fetch(name, store.FetchRequest{CF: store.Average, Start: t0 + shift, End: t0 + 60*(steps-1) + shift, Resolution: 60})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if res.Step != 60 || res.Start != t0+shift {
				t.Fatalf("%s: fetched step %d from %d", name, res.Step, res.Start)
			}
			for i, v := range res.Values[0] {
				if k := i + 1; k < steps && v == float64(value(s, k)) {
					found++
				} else if k < steps {
					t.Fatalf("%s at %d: %v, want %d", name, t0+60*k, v, value(s, k))
				}
			}
			// The first point (row (t0-60, t0]) is read on its own.
			first, err := db.Fetch(name, store.FetchRequest{CF: store.Average, Start: t0 - 60 + shift, End: t0 + shift, Resolution: 60})
			if err != nil {
				t.Fatal(err)
			}
			if v := first.Values[0][0]; v == float64(value(s, 0)) {
				found++
			} else {
				t.Fatalf("%s at %d: %v, want %d", name, t0, v, value(s, 0))
			}
		}
	}
	if found != 2*series*steps {
		t.Fatalf("found %d of %d points", found, 2*series*steps)
	}
}

// TestServeKinesisMetrics runs serve with a [kinesis] section against a
// real kinesalite: the records land in the store and /-/metrics shows the
// kinesis ingest counters and every shard's lag.
func TestServeKinesisMetrics(t *testing.T) {
	t.Parallel()
	endpoint := kinesistest.Start(t)
	ctx := context.Background()
	client := kinesis.NewClient(kinesis.Config{Endpoint: endpoint, Region: "us-east-1"})
	kinesistest.CreateStream(ctx, t, client, "metrics", 2)
	start := time.Now().Add(-2 * time.Hour).Truncate(time.Minute).Unix()
	in := &kds.PutRecordsInput{StreamName: aws.String("metrics")}
	const points = 120
	for i := range points {
		name := fmt.Sprintf("app.latency_%d", i%2)
		in.Records = append(in.Records, kds.PutRecordsRequestEntry{PartitionKey: aws.String(name),
			Data: fmt.Appendf(nil, `{"timestamp":%d,"name":%q,"value":%d}`, start+int64(60*(i/2)), name, i)})
	}
	in.Records = append(in.Records, kds.PutRecordsRequestEntry{PartitionKey: aws.String("bad"), Data: []byte("not json")})
	if _, err := client.PutRecords(ctx, in); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "rrdash.toml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "[kinesis]\nstream = \"metrics\"\nendpoint = %q\ngrace = \"1m\"\nflags = [\"--poll\", \"100ms\", \"--flush-interval\", \"100ms\", \"--idle-flush\", \"100ms\"]\n", endpoint), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, data, "--config", cfg)
	c := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	var fams map[string]*dto.MetricFamily
	for {
		fams = scrape(t, c, p.base)
		if sample(fams, "rrdash_ingest_records_total", "source", "kinesis") >= points+1 &&
			lastUpdate(t, c, p.base, "app.latency_0") == start+60*(points/2-1) &&
			lastUpdate(t, c, p.base, "app.latency_1") == start+60*(points/2-1) {
			break
		}
		if time.Now().After(deadline) {
			p.stop(t)
			t.Fatalf("kinesis records after 60 s: %v", sample(fams, "rrdash_ingest_records_total", "source", "kinesis"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if bad := sample(fams, "rrdash_ingest_bad_records_total", "source", "kinesis"); bad != 1 {
		t.Errorf("kinesis bad records %v, want 1", bad)
	}
	if f := fams["rrdash_kinesis_lag_seconds"]; f == nil || len(f.Metric) != 2 {
		t.Errorf("kinesis lag: %v, want one gauge per shard (2)", f)
	}
	p.stop(t)
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, name := range []string{"app.latency_0", "app.latency_1"} {
		if last, err := db.LastUpdate(name); err != nil || last != start+60*(points/2-1) {
			t.Errorf("%s: last update %d, %v; want the points up to %d", name, last, err, start+60*(points/2-1))
		}
	}
}

// lastUpdate asks the series API for a series' last update (0: none yet).
func lastUpdate(t *testing.T, c *http.Client, base, name string) int64 {
	t.Helper()
	resp, err := c.Get(base + "/api/v1/series/info?name=" + url.QueryEscape(name))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info struct {
		LastUpdate int64 `json:"last_update"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&info) != nil {
		return 0
	}
	return info.LastUpdate
}
