package graphite

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"rrdash/store"
	"rrdash/store/nametree"
)

// millionNames is a store's name index of a million one-source series
// servers.dcD.hostHHHHH.group.mNN (10,000 hosts × 100 metrics): what
// *store.DB keeps (store/nametree) once its series have been opened, without
// a million archive files on disk. Only find reads it.
type millionNames struct{ t *nametree.Tree }

var errNamesOnly = errors.New("a names-only store for the find benchmark")

func (m millionNames) List(string) ([]string, error)       { return nil, errNamesOnly }
func (m millionNames) Spec(string) (store.Spec, error)     { return store.Spec{}, errNamesOnly }
func (m millionNames) LastUpdate(string) (int64, error)    { return 0, errNamesOnly }
func (m millionNames) AllNodes() ([]nametree.Match, error) { return m.t.All(), nil }
func (m millionNames) Fetch(string, store.FetchRequest) (*store.FetchResult, error) {
	return nil, errNamesOnly
}
func (m millionNames) FindNodes(expr string, opt nametree.FindOptions) ([]nametree.Match, error) {
	p, err := nametree.Compile(expr)
	if err != nil {
		return nil, err
	}
	return m.t.Find(p, opt), nil
}

var (
	millionOnce sync.Once
	millionIx   millionNames
)

func millionStore() millionNames {
	millionOnce.Do(func() {
		t := &nametree.Tree{}
		groups := []string{"cpu", "mem", "disk", "net"}
		for h := 0; h < 10_000; h++ {
			for m := 0; m < 100; m++ {
				t.Insert(fmt.Sprintf("servers.dc%d.host%05d.%s.m%02d", h/1000, h, groups[m%4], m), 1)
			}
		}
		millionIx = millionNames{t}
	})
	return millionIx
}

// BenchmarkFindMillion: /metrics/find (treejson, as Grafana asks) over a
// million series names, the whole handler: parse, index walk, sort, JSON.
func BenchmarkFindMillion(b *testing.B) {
	api := New(millionStore(), Options{})
	for _, q := range []struct{ name, query string }{
		{"top", "*"},
		{"hosts-of-dc", "servers.dc3.*"},
		{"host-metrics", "servers.dc3.host03042.cpu.*"},
		{"braces-range", "servers.dc[1-2].host0{1,2}[0-9]?[0-9].{cpu,mem}.m1[0-3]"},
		{"one-metric-all-hosts", "servers.*.*.cpu.m00"},
	} {
		target := "/metrics/find?" + url.Values{"query": {q.query}}.Encode()
		b.Run(q.name, func(b *testing.B) {
			c0 := processCPU()
			for b.Loop() {
				rec := httptest.NewRecorder()
				api.Find(rec, httptest.NewRequest(http.MethodGet, target, nil))
				if rec.Code != 200 {
					b.Fatal(rec.Body.String())
				}
			}
			// CPU time (all threads, GC included): on a shared machine
			// the wall time mostly measures the load
			b.ReportMetric(float64(processCPU()-c0)/float64(b.N)/1e6, "cpu-ms/op")
		})
	}
}
