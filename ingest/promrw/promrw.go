// Package promrw receives Prometheus remote_write 1.0: POST bodies that
// are snappy-compressed protobuf WriteRequests.
//
// Naming: a series' labels become Graphite tags, __name__ the name:
// http_requests_total{code="200",job="api"} is series
// `http_requests_total;code=200;job=api` (tags sorted, empty values
// left out, as Prometheus treats them as absent). Classic histograms and
// summaries arrive as their _bucket (with le), _sum, _count and quantile
// series and are kept as such. Native histograms are refused by count
// (rrdash stores only the classic form); exemplars are not kept.
//
// Types: a new series is DERIVE with minimum 0 when the metric is a
// counter — by the metadata Prometheus sends (TYPE counter; a histogram's
// or summary's _bucket, _count and _sum) or, before metadata arrived, by
// the _total suffix or a _bucket series with an le label — and GAUGE
// otherwise. DERIVE rather than COUNTER because Prometheus counters reset
// on restart and never wrap: with minimum 0 a reset is an unknown step,
// where COUNTER would read it as a 2^64 wrap. rrdtool's DERIVE takes
// integers, so a counter's value is rounded to the nearest integer; the
// error stays within ±0.5 of the cumulative value and so averages out of
// the rate.
//
// Durability: a 204 means every sample is durable (the store's journal
// fsync, through push.Writer). Bad input is answered 400 with a text body
// naming the series and sample; the good samples of the request are
// stored all the same. 5xx (store failure) and 429 (busy) are retried by
// Prometheus.
package promrw

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/golang/snappy"

	"rrdash/ingest/internal/namecache"
	"rrdash/ingest/push"
	"rrdash/store"
)

// Limiter is the shared in-flight budget (*push.Handlers is one).
type Limiter = push.Limiter

// Config configures a Handler.
type Config = push.ProtocolConfig

// Stats are a handler's running totals.
type Stats struct {
	Requests    int64
	Samples     int64 // samples handed to the writer
	Bad         int64 // samples refused: bad labels, future times, native histograms
	BadRequests int64 // requests refused whole (undecodable, too large, wrong encoding)
	Stale       int64 // staleness markers, which are no reading
	Late        int64 // at or before their series' last stored second
	Refused     int64 // refused by the store
	Failed      int64 // requests answered 503: the store failed
	Busy        int64 // requests answered 429
}

// Handler serves POST /api/v1/prom/write.
type Handler struct {
	w   push.PointWriter
	cfg Config

	pool sync.Pool // *state

	mdMu sync.Mutex
	meta map[string]MetricType // family → type, from the metadata requests
	// metaGen counts changes of meta: a cached series type of an older
	// generation is chosen again (metadata can turn a gauge into a counter).
	metaGen atomic.Uint64

	// names maps a series' label bytes to its name and type across
	// requests (see namecache): a known series is one lookup.
	names *namecache.Cache[cachedSeries]

	requests, samples, bad, badReq, stale, late, refused, failed, busy atomic.Int64
}

type cachedSeries struct {
	name string
	typ  store.DSType
	gen  uint64          // metaGen when typ was chosen
	ref  *push.SeriesRef // the writer's state of the series, found without a lookup
}

// maxCachedSeries bounds the names cache (about 200 bytes an entry).
const maxCachedSeries = 1 << 17

type state struct {
	body  []byte
	plain []byte
	wr    WriteRequest
	names push.Names
	name  []byte
	tags  []push.Tag
	// the request's samples by series, as the writer takes them
	// (push.RunEnqueuer): runs of nums; starts[i] is where run i's
	// samples start in nums until convert sets their slices
	runs   []push.NumRun
	nums   []push.NumSample
	starts []int
	pts    []push.Point // for a writer that takes points only
	pends  []*push.Pending
}

// maxMeta bounds the remembered metric families.
const maxMeta = 1 << 16

// New returns a handler writing through w.
func New(w push.PointWriter, cfg Config) (*Handler, error) {
	cfg, err := cfg.WithDefaults("promrw")
	if err != nil {
		return nil, err
	}
	return &Handler{w: w, cfg: cfg, meta: map[string]MetricType{}, names: namecache.New[cachedSeries](maxCachedSeries)}, nil
}

// Stats returns the running totals.
func (h *Handler) Stats() Stats {
	return Stats{Requests: h.requests.Load(), Samples: h.samples.Load(), Bad: h.bad.Load(), BadRequests: h.badReq.Load(),
		Stale: h.stale.Load(), Late: h.late.Load(), Refused: h.refused.Load(), Failed: h.failed.Load(), Busy: h.busy.Load()}
}

// fail answers an error in remote_write's form, a line of text; a 4xx
// other than the partial write of a request with bad samples counts as a
// request refused whole.
func (h *Handler) fail(w http.ResponseWriter, status int, format string, args ...any) {
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	} else if format != partialFormat {
		h.badReq.Add(1)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, format+"\n", args...)
}

// ServeHTTP handles one remote_write request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.fail(w, http.StatusMethodNotAllowed, "remote_write: use POST")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/x-protobuf" || params["proto"] != "" && params["proto"] != "prometheus.WriteRequest" {
			// Remote-Write 2.0 asks receivers to answer 415 for what they
			// do not speak, so that senders fall back to 1.0.
			h.fail(w, http.StatusUnsupportedMediaType, "remote_write: Content-Type %q: rrdash takes remote_write 1.0 (application/x-protobuf, prometheus.WriteRequest)", ct)
			return
		}
	}
	if enc := r.Header.Get("Content-Encoding"); !strings.EqualFold(enc, "snappy") {
		h.fail(w, http.StatusUnsupportedMediaType, "remote_write: Content-Encoding %q: want snappy", enc)
		return
	}
	if r.ContentLength > h.cfg.MaxBodyBytes {
		h.fail(w, http.StatusRequestEntityTooLarge, "remote_write: body of %d bytes is over the %d byte limit", r.ContentLength, h.cfg.MaxBodyBytes)
		return
	}
	st, _ := h.pool.Get().(*state)
	if st == nil {
		st = &state{}
	}
	defer h.put(st)
	charge := h.cfg.MaxBodyBytes
	if r.ContentLength >= 0 {
		charge = r.ContentLength
	}
	release, ok := h.admit(w, r, charge)
	if !ok {
		return
	}
	defer release()
	var err error
	st.body, err = readAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes), st.body[:0])
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.fail(w, http.StatusRequestEntityTooLarge, "remote_write: body over the %d byte limit", h.cfg.MaxBodyBytes)
			return
		}
		h.fail(w, http.StatusBadRequest, "remote_write: reading the body: %v", err)
		return
	}
	n, err := snappy.DecodedLen(st.body)
	if err != nil {
		h.fail(w, http.StatusBadRequest, "remote_write: snappy body: %v", err)
		return
	}
	if int64(n) > h.cfg.MaxBodyBytes {
		h.fail(w, http.StatusRequestEntityTooLarge, "remote_write: decompressed body of %d bytes is over the %d byte limit", n, h.cfg.MaxBodyBytes)
		return
	}
	release2, ok := h.admit(w, r, int64(n))
	if !ok {
		return
	}
	defer release2()
	if cap(st.plain) < n {
		st.plain = make([]byte, n)
	}
	plain, err := snappy.Decode(st.plain[:n], st.body)
	if err != nil {
		h.fail(w, http.StatusBadRequest, "remote_write: snappy body: %v", err)
		return
	}
	if err := st.wr.unmarshal(plain, h.known); err != nil {
		h.fail(w, http.StatusBadRequest, "remote_write: %v; nothing of this request was stored", err)
		return
	}
	h.learn(st.wr.Metadata)
	bad, firstBad := h.convert(st)
	h.samples.Add(int64(len(st.nums)))
	var res push.WriteResult
	err2 := h.submit(r, st)
	for _, pd := range st.pends {
		rs, err := pd.Wait(r.Context())
		res.Accepted += rs.Accepted
		res.Late += rs.Late
		res.Refused += rs.Refused
		if res.FirstRefusal == nil {
			res.FirstRefusal = rs.FirstRefusal
		}
		if err != nil && err2 == nil {
			err2 = err
		}
	}
	if err := err2; err != nil {
		if r.Context().Err() != nil {
			return // the client is gone; the writer applies its points later
		}
		h.failed.Add(1)
		h.cfg.Logger.Error("remote_write: store write failed", "err", err)
		h.fail(w, http.StatusServiceUnavailable, "remote_write: store: %v; %d samples stored durably, retry", err, res.Accepted)
		return
	}
	h.late.Add(int64(res.Late))
	h.refused.Add(int64(res.Refused))
	if bad == 0 && res.Refused == 0 {
		// Late samples (at or before the last stored second, as after a
		// sender's retry of what was stored) are not an error to resend.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var msg strings.Builder
	if bad > 0 {
		fmt.Fprintf(&msg, "remote_write: %d bad samples, the first: %v; ", bad, firstBad)
	}
	fmt.Fprintf(&msg, "%d samples stored durably, %d late, %d refused by the store", res.Accepted, res.Late, res.Refused)
	if res.FirstRefusal != nil {
		fmt.Fprintf(&msg, " (%v)", res.FirstRefusal)
	}
	h.fail(w, http.StatusBadRequest, partialFormat, msg.String())
}

const partialFormat = "%s"

const batchPoints = 8192

// submit hands the converted samples to the writer, adding a Pending for
// each batch to st.pends. Every batch is handed over before the first
// wait, so a large request is made durable by one commit, not one per
// batch (the batches bound how long the writer's lock is held).
func (h *Handler) submit(r *http.Request, st *state) error {
	st.pends = st.pends[:0]
	re, ok := h.w.(push.RunEnqueuer)
	if !ok {
		st.pts = push.Points(st.pts[:0], st.runs)
		for i := 0; i < len(st.pts); i += batchPoints {
			pd, err := push.Submit(r.Context(), h.w, st.pts[i:min(i+batchPoints, len(st.pts))])
			if err != nil {
				return err
			}
			st.pends = append(st.pends, pd)
		}
		return nil
	}
	for i := 0; i < len(st.runs); {
		// runs up to batchPoints samples (convert splits longer ones)
		j, n := i, 0
		for j < len(st.runs) && (j == i || n+len(st.runs[j].Samples) <= batchPoints) {
			n += len(st.runs[j].Samples)
			j++
		}
		pd, err := re.EnqueueRuns(st.runs[i:j])
		if err != nil {
			return err
		}
		st.pends = append(st.pends, pd)
		i = j
	}
	return nil
}

// admit takes n bytes of the shared budget, or answers 429.
func (h *Handler) admit(w http.ResponseWriter, r *http.Request, n int64) (func(), bool) {
	if h.cfg.Limiter == nil {
		return func() {}, true
	}
	release, ok := h.cfg.Limiter.Admit(r.Context(), n)
	if !ok {
		h.busy.Add(1)
		h.fail(w, http.StatusTooManyRequests, "remote_write: ingest is at its in-flight limit; retry")
		return nil, false
	}
	return release, true
}

func (h *Handler) put(st *state) {
	if cap(st.body) > 4<<20 || cap(st.plain) > 16<<20 {
		return
	}
	clear(st.pts)
	clear(st.pends)
	clear(st.runs)
	st.pts, st.pends, st.runs, st.nums = st.pts[:0], st.pends[:0], st.runs[:0], st.nums[:0]
	h.pool.Put(st)
}

// readAll reads r into buf, growing it.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	b := bytes.NewBuffer(buf[:0])
	_, err := b.ReadFrom(r)
	return b.Bytes(), err
}

// learn remembers each family's type from metadata.
func (h *Handler) learn(mds []Metadata) {
	if len(mds) == 0 {
		return
	}
	h.mdMu.Lock()
	defer h.mdMu.Unlock()
	for _, md := range mds {
		if len(md.Family) == 0 {
			continue
		}
		if t, ok := h.meta[string(md.Family)]; ok && t == md.Type {
			continue
		}
		if len(h.meta) >= maxMeta {
			clear(h.meta)
		}
		h.meta[string(md.Family)] = md.Type
		h.metaGen.Add(1)
	}
}

var suffixes = []string{"_total", "_bucket", "_count", "_sum", "_created"}

// dsType picks a new series' data source type (see the package doc); gen
// is the metadata generation it was chosen by.
func (h *Handler) dsType(name []byte, hasLe bool) (typ store.DSType, gen uint64) {
	h.mdMu.Lock()
	gen = h.metaGen.Load()
	t, ok := h.meta[string(name)]
	suffix := ""
	if !ok {
		for _, s := range suffixes {
			if bytes.HasSuffix(name, []byte(s)) {
				if t, ok = h.meta[string(name[:len(name)-len(s)])]; ok {
					suffix = s
					break
				}
			}
		}
	}
	h.mdMu.Unlock()
	if !ok {
		switch {
		case bytes.HasSuffix(name, []byte("_total")), hasLe && bytes.HasSuffix(name, []byte("_bucket")):
			return store.Derive, gen
		}
		return store.Gauge, gen
	}
	switch t {
	case TypeCounter:
		if suffix == "_created" {
			return store.Gauge, gen
		}
		return store.Derive, gen
	case TypeHistogram, TypeSummary:
		if suffix == "_bucket" || suffix == "_count" || suffix == "_sum" {
			return store.Derive, gen
		}
	}
	return store.Gauge, gen
}

// staleNaN is Prometheus' staleness marker: the series ended, no reading.
const staleNaN = 0x7ff0000000000002

// convert turns the decoded request into runs of samples by series in
// st.runs (at most batchPoints samples each). It returns the bad samples
// and the first one's error.
func (h *Handler) convert(st *state) (bad int, first error) {
	st.runs, st.nums, st.starts = st.runs[:0], st.nums[:0], st.starts[:0]
	limit := h.cfg.Horizon.Limit()
	maxMillis := limit.MaxMillis()
	gen := h.metaGen.Load()
	for si := range st.wr.Series {
		s := &st.wr.Series[si]
		if len(s.Samples) == 0 && s.Histograms == 0 {
			continue
		}
		var series string
		var typ store.DSType
		var ref *push.SeriesRef
		if c, ok := h.cachedSeries(s, gen); ok {
			series, typ, ref = c.name, c.typ, c.ref
		} else {
			var name []byte
			hasLe := false
			st.tags = st.tags[:0]
			labels, err := s.labels()
			if err != nil { // cannot be: the cache had them from a decoded request
				bad += len(s.Samples)
				if first == nil {
					first = fmt.Errorf("timeseries %d: labels: %v", si, err)
				}
				continue
			}
			for _, l := range labels {
				if string(l.Name) == "__name__" {
					name = l.Value
					continue
				}
				if string(l.Name) == "le" {
					hasLe = true
				}
				st.tags = append(st.tags, push.Tag{Key: l.Name, Value: l.Value})
			}
			if s.Histograms > 0 {
				bad += s.Histograms
				if first == nil {
					first = fmt.Errorf("timeseries %d (%s): %d native histogram samples: rrdash stores classic histograms only (_bucket, _sum, _count)", si, name, s.Histograms)
				}
			}
			if len(s.Samples) == 0 {
				continue
			}
			st.name, err = push.SeriesName(st.name[:0], name, st.tags)
			if err != nil {
				bad += len(s.Samples)
				if first == nil {
					first = fmt.Errorf("timeseries %d (%s): %v", si, describe(labels), err)
				}
				continue
			}
			var tgen uint64
			typ, tgen = h.dsType(name, hasLe)
			if s.LabelBytes != nil && s.Histograms == 0 {
				series, ref = string(st.name), &push.SeriesRef{}
				h.names.Put(s.LabelBytes, cachedSeries{series, typ, tgen, ref})
			} else {
				series = st.names.Intern(st.name)
			}
		}
		start := len(st.nums)
		st.nums = slices.Grow(st.nums, len(s.Samples))
		nums, n := st.nums[:cap(st.nums)], len(st.nums)
		counter := isCounter(typ)
		for i := 0; i < len(s.Samples); i++ {
			// The usual sample (a reading, not in the future, a counter's
			// integral) by a loop that calls nothing, so that its values
			// stay in registers; any other below.
			for ; i < len(s.Samples); i++ {
				sm := &s.Samples[i]
				v, ms := sm.Value, sm.Timestamp
				if math.Float64bits(v) == staleNaN || ms > maxMillis {
					break
				}
				if t := math.Trunc(v); counter && (t != v || t-t != 0) {
					break // to be rounded, or infinite
				}
				sec, usec := splitMillis(ms)
				nums[n] = push.NumSample{Sec: sec, Usec: usec, Num: v}
				n++
			}
			if i == len(s.Samples) {
				break
			}
			sm := &s.Samples[i]
			v := sm.Value
			if math.Float64bits(v) == staleNaN {
				h.stale.Add(1)
				continue
			}
			sec, usec := splitMillis(sm.Timestamp)
			if sm.Timestamp > maxMillis { // limit.Check fails: its error
				if err := limit.Check(sec, usec); err != nil {
					bad++
					if first == nil {
						first = fmt.Errorf("timeseries %d (%s): sample %d: %v", si, series, i, err)
					}
					continue
				}
			}
			if counter {
				v = counterValue(v)
			}
			nums[n] = push.NumSample{Sec: sec, Usec: usec, Num: v}
			n++
		}
		st.nums = st.nums[:n]
		if len(st.nums) > start {
			st.runs = append(st.runs, push.NumRun{Series: series, Ref: ref, Type: typ})
			st.starts = append(st.starts, start)
		}
	}
	st.setRuns()
	h.bad.Add(int64(bad))
	return bad, first
}

// setRuns gives the runs their slices of nums, now that it grows no
// more, splitting any of over batchPoints samples.
func (st *state) setRuns() {
	long := false
	for i := range st.runs {
		end := len(st.nums)
		if i+1 < len(st.runs) {
			end = st.starts[i+1]
		}
		st.runs[i].Samples = st.nums[st.starts[i]:end:end]
		long = long || end-st.starts[i] > batchPoints
	}
	if !long {
		return
	}
	var runs []push.NumRun
	for _, r := range st.runs {
		all := r.Samples
		for len(all) > 0 {
			n := min(len(all), batchPoints)
			r.Samples = all[:n:n]
			runs = append(runs, r)
			all = all[n:]
		}
	}
	st.runs = runs
}

// cachedSeries returns the name and type of s when its labels were seen
// before, under the metadata of generation gen.
func (h *Handler) cachedSeries(s *Series, gen uint64) (cachedSeries, bool) {
	if s.hit { // looked up as the request was decoded
		return s.cached, s.cached.gen == gen
	}
	if s.LabelBytes == nil || s.Histograms > 0 {
		return cachedSeries{}, false
	}
	c, ok := h.names.Get(s.LabelBytes)
	return c, ok && c.gen == gen
}

// known is the decoder's look-up of a series' label bytes (knownFunc).
func (h *Handler) known(labelBytes []byte) (cachedSeries, bool) { return h.names.Get(labelBytes) }

func splitMillis(ms int64) (sec, usec int64) {
	sec, rem := ms/1000, ms%1000
	if rem < 0 {
		sec, rem = sec-1, rem+1000
	}
	return sec, rem * 1000
}

// sampleValue is the reading of v the store takes as a number
// (store.Update.Nums): counters (DERIVE) rounded to integers, as rrdtool's
// DERIVE takes only those (within ±0.5 of the cumulative value), their
// infinities unknown (NaN).
func sampleValue(v float64, t store.DSType) float64 {
	if isCounter(t) {
		return counterValue(v)
	}
	return v
}

func isCounter(t store.DSType) bool { return t == store.Derive || t == store.Counter }

// counterValue is sampleValue of a counter's v (small enough to inline
// in convert's loop).
func counterValue(v float64) float64 {
	// integral already, as counters mostly are (Trunc is one
	// instruction, Round a dozen); t-t is NaN for infinities
	if t := math.Trunc(v); t == v && t-t == 0 {
		return v
	}
	return roundCounter(v)
}

func roundCounter(v float64) float64 {
	if math.IsInf(v, 0) {
		return math.NaN()
	}
	return math.Round(v)
}

// describe renders labels as Prometheus does, for error messages.
func describe(ls []Label) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range ls {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", l.Name, l.Value)
	}
	b.WriteByte('}')
	return b.String()
}
