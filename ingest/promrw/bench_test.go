package promrw

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"rrdash/ingest/push/pushtest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/encoding/protowire"

	"rrdash/ingest/horizon"
	"rrdash/ingest/push"
)

// BenchmarkRemoteWrite measures durable remote_write ingest in process:
// requests of 100 series × 20 samples (2000 samples, as Prometheus sends),
// snappy-compressed, sent by 8 concurrent senders per core as
// Prometheus' shards do, each answered once its samples are fsynced in the
// store's journal. Series use the default template. In "durable" a
// series' samples are a second apart (most update the step in progress);
// in "durable-minute" a minute apart, as Prometheus scrapes, so every
// sample completes a step of the template and writes archive rows.
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
	// Each sender encodes into buffers it reuses, as Prometheus' shards
	// do, so the timed loop carries what a sender costs, not a
	// throwaway encoder's allocations.
	type sender struct {
		labels      [][]byte
		plain, body []byte
	}
	senders := make([]sender, nSenders)
	for id := range senders {
		for i := range seriesPer {
			var ls []byte
			for _, l := range [][2]string{{"__name__", "bench_requests_total"}, {"instance", fmt.Sprintf("host%d:9100", id)}, {"path", fmt.Sprintf("/p%d", i)}} {
				var lb []byte
				lb = protowire.AppendString(protowire.AppendTag(lb, 1, protowire.BytesType), l[0])
				lb = protowire.AppendString(protowire.AppendTag(lb, 2, protowire.BytesType), l[1])
				ls = protowire.AppendBytes(protowire.AppendTag(ls, 1, protowire.BytesType), lb)
			}
			senders[id].labels = append(senders[id].labels, ls)
		}
	}
	// send sends samplesPer samples of each series from t, every seconds apart.
	send := func(id int, t, every int64) error {
		sd := &senders[id]
		b := sd.plain[:0]
		for _, ls := range sd.labels {
			size := len(ls)
			for k := range int64(samplesPer) {
				sm := 1 + 8 + 1 + protowire.SizeVarint(uint64((t+k*every)*1000))
				size += 1 + protowire.SizeBytes(sm)
			}
			b = protowire.AppendVarint(protowire.AppendTag(b, 1, protowire.BytesType), uint64(size))
			b = append(b, ls...)
			for k := range int64(samplesPer) {
				ms := uint64((t + k*every) * 1000)
				b = protowire.AppendVarint(protowire.AppendTag(b, 2, protowire.BytesType), uint64(1+8+1+protowire.SizeVarint(ms)))
				b = protowire.AppendFixed64(protowire.AppendTag(b, 1, protowire.Fixed64Type), math.Float64bits(float64(t+k*every)))
				b = protowire.AppendVarint(protowire.AppendTag(b, 2, protowire.VarintType), ms)
			}
		}
		sd.plain = b
		sd.body = snappy.Encode(sd.body[:cap(sd.body)], b)
		req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/api/v1/prom/write", bytesReader(sd.body))
		req.Header.Set("Content-Encoding", "snappy")
		req.Header.Set("Content-Type", "application/x-protobuf")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent {
			return fmt.Errorf("status %d: %s", rec.Code, rec.Body)
		}
		return nil
	}
	// Far enough back for a "durable-minute" run of 20 minutes per request.
	start := time.Now().Add(-3 * 365 * 24 * time.Hour).Unix()
	// The series exist before the clock starts: creating their files is
	// not what this measures.
	for id := range nSenders {
		if err := send(id, start, 1); err != nil {
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
	for _, run := range []struct {
		name  string
		every int64
	}{{"durable", 1}, {"durable-minute", 60}} {
		b.Run(run.name, func(b *testing.B) {
			b.SetParallelism(perProc)
			cpu0 := pushtest.CPUTime()
			b.RunParallel(func(pb *testing.PB) {
				id := int(ids.Add(1)-1) % nSenders
				for pb.Next() {
					if err := send(id, next[id], run.every); err != nil {
						b.Error(err)
						return
					}
					next[id] += samplesPer * run.every
				}
			})
			b.ReportMetric(float64(b.N*seriesPer*samplesPer)/b.Elapsed().Seconds(), "samples/s")
			b.ReportMetric(float64(b.N*seriesPer*samplesPer)/(pushtest.CPUTime()-cpu0).Seconds(), "samples/CPU-s")
		})
	}
}
