package push

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"rrdash/store"
)

func newInfluxServer(t *testing.T) (*httptest.Server, func(string, int64, int64) map[int64]float64) {
	t.Helper()
	db := openStore(t)
	w, err := NewWriter(db, WriterConfig{Template: exactTemplate(t), Grace: 5 * time.Second, MaxDelay: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHandlers(w, HandlerConfig{MaxBodyBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /write", h.ServeInfluxV1Write)
	mux.HandleFunc("POST /api/v2/write", h.ServeInfluxV2Write)
	mux.HandleFunc("GET /ping", ServeInfluxPing)
	mux.HandleFunc("GET /health", ServeInfluxHealth)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, func(s string, from, to int64) map[int64]float64 { return stored(t, db, s, from, to) }
}

func TestInfluxWrite(t *testing.T) {
	t.Parallel()
	srv, fetch := newInfluxServer(t)
	tests := []struct {
		name, path, body string
		gzip             bool
		status           int
		want             string // in the error body; "" for 204
		errJSON          string // the error body's key: error (1.x) or code (2.x)
		series           string
		at               int64
		value            float64
	}{
		{name: "v1 seconds", path: "/write?db=telegraf&precision=s", body: "cpu,host=a idle=1.5 1795356001\n",
			status: 204, series: "cpu.idle;host=a", at: base + 1, value: 1.5},
		{name: "v1 autogen gzip", path: "/write?db=x&rp=autogen&precision=ms", body: "cpu,host=a idle=2 1795356002000\n", gzip: true,
			status: 204, series: "cpu.idle;host=a", at: base + 2, value: 2},
		{name: "v2 seconds", path: "/api/v2/write?org=o&bucket=b&precision=s", body: "mem,host=b used=7i 1795356003\n",
			status: 204, series: "mem.used;host=b", at: base + 3, value: 7},
		{name: "v1 no db", path: "/write", body: "cpu idle=1\n", status: 400, want: "database is required", errJSON: "error"},
		{name: "v1 unknown rp", path: "/write?db=x&rp=month", body: "cpu idle=1\n", status: 400, want: "retention policy not found: month", errJSON: "error"},
		{name: "v2 no bucket", path: "/api/v2/write?org=o", body: "cpu idle=1\n", status: 400, want: "bucket is required", errJSON: "code"},
		{name: "v2 no org", path: "/api/v2/write?bucket=b", body: "cpu idle=1\n", status: 400, want: "org or orgID is required", errJSON: "code"},
		{name: "v1 bad line keeps the good", path: "/write?db=x&precision=s", body: "disk free=4 1795356004\ndisk free= 1795356005\n",
			status: 400, want: "line 2", errJSON: "error", series: "disk.free", at: base + 4, value: 4},
		{name: "v2 bad line keeps the good", path: "/api/v2/write?org=o&bucket=b&precision=s", body: "net rx=1 1795356006\nnet rx=x 1795356007\n",
			status: 400, want: "line 2", errJSON: "code", series: "net.rx", at: base + 6, value: 1},
		{name: "v1 bad precision", path: "/write?db=x&precision=d", body: "cpu idle=1\n", status: 400, want: "precision", errJSON: "error"},
		{name: "v2 too large", path: "/api/v2/write?org=o&bucket=b", body: strings.Repeat("x", 5000), status: 413, want: "larger than", errJSON: "code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(tt.body)
			if tt.gzip {
				b = gz(t, b)
			}
			req, _ := http.NewRequest(http.MethodPost, srv.URL+tt.path, strings.NewReader(string(b)))
			if tt.gzip {
				req.Header.Set("Content-Encoding", "gzip")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, raw, tt.status)
			}
			if resp.Header.Get("X-Influxdb-Version") == "" {
				t.Error("no X-Influxdb-Version header")
			}
			if tt.want != "" {
				var m map[string]any
				if err := json.Unmarshal(raw, &m); err != nil {
					t.Fatalf("error body %q: %v", raw, err)
				}
				msg := m["error"]
				if tt.errJSON == "code" {
					msg = m["message"]
					if m["code"] == nil {
						t.Errorf("2.x error %s has no code", raw)
					}
				}
				if s, _ := msg.(string); !strings.Contains(s, tt.want) {
					t.Errorf("error %s: want %q in its %s", raw, tt.want, tt.errJSON)
				}
				if !strings.Contains(resp.Header.Get("X-Influxdb-Error"), tt.want) {
					t.Errorf("X-Influxdb-Error %q: want %q", resp.Header.Get("X-Influxdb-Error"), tt.want)
				}
			}
			if tt.series != "" {
				if got := fetch(tt.series, tt.at-1, tt.at); got[tt.at] != tt.value {
					t.Errorf("%s at %d = %v, want %v", tt.series, tt.at, got, tt.value)
				}
			}
		})
	}
}

func TestInfluxPingHealth(t *testing.T) {
	t.Parallel()
	srv, _ := newInfluxServer(t)
	resp, err := http.Get(srv.URL + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("X-Influxdb-Version") != InfluxVersion {
		t.Errorf("/ping: %d %v", resp.StatusCode, resp.Header)
	}
	resp, err = http.Get(srv.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	err = json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || m["status"] != "pass" {
		t.Errorf("/health: %d %v %v", resp.StatusCode, m, err)
	}
}

// TestInfluxAuth: each of InfluxDB's ways to pass credentials reaches the
// push guard as a bearer token, and p does not stay in the URL.
func TestInfluxAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, query, header string
		want                string // Authorization seen; "" none
	}{
		{"token", "db=x", "Token rrd_abc", "Bearer rrd_abc"},
		{"basic", "db=x", "Basic dXNlcjpycmRfYWJj", "Bearer rrd_abc"}, // user:rrd_abc
		{"query", "db=x&u=user&p=rrd_abc", "", "Bearer rrd_abc"},
		{"bearer", "db=x", "Bearer rrd_abc", "Bearer rrd_abc"},
		{"none", "db=x", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got, query string
			h := InfluxAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, query = r.Header.Get("Authorization"), r.URL.RawQuery
			}))
			r := httptest.NewRequest(http.MethodPost, "/write?"+tt.query, nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got != tt.want {
				t.Errorf("Authorization %q, want %q", got, tt.want)
			}
			if strings.Contains(query, "p=") {
				t.Errorf("query %q still has the password", query)
			}
		})
	}
}

// TestWriterPointType: a point's Type picks the data source type of the
// series it creates; counters get minimum 0; the template is unchanged.
func TestWriterPointType(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	tmpl := exactTemplate(t)
	w, err := NewWriter(db, WriterConfig{Template: tmpl, MaxDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	pts := []Point{pt("g", 1, 0, "1"), {Series: "d", Sec: base + 1, Value: "5", Type: store.Derive}, {Series: "a", Sec: base + 1, Value: "5", Type: store.Absolute}}
	if _, err := w.Write(context.Background(), pts); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]store.DSType{"g": store.Gauge, "d": store.Derive, "a": store.Absolute} {
		spec, err := db.Spec(name)
		if err != nil {
			t.Fatal(err)
		}
		if spec.DS[0].Type != want {
			t.Errorf("%s: type %v, want %v", name, spec.DS[0].Type, want)
		}
		if wantMin := want == store.Derive; wantMin != (spec.DS[0].Min == 0) {
			t.Errorf("%s: min %v", name, spec.DS[0].Min)
		}
	}
	if tmpl.DS[0].Type != store.Gauge || w.tmpl.DS[0].Type != store.Gauge {
		t.Error("the template changed")
	}
}
