package promrw

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang/snappy"

	"rrdash/ingest/horizon"
	"rrdash/ingest/push"
	"rrdash/store"
)

// BenchmarkRemoteWrite measures durable remote_write ingest in process:
// requests of 100 series × 20 samples (2000 samples, as Prometheus sends),
// snappy-compressed, sent by 32 concurrent senders per core as
// Prometheus' shards do (it runs up to 200), each answered once its samples are fsynced in the
// store's journal. Series use the default template.
func BenchmarkRemoteWrite(b *testing.B) {
	db, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	w, err := push.NewWriter(db, push.WriterConfig{}) // serve's: points wait up to 250 ms for stragglers
	if err != nil {
		b.Fatal(err)
	}
	go w.Run(b.Context())
	h, err := New(w, Config{Horizon: horizon.Horizon{}})
	if err != nil {
		b.Fatal(err)
	}
	const seriesPer, samplesPer, perProc = 100, 20, 32
	nSenders := perProc * runtime.GOMAXPROCS(0)
	send := func(id int, t int64) error {
		series := make([]tsIn, seriesPer)
		for i := range series {
			series[i].labels = [][2]string{{"__name__", "bench_requests_total"}, {"instance", fmt.Sprintf("host%d:9100", id)}, {"path", fmt.Sprintf("/p%d", i)}}
			for k := range int64(samplesPer) {
				series[i].samples = append(series[i].samples, Sample{Value: float64(t + k), Timestamp: (t + k) * 1000})
			}
		}
		req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/api/v1/prom/write", bytesReader(snappy.Encode(nil, encodeRequest(series, nil))))
		req.Header.Set("Content-Encoding", "snappy")
		req.Header.Set("Content-Type", "application/x-protobuf")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent {
			return fmt.Errorf("status %d: %s", rec.Code, rec.Body)
		}
		return nil
	}
	start := time.Now().Add(-30 * 24 * time.Hour).Unix()
	// The series exist before the clock starts: creating their files is
	// not what this measures.
	for id := range nSenders {
		if err := send(id, start); err != nil {
			b.Fatal(err)
		}
	}
	var ids atomic.Int64
	b.SetParallelism(perProc)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		id := int(ids.Add(1) - 1)
		t := start + samplesPer
		for pb.Next() {
			if err := send(id, t); err != nil {
				b.Error(err)
				return
			}
			t += samplesPer
		}
	})
	b.ReportMetric(float64(b.N*seriesPer*samplesPer)/b.Elapsed().Seconds(), "samples/s")
}
