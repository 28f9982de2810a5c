package main

// The Prometheus remote_write workload (issue 24): the same samples,
// snappy-compressed protobuf WriteRequests as Prometheus sends them, to
// rrdash's /api/v1/prom/write (204 once durable: journal fsync) and
// VictoriaMetrics' /api/v1/write (204 before any fsync; counted done once
// vm_rows_inserted_total{type="promremotewrite"} has every sample).

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/encoding/protowire"
)

// rwSamplesPerRequest is Prometheus' max_samples_per_send (2.42's
// default 2000 for remote_write 1.0 queues).
const rwSamplesPerRequest = 2000

// remoteWriteBodies is series × points gauge samples (peer_cpu with an
// instance label per series, a minute apart from t0), as snappy bodies of
// about rwSamplesPerRequest samples, each holding whole series: bodies in
// flight together are not ordered, and a series' samples must arrive in
// time order.
func remoteWriteBodies(series, points int, t0 int64) [][]byte {
	var bodies [][]byte
	per := max(1, rwSamplesPerRequest/points) // series per body
	for s0 := 0; s0 < series; s0 += per {
		var req []byte
		for s := s0; s < min(s0+per, series); s++ {
			var ts []byte
			ts = appendLabel(ts, "__name__", "peer_cpu")
			ts = appendLabel(ts, "instance", "host"+strconv.Itoa(s))
			for p := range points {
				var sm []byte
				sm = protowire.AppendTag(sm, 1, protowire.Fixed64Type)
				sm = protowire.AppendFixed64(sm, math.Float64bits(float64((s+p)%100)+float64(p%10)/10))
				sm = protowire.AppendTag(sm, 2, protowire.VarintType)
				sm = protowire.AppendVarint(sm, uint64((t0+int64(p)*60)*1000))
				ts = protowire.AppendTag(ts, 2, protowire.BytesType)
				ts = protowire.AppendBytes(ts, sm)
			}
			req = protowire.AppendTag(req, 1, protowire.BytesType)
			req = protowire.AppendBytes(req, ts)
		}
		bodies = append(bodies, snappy.Encode(nil, req))
	}
	return bodies
}

func appendLabel(dst []byte, name, value string) []byte {
	var l []byte
	l = protowire.AppendTag(l, 1, protowire.BytesType)
	l = protowire.AppendString(l, name)
	l = protowire.AppendTag(l, 2, protowire.BytesType)
	l = protowire.AppendString(l, value)
	dst = protowire.AppendTag(dst, 1, protowire.BytesType)
	return protowire.AppendBytes(dst, l)
}

// measureRemoteWrite sends pre (one sample of each series, untimed: the
// series exist before the clock starts, in both servers), then the timed
// bodies of total samples, eight at a time as Prometheus' shards do.
//
// It returns the wall time and the server's CPU time (user and system,
// all its threads) over the timed part: on a shared machine the CPU time
// compares where wall time swings with the load.
func measureRemoteWrite(p *peer, pre, bodies [][]byte, series int, total int64) (wall, cpu time.Duration, err error) {
	const kind = "promremotewrite"
	before, err := p.count(kind)
	if err != nil {
		return 0, 0, err
	}
	if err := postRemoteWrite(p, pre); err != nil {
		return 0, 0, err
	}
	if err := p.settled(kind, before, int64(series)); err != nil {
		return 0, 0, err
	}
	if before, err = p.count(kind); err != nil {
		return 0, 0, err
	}
	return timed(p, func() error {
		if err := postRemoteWrite(p, bodies); err != nil {
			return err
		}
		return p.settled(kind, before, total)
	})
}

// postRemoteWrite POSTs the bodies, eight at a time; each must be
// answered 204.
func postRemoteWrite(p *peer, bodies [][]byte) error {
	url := p.http + "/api/v1/write" // VictoriaMetrics
	if p.token != "" {
		url = p.http + "/api/v1/prom/write" // rrdash
	}
	return postBodies(p, url, bodies, 8, func(req *http.Request) {
		req.Header.Set("Content-Encoding", "snappy")
		req.Header.Set("Content-Type", "application/x-protobuf")
		req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	})
}
