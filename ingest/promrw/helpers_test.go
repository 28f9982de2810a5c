package promrw

import (
	"bytes"
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"rrdash/ingest/horizon"
	"rrdash/ingest/push/pushtest"
	"testing"
	"time"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/encoding/protowire"

	"rrdash/ingest/push"
	"rrdash/store"
)

// The tests encode WriteRequests with protowire, field by field as
// prompb does, so the decoder is checked against the wire format and not
// against itself.

type tsIn struct {
	labels  [][2]string
	samples []Sample
	hists   int
}

type mdIn struct {
	typ    MetricType
	family string
}

func encodeRequest(series []tsIn, md []mdIn) []byte {
	var b []byte
	for _, s := range series {
		var ts []byte
		for _, l := range s.labels {
			var lb []byte
			lb = protowire.AppendTag(lb, 1, protowire.BytesType)
			lb = protowire.AppendString(lb, l[0])
			lb = protowire.AppendTag(lb, 2, protowire.BytesType)
			lb = protowire.AppendString(lb, l[1])
			ts = protowire.AppendTag(ts, 1, protowire.BytesType)
			ts = protowire.AppendBytes(ts, lb)
		}
		for _, sm := range s.samples {
			var sb []byte
			sb = protowire.AppendTag(sb, 1, protowire.Fixed64Type)
			sb = protowire.AppendFixed64(sb, math.Float64bits(sm.Value))
			sb = protowire.AppendTag(sb, 2, protowire.VarintType)
			sb = protowire.AppendVarint(sb, uint64(sm.Timestamp))
			ts = protowire.AppendTag(ts, 2, protowire.BytesType)
			ts = protowire.AppendBytes(ts, sb)
		}
		for range s.hists {
			var hb []byte
			hb = protowire.AppendTag(hb, 1, protowire.VarintType) // count_int
			hb = protowire.AppendVarint(hb, 3)
			ts = protowire.AppendTag(ts, 4, protowire.BytesType)
			ts = protowire.AppendBytes(ts, hb)
		}
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, ts)
	}
	for _, m := range md {
		var mb []byte
		mb = protowire.AppendTag(mb, 1, protowire.VarintType)
		mb = protowire.AppendVarint(mb, uint64(m.typ))
		mb = protowire.AppendTag(mb, 2, protowire.BytesType)
		mb = protowire.AppendString(mb, m.family)
		mb = protowire.AppendTag(mb, 4, protowire.BytesType)
		mb = protowire.AppendString(mb, "help text")
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendBytes(b, mb)
	}
	return b
}

func newTestHandler(t testing.TB) (*Handler, *store.DB, *httptest.Server) {
	t.Helper()
	db := pushtest.Store(t)
	tmpl, err := store.ParseSpecArgs(1, 0, []string{"DS:value:GAUGE:10:U:U", "RRA:LAST:0.5:1:4000"})
	if err != nil {
		t.Fatal(err)
	}
	w := pushtest.Writer(t, db, push.WriterConfig{Template: tmpl, Grace: 5 * time.Second, MaxDelay: 5 * time.Millisecond})
	h, err := New(w, Config{MaxBodyBytes: 1 << 20, Horizon: fixedHorizon})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, db, srv
}

const base = 1795356000 // 2026-11-22T14:00:00Z

func postRW(t testing.TB, url string, raw []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytesReader(snappy.Encode(nil, raw)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// last returns the value a series holds at sec (LAST archive, step 1).
func last(t testing.TB, db *store.DB, series string, sec int64) float64 {
	t.Helper()
	r, err := db.Fetch(series, store.FetchRequest{CF: store.Last, Start: sec - 1, End: sec})
	if err != nil {
		t.Fatalf("fetch %s: %v", series, err)
	}
	for i, v := range r.Values[0] {
		if r.Start+int64(i+1)*r.Step == sec {
			return v
		}
	}
	return math.NaN()
}

var fixedHorizon = horizonAt(base + 100)

func horizonAt(sec int64) horizon.Horizon {
	return horizon.Horizon{MaxFuture: time.Minute, Now: func() time.Time { return time.Unix(sec, 0) }}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// discard is a PointWriter that keeps nothing, for the fuzz target.
type discard struct{}

func (discard) Write(_ context.Context, pts []push.Point) (push.WriteResult, error) {
	return push.WriteResult{Accepted: len(pts)}, nil
}
