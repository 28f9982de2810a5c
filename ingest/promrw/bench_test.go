package promrw

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"rrdash/ingest/push/pushtest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang/snappy"

	"rrdash/ingest/horizon"
	"rrdash/ingest/push"
)

// BenchmarkRemoteWrite measures durable remote_write ingest in process:
// requests of 100 series × 20 samples (2000 samples, as Prometheus sends),
// snappy-compressed, sent by 8 concurrent senders per core as
// Prometheus' shards do, each answered once its samples are fsynced in the
// store's journal. Series use the default template.
func BenchmarkRemoteWrite(b *testing.B) {
	db := pushtest.Store(b)
	w := pushtest.Writer(b, db, push.WriterConfig{}) // serve's configuration: adaptive group commit
	go w.Run(b.Context())
	h, err := New(w, Config{Horizon: horizon.Horizon{}})
	if err != nil {
		b.Fatal(err)
	}
	const seriesPer, samplesPer, perProc = 100, 20, 8
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
	// b.N's calibration runs the loop again: the same senders go on
	// from where they were, so the series stay the same and in order.
	var ids atomic.Int64
	next := make([]int64, nSenders)
	for i := range next {
		next[i] = start + samplesPer
	}
	// The series exist and the store is warm before the clock starts;
	// b.N's calibration reruns only the sub-benchmark.
	b.Run("durable", func(b *testing.B) {
		b.SetParallelism(perProc)
		cpu0 := pushtest.CPUTime()
		b.RunParallel(func(pb *testing.PB) {
			id := int(ids.Add(1)-1) % nSenders
			for pb.Next() {
				if err := send(id, next[id]); err != nil {
					b.Error(err)
					return
				}
				next[id] += samplesPer
			}
		})
		b.ReportMetric(float64(b.N*seriesPer*samplesPer)/b.Elapsed().Seconds(), "samples/s")
		b.ReportMetric(float64(b.N*seriesPer*samplesPer)/(pushtest.CPUTime()-cpu0).Seconds(), "samples/CPU-s")
	})
}
