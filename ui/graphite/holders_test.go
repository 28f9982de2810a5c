package graphite

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"rrdash/store"
	"rrdash/store/cluster"
)

type holderTopo struct{ v *cluster.View }

func (h holderTopo) View(context.Context) (*cluster.View, error) { return h.v, nil }

const holderSecret = "holder-test-secret-0123456789"

// holderCluster splits benchStore's n series over nodes stores by hash-key
// range, each behind a peer server with the Graphite holder computation;
// it returns the single store and the routed store of node 0 (its own
// shard read locally, the others over HTTP), and the peers' servers.
func holderCluster(tb testing.TB, n, nodes int) (*store.DB, *cluster.RoutedStore, []*httptest.Server, *atomic.Int64) {
	tb.Helper()
	all, data := benchStore(tb, n)
	space := new(big.Int).Lsh(big.NewInt(1), 128)
	var rs []cluster.ShardRange
	for i := range nodes {
		lo := new(big.Int).Div(new(big.Int).Mul(space, big.NewInt(int64(i))), big.NewInt(int64(nodes)))
		hi := new(big.Int).Sub(new(big.Int).Div(new(big.Int).Mul(space, big.NewInt(int64(i+1))), big.NewInt(int64(nodes))), big.NewInt(1))
		r, err := cluster.ParseRange(fmt.Sprintf("s%d", i), lo.String(), hi.String())
		if err != nil {
			tb.Fatal(err)
		}
		rs = append(rs, r)
	}
	router, err := cluster.NewRouter(rs)
	if err != nil {
		tb.Fatal(err)
	}
	parts := make([]*store.DB, nodes)
	for i := range parts {
		if parts[i], err = store.Open(tb.TempDir(), store.Options{}); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { parts[i].Close() })
	}
	for _, s := range data {
		var shard int
		fmt.Sscanf(router.Shard(s.path), "s%d", &shard)
		st, err := all.ExportSeries(s.path)
		if err != nil {
			tb.Fatal(err)
		}
		if err := parts[shard].RestoreSeries(s.path, st); err != nil {
			tb.Fatal(err)
		}
	}
	serveAll := func(string) bool { return true }
	calls := &atomic.Int64{} // holder computations run over HTTP
	counted := func(f cluster.HolderFunc) cluster.HolderFunc {
		return func(names []string, arg []byte) ([]byte, error) { calls.Add(1); return f(names, arg) }
	}
	group := cluster.Group{Name: "a", Owners: map[string]cluster.Node{}}
	var srvs []*httptest.Server
	for i, db := range parts {
		ps := &cluster.PeerServer{Local: db, Serving: serveAll, Secret: holderSecret, Topo: holderTopo{&cluster.View{Router: router}},
			Holders: map[string]cluster.HolderFunc{HolderPartial: counted(PartialFunc(db))}}
		srv := httptest.NewServer(ps)
		tb.Cleanup(srv.Close)
		srvs = append(srvs, srv)
		group.Owners[fmt.Sprintf("s%d", i)] = cluster.Node{ID: fmt.Sprintf("n%d", i), URL: srv.URL}
	}
	rs0 := cluster.NewRoutedStore(cluster.RoutedConfig{Local: parts[0], Self: cluster.Node{ID: "n0"},
		Topo: holderTopo{&cluster.View{Router: router, Groups: []cluster.Group{group}}}, Serving: serveAll, Secret: holderSecret, Client: &http.Client{}})
	rs0.RegisterHolder(HolderPartial, PartialFunc(parts[0]))
	return all, rs0, srvs, calls
}

func renderJSON(tb testing.TB, st Store, target string) (int, []jsonSeriesOut) {
	tb.Helper()
	q := url.Values{"target": {target}, "from": {"-1d"}, "now": {strconv.FormatInt(diffNow, 10)}, "format": {"json"}}
	rec := httptest.NewRecorder()
	New(st, Options{}).Render(rec, httptest.NewRequest(http.MethodGet, "/render?"+q.Encode(), nil))
	if rec.Code != http.StatusOK {
		tb.Logf("%s: %d %s", target, rec.Code, rec.Body.String())
		return rec.Code, nil
	}
	var out []jsonSeriesOut
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		tb.Fatalf("%s: %v", rec.Body.String(), err)
	}
	return rec.Code, out
}

type jsonSeriesOut struct {
	Target     string            `json:"target"`
	Tags       map[string]string `json:"tags"`
	Datapoints [][2]*float64     `json:"datapoints"`
}

// TestRenderAggregatesOnHolders: sumSeries, averageSeries, minSeries and
// maxSeries of a wildcard over 60 series split across three nodes (each
// holder answers its shard's partial aggregate) render as on one store:
// same targets, tags and timestamps, values equal (sums to the last bits
// of float addition order); a few leaves are read one by one; a holder
// down is a 503.
func TestRenderAggregatesOnHolders(t *testing.T) {
	t.Parallel()
	single, routed, srvs, calls := holderCluster(t, 60, 3)
	for _, target := range []string{"sumSeries(bench.*.cpu)", "averageSeries(bench.*.cpu)", "minSeries(bench.*.cpu)",
		"maxSeries(bench.*.cpu)", "sum(bench.h000{1,2,3}.cpu)", "avg(bench.h00*.cpu)"} {
		_, want := renderJSON(t, single, target)
		code, got := renderJSON(t, routed, target)
		if code != http.StatusOK || len(got) != 1 || len(want) != 1 {
			t.Fatalf("%s: %d, %d series; one store %d series", target, code, len(got), len(want))
		}
		w, g := want[0], got[0]
		if w.Target != g.Target || fmt.Sprint(w.Tags) != fmt.Sprint(g.Tags) || len(w.Datapoints) != len(g.Datapoints) {
			t.Fatalf("%s: %s %v (%d points), one store %s %v (%d points)", target, g.Target, g.Tags, len(g.Datapoints), w.Target, w.Tags, len(w.Datapoints))
		}
		for i := range w.Datapoints {
			wv, gv := w.Datapoints[i][0], g.Datapoints[i][0]
			if *w.Datapoints[i][1] != *g.Datapoints[i][1] || (wv == nil) != (gv == nil) || wv != nil && math.Abs(*wv-*gv) > 1e-9*math.Abs(*wv) {
				t.Fatalf("%s: point %d: %v, one store %v", target, i, g.Datapoints[i], w.Datapoints[i])
			}
		}
	}
	if calls.Load() != 2*5 { // five targets of ≥ holderMin leaves, each on the two remote holders
		t.Fatalf("%d holder computations over HTTP, want 10", calls.Load())
	}
	srvs[2].Close()
	if code, _ := renderJSON(t, routed, "sumSeries(bench.*.cpu)"); code != http.StatusServiceUnavailable {
		t.Fatalf("a holder down: %d, want 503", code)
	}
}

// BenchmarkRenderSumOnHolders: /render of sumSeries over 1,000 series × 1
// day on one store, over three nodes with partial sums on the holders,
// and over three nodes read series by series through the routing (the
// same routed store seen only as a Store: what /render did before).
// cpu-ms/op is the CPU of the whole process (all three nodes).
func BenchmarkRenderSumOnHolders(b *testing.B) {
	single, routed, _, _ := holderCluster(b, 1000, 3)
	for _, c := range []struct {
		name string
		st   Store
	}{{"single", single}, {"holders3", routed}, {"per-series3", struct{ Store }{routed}}} {
		b.Run(c.name, func(b *testing.B) {
			defer cpuMsPerOp(b)()
			for b.Loop() {
				if code, _ := renderJSON(b, c.st, "sumSeries(bench.*.cpu)"); code != http.StatusOK {
					b.Fatal(code)
				}
			}
		})
	}
}

// cpuMsPerOp reports the process's CPU time per operation.
func cpuMsPerOp(b *testing.B) func() {
	start := processCPU()
	return func() {
		b.ReportMetric(float64(processCPU()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	}
}
