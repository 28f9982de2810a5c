package cluster

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"rrdash/store"
)

type staticTopo struct{ v *View }

func (s staticTopo) View(context.Context) (*View, error) { return s.v, nil }

// splitRouter cuts the hash-key space into n equal shards s0…s(n-1).
func splitRouter(t testing.TB, n int) *Router {
	t.Helper()
	space := new(big.Int).Add(maxHashKey, big.NewInt(1))
	var rs []ShardRange
	for i := range n {
		start := new(big.Int).Div(new(big.Int).Mul(space, big.NewInt(int64(i))), big.NewInt(int64(n)))
		end := new(big.Int).Sub(new(big.Int).Div(new(big.Int).Mul(space, big.NewInt(int64(i+1))), big.NewInt(int64(n))), big.NewInt(1))
		rs = append(rs, ShardRange{ID: fmt.Sprintf("s%d", i), Start: start, End: end})
	}
	r, err := NewRouter(rs)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sumFixture holds the same series once in one store and once split over
// nodes stores by shard, each node behind a real HTTP peer server.
type sumFixture struct {
	single  *RoutedStore
	cluster *RoutedStore
	req     store.FetchRequest
	series  int
}

const benchSecret = "bench-secret-0123456789"

func newSumFixture(t testing.TB, series, nodes, points int) *sumFixture {
	t.Helper()
	ctx := context.Background()
	router := splitRouter(t, nodes)
	open := func() *store.DB {
		db, err := store.Open(t.TempDir(), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	all := open()
	parts := make([]*store.DB, nodes)
	for i := range parts {
		parts[i] = open()
	}
	const t0 = 1_790_000_000
	spec := store.DefaultTemplate()
	spec.Start = t0 - 60
	for i := range series {
		name := fmt.Sprintf("http.requests;host=h%d", i)
		var shard int
		fmt.Sscanf(router.Shard(name), "s%d", &shard)
		for _, db := range []*store.DB{all, parts[shard]} {
			if err := db.Create(name, spec, false); err != nil {
				t.Fatal(err)
			}
			var b store.Batch
			for p := range points {
				b.Updates = append(b.Updates, store.Update{Series: name, Time: t0 + int64(p)*60, Values: []string{fmt.Sprint(i + p)}})
			}
			if _, err := db.Apply(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
	}
	serveAll := func(string) bool { return true }
	group := Group{Name: "a", Owners: map[string]Node{}}
	for i, db := range parts {
		ps := &PeerServer{Local: db, Serving: serveAll, Secret: benchSecret}
		srv := httptest.NewServer(ps)
		t.Cleanup(srv.Close)
		ps.Topo = staticTopo{&View{Router: router, Groups: []Group{{Name: "a"}}}}
		group.Owners[fmt.Sprintf("s%d", i)] = Node{ID: fmt.Sprintf("n%d", i), URL: srv.URL}
	}
	view := &View{Router: router, Groups: []Group{group}}
	// The asking node is n0: its own shard is read locally, the others
	// over HTTP.
	cl := NewRoutedStore(RoutedConfig{Local: parts[0], Self: Node{ID: "n0"}, Topo: staticTopo{view}, Serving: serveAll, Secret: benchSecret,
		Client: &http.Client{}})
	one := &View{Router: splitRouter(t, 1), Groups: []Group{{Name: "a", Owners: map[string]Node{"s0": {ID: "solo"}}}}}
	single := NewRoutedStore(RoutedConfig{Local: all, Self: Node{ID: "solo"}, Topo: staticTopo{one}, Serving: serveAll, Secret: benchSecret})
	return &sumFixture{single: single, cluster: cl, series: series,
		req: store.FetchRequest{CF: store.Average, Start: t0, End: t0 + int64(points-1)*60}}
}

// TestSumTaggedFanOutMatchesSingleNode: the fan-out sum over three nodes
// (one local, two over HTTP) equals the single store's, row for row, and
// counts every series once; a list fans out and merges too.
func TestSumTaggedFanOutMatchesSingleNode(t *testing.T) {
	t.Parallel()
	f := newSumFixture(t, 60, 3, 30)
	want, n1, err := f.single.SumTagged([]string{"name=http.requests"}, "value", f.req)
	if err != nil {
		t.Fatal(err)
	}
	got, n3, err := f.cluster.SumTagged([]string{"name=http.requests"}, "value", f.req)
	if err != nil {
		t.Fatal(err)
	}
	if n1 != f.series || n3 != f.series {
		t.Fatalf("summed %d series on one node and %d over three, want %d", n1, n3, f.series)
	}
	// The single store adds in name order, the cluster per shard and then
	// the shards' sums: the last bits may differ, nothing more.
	if want.Start != got.Start || want.Step != got.Step || len(want.Values[0]) != len(got.Values[0]) {
		t.Fatalf("sums differ in shape: %+v and %+v", want, got)
	}
	for i, w := range want.Values[0] {
		g := got.Values[0][i]
		if math.IsNaN(w) != math.IsNaN(g) || !math.IsNaN(w) && math.Abs(w-g) > 1e-9*math.Abs(w) {
			t.Fatalf("row %d: %v on one node, %v over three", i, w, g)
		}
	}
	again, _, err := f.cluster.SumTagged([]string{"name=http.requests"}, "value", f.req)
	if err != nil || fmt.Sprint(again.Values) != fmt.Sprint(got.Values) {
		t.Fatalf("a second fan-out sum differs: %v, %v", again, err)
	}
	query, err := store.ParseTagQuery([]string{"name=http.requests", "host!=h1", "host=~h.*"})
	if err != nil {
		t.Fatal(err)
	}
	viaRPN, err := f.cluster.SumTags(query, "value", f.req)
	if err != nil {
		t.Fatal(err)
	}
	direct, n, err := f.cluster.SumTagged([]string{"name=http.requests", "host!=h1", "host=~h.*"}, "value", f.req)
	if err != nil || n != f.series-1 || fmt.Sprint(viaRPN.Values) != fmt.Sprint(direct.Values) {
		t.Fatalf("SumTags and SumTagged differ (%d series, %v)", n, err)
	}
	names, err := f.cluster.List("")
	if err != nil || len(names) != f.series {
		t.Fatalf("list: %d names, %v", len(names), err)
	}
	if _, _, err := f.cluster.SumTagged([]string{"name=~("}, "value", f.req); err == nil {
		t.Fatal("a bad tag expression was summed")
	}
}

// BenchmarkSumTagged: a 1,000-series seriesByTag sum, on one node and fanned
// out over three (each sums its own series; the asking node adds the
// partial sums), and as 1,000 routed per-series fetches.
func BenchmarkSumTagged(b *testing.B) {
	f := newSumFixture(b, 1000, 3, 120)
	q := []string{"name=http.requests"}
	b.Run("single", func(b *testing.B) {
		defer cpuPerOp(b)()
		for b.Loop() {
			if _, _, err := f.single.SumTagged(q, "value", f.req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fanout3", func(b *testing.B) {
		defer cpuPerOp(b)()
		for b.Loop() {
			if _, _, err := f.cluster.SumTagged(q, "value", f.req); err != nil {
				b.Fatal(err)
			}
		}
	})
	names, err := f.cluster.List("")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("routed-per-series", func(b *testing.B) {
		defer cpuPerOp(b)()
		for b.Loop() {
			for _, name := range names {
				if _, err := f.cluster.Fetch(name, f.req); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// cpuPerOp reports the process's CPU time per operation (all three nodes
// run in this process), the steadier figure on a shared machine.
func cpuPerOp(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() {
		b.ReportMetric(float64(cpu()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	}
}
