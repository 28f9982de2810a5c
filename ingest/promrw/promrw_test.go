package promrw

import (
	"io"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/golang/snappy"

	"rrdash/store"
)

func TestRemoteWrite(t *testing.T) {
	t.Parallel()
	ms := func(sec int64) int64 { return sec * 1000 }
	tests := []struct {
		name   string
		series []tsIn
		md     []mdIn
		status int
		msg    string // in the 400 body
		check  map[string]struct {
			typ store.DSType
			at  int64
			v   float64
		}
	}{
		{name: "gauge and counter", status: 204,
			series: []tsIn{
				{labels: [][2]string{{"__name__", "node_load1"}, {"job", "node"}, {"instance", "a:9100"}}, samples: []Sample{{0.5, ms(base + 1)}, {0.75, ms(base+2) + 250}}},
				{labels: [][2]string{{"__name__", "http_requests_total"}, {"code", "200"}, {"empty", ""}}, samples: []Sample{{10, ms(base + 1)}, {20, ms(base + 2)}}},
				{labels: [][2]string{{"__name__", "rpc_seconds_bucket"}, {"le", "0.5"}}, samples: []Sample{{1, ms(base + 1)}, {4, ms(base + 2)}}},
				{labels: [][2]string{{"__name__", "up"}}, samples: []Sample{{1, ms(base + 1)}, {math.Float64frombits(staleNaN), ms(base + 2)}}},
			},
			check: map[string]struct {
				typ store.DSType
				at  int64
				v   float64
			}{
				"node_load1;instance=a:9100;job=node": {store.Gauge, base + 2, 0.75},
				"http_requests_total;code=200":        {store.Derive, base + 2, 10}, // (20-10)/1 s
				"rpc_seconds_bucket;le=0.5":           {store.Derive, base + 2, 3},
				"up":                                  {store.Gauge, base + 1, 1},
			}},
		{name: "metadata makes a counter", status: 204,
			md:     []mdIn{{TypeCounter, "cpu_seconds"}, {TypeHistogram, "lat"}, {TypeGauge, "temp_total"}},
			series: []tsIn{{labels: [][2]string{{"__name__", "cpu_seconds"}}, samples: []Sample{{1.4, ms(base + 1)}, {3.6, ms(base + 2)}}}, {labels: [][2]string{{"__name__", "lat_sum"}}, samples: []Sample{{2, ms(base + 1)}}}, {labels: [][2]string{{"__name__", "temp_total"}}, samples: []Sample{{21.5, ms(base + 1)}}}},
			check: map[string]struct {
				typ store.DSType
				at  int64
				v   float64
			}{
				"cpu_seconds": {store.Derive, base + 2, 3}, // rounded: 4 - 1
				"lat_sum":     {store.Derive, base + 1, math.NaN()},
				"temp_total":  {store.Gauge, base + 1, 21.5},
			}},
		{name: "bad label keeps the good", status: 400, msg: "timeseries 0 ({__name__=\"bad\",path=\"a;b\"})",
			series: []tsIn{
				{labels: [][2]string{{"__name__", "bad"}, {"path", "a;b"}}, samples: []Sample{{1, ms(base + 1)}}},
				{labels: [][2]string{{"__name__", "good"}}, samples: []Sample{{7, ms(base + 1)}}},
			},
			check: map[string]struct {
				typ store.DSType
				at  int64
				v   float64
			}{"good": {store.Gauge, base + 1, 7}}},
		{name: "future sample", status: 400, msg: "timeseries 0 (fut): sample 1: timestamp",
			series: []tsIn{{labels: [][2]string{{"__name__", "fut"}}, samples: []Sample{{1, ms(base + 1)}, {2, ms(base + 3600)}}}},
			check: map[string]struct {
				typ store.DSType
				at  int64
				v   float64
			}{"fut": {store.Gauge, base + 1, 1}}},
		{name: "native histogram", status: 400, msg: "native histogram",
			series: []tsIn{{labels: [][2]string{{"__name__", "nh"}}, hists: 2}, {labels: [][2]string{{"__name__", "ok"}}, samples: []Sample{{5, ms(base + 1)}}}},
			check: map[string]struct {
				typ store.DSType
				at  int64
				v   float64
			}{"ok": {store.Gauge, base + 1, 5}}},
		{name: "no name", status: 400, msg: "empty metric name",
			series: []tsIn{{labels: [][2]string{{"job", "x"}}, samples: []Sample{{5, ms(base + 1)}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, db, srv := newTestHandler(t)
			resp := postRW(t, srv.URL, encodeRequest(tt.series, tt.md))
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.msg) {
				t.Fatalf("%d %q, want %d with %q", resp.StatusCode, body, tt.status, tt.msg)
			}
			for name, want := range tt.check {
				spec, err := db.Spec(name)
				if err != nil {
					t.Fatalf("series %s: %v", name, err)
				}
				if spec.DS[0].Type != want.typ {
					t.Errorf("%s: type %v, want %v", name, spec.DS[0].Type, want.typ)
				}
				got := last(t, db, name, want.at)
				if got != want.v && !(math.IsNaN(got) && math.IsNaN(want.v)) {
					t.Errorf("%s at %d = %v, want %v", name, want.at, got, want.v)
				}
			}
			if st := h.Stats(); tt.status == 400 && (st.Bad == 0 || st.BadRequests != 0) {
				t.Errorf("stats %+v: want the bad samples counted, the request not refused whole", st)
			}
		})
	}
}

func TestRemoteWriteRefusals(t *testing.T) {
	t.Parallel()
	_, _, srv := newTestHandler(t)
	good := snappy.Encode(nil, encodeRequest([]tsIn{{labels: [][2]string{{"__name__", "x"}}, samples: []Sample{{1, base * 1000}}}}, nil))
	tests := []struct {
		name, method, enc, ctype string
		body                     []byte
		status                   int
		msg                      string
	}{
		{"get", http.MethodGet, "snappy", "application/x-protobuf", nil, 405, "use POST"},
		{"gzip", http.MethodPost, "gzip", "application/x-protobuf", good, 415, "want snappy"},
		{"v2", http.MethodPost, "snappy", "application/x-protobuf;proto=io.prometheus.write.v2.Request", good, 415, "remote_write 1.0"},
		{"json", http.MethodPost, "snappy", "application/json", good, 415, "remote_write 1.0"},
		{"not snappy", http.MethodPost, "snappy", "application/x-protobuf", []byte("\xff\xff\xff\xff\xffhello"), 400, "snappy"},
		{"bad protobuf", http.MethodPost, "snappy", "application/x-protobuf", snappy.Encode(nil, []byte{0x0a, 0x05, 0x0a}), 400, "timeseries 0 at byte 0"},
		{"too large", http.MethodPost, "snappy", "application/x-protobuf", snappy.Encode(nil, make([]byte, 2<<20)), 413, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(tt.method, srv.URL, bytesReader(tt.body))
			req.Header.Set("Content-Encoding", tt.enc)
			req.Header.Set("Content-Type", tt.ctype)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.msg) {
				t.Errorf("%d %q, want %d with %q", resp.StatusCode, body, tt.status, tt.msg)
			}
		})
	}
}
