package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rrdash/store"
	"rrdash/ui/obs/influxtest"
)

// TestServeMonitoringToInfluxDB runs serve with the rrdash and influxdb
// monitoring sinks from a [monitoring] config: every request answered
// carries an X-Request-Id, lands in a real InfluxDB with its route and
// status, and in the own store's self-monitoring series.
func TestServeMonitoringToInfluxDB(t *testing.T) {
	influx := influxtest.Start(t)
	influx.CreateDatabase("mon")
	cfg := filepath.Join(t.TempDir(), "rrdash.toml")
	conf := fmt.Sprintf(`[monitoring]
sinks = ["rrdash", "influxdb"]
service = "rrdash-e2e"
[monitoring.influxdb]
url = %q
database = "mon"
flush_interval = "100ms"
`, influx.URL)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	token := pushToken(t, data)
	p := startServe(t, data, "--config", cfg)
	c := &http.Client{Timeout: 10 * time.Second}
	type call struct {
		method, path, body, route string
		status                    int
	}
	calls := []call{
		{"GET", "/-/healthz", "", "GET:/-/healthz", 200},
		{"GET", "/definitely/not/here", "", "unmatched", 404},
		{"POST", "/api/v1/write", "cpu usage=\n", "POST:/api/v1/write", 400},
		{"POST", "/api/v1/write", "cpu usage=1 1700000000\n", "POST:/api/v1/write", 204},
	}
	ids := map[string]call{}
	want := map[string]int{}
	for i := range 40 {
		cl := calls[i%len(calls)]
		req, _ := http.NewRequest(cl.method, p.base+cl.path, strings.NewReader(cl.body))
		if cl.method == "POST" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if cl.status == 204 && resp.StatusCode == 400 {
			cl.status = 400 // the same point again is late: a partial write
		}
		if resp.StatusCode != cl.status {
			t.Fatalf("%s %s: %s, want %d", cl.method, cl.path, resp.Status, cl.status)
		}
		ids[resp.Header.Get("X-Request-Id")] = cl
		want[fmt.Sprintf("%s %d", cl.route, cl.status)]++
	}
	if len(ids) != 40 {
		t.Fatalf("%d distinct X-Request-Id values for 40 requests", len(ids))
	}
	p.stop(t) // drains the sinks

	rows := influx.MustQuery("mon", `SELECT request_id, route, status_code, service FROM requests`)
	got := map[string]int{}
	for _, r := range rows {
		cl, ok := ids[fmt.Sprint(r["request_id"])]
		if !ok {
			continue // scrapes by the test harness, if any
		}
		if r["route"] != cl.route || r["service"] != "rrdash-e2e" {
			t.Errorf("point %v, want route %s", r, cl.route)
		}
		got[fmt.Sprintf("%v %v", r["route"], r["status_code"])]++
		delete(ids, fmt.Sprint(r["request_id"]))
	}
	if len(ids) > 0 {
		t.Errorf("%d requests missing from InfluxDB", len(ids))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("InfluxDB requests by route and status:\n got %v\nwant %v", got, want)
	}
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if names, _ := db.List("rrdash.requests;*"); len(names) == 0 {
		t.Error("the rrdash sink wrote no self-monitoring series")
	}
}

func TestServeRefusesBadMonitoringConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ conf, want string }{
		{"[monitoring]\nsinks = [\"graphite\"]\n", `unknown sink "graphite"`},
		{"[monitoring]\nsinks = [\"influxdb\"]\n", "monitoring.influxdb.url: required"},
		{"[monitoring]\nsinks = [\"rrdash\"]\n[monitoring.influxdb]\nurl = \"http://127.0.0.1:1\"\n", `"influxdb" is not in monitoring.sinks`},
		{"[monitoring]\nsinks = [\"influxdb\"]\n[monitoring.influxdb]\nurl = \"http://127.0.0.1:1\"\n", "set database"},
	} {
		cfg := filepath.Join(t.TempDir(), "rrdash.toml")
		os.WriteFile(cfg, []byte(tc.conf), 0o600)
		err := runServe(t.Context(), []string{"--addr", "127.0.0.1:0", "--data", t.TempDir(), "--config", cfg}, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.conf, err, tc.want)
		}
	}
}
