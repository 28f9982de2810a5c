package push

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"rrdash/ingest/horizon"
)

// Other HTTP ingest protocols (ingest/promrw, ingest/otlp) share the push
// handlers' limits, so that one in-flight budget bounds every HTTP body
// rrdash holds at once.

// Admit takes a request's share of the in-flight budget (the body's
// Content-Length, at most RequestCharge… or the whole decoded size the
// caller names), waiting up to the queue wait. ok is false when there was
// no room: answer 429 with Retry-After. Call release when done.
func (h *Handlers) Admit(ctx context.Context, n int64) (release func(), ok bool) {
	n = max(n, 1)
	ctx, cancel := context.WithTimeout(ctx, h.queueWait)
	defer cancel()
	if err := h.budget.acquire(ctx, n); err != nil {
		h.busy.Add(1)
		return nil, false
	}
	return func() { h.budget.release(n) }, true
}

// Sibling returns handlers that share h's writer, limits and in-flight
// budget but keep their own counts, so that each protocol is its own
// source in /-/metrics.
func (h *Handlers) Sibling() *Handlers {
	return &Handlers{sink: h.sink, max: h.max, budget: h.budget, queueWait: h.queueWait, hz: h.hz, log: h.log}
}

// MaxBodyBytes is the body limit, after decompression too.
func (h *Handlers) MaxBodyBytes() int64 { return h.max }

// Horizon is the future-time check every ingest path applies.
func (h *Handlers) Horizon() horizon.Horizon { return h.hz }

// ChargeFor is what a request of declared length counts against the
// budget before its body is read: its Content-Length, or RequestCharge
// when unknown or compressed.
func ChargeFor(r *http.Request) int64 {
	n := int64(RequestCharge)
	if enc := r.Header.Get("Content-Encoding"); (enc == "" || strings.EqualFold(enc, "identity")) && r.ContentLength >= 0 {
		n = min(n, max(r.ContentLength, 1))
	}
	return n
}

// SeriesName builds `name;k1=v1;k2=v2` (Graphite tag syntax) from a
// metric name and tags, sorting the tags by key in place; tags with an
// empty value are left out (Prometheus treats them as absent). It refuses
// what the syntax cannot hold, naming the tag, and a key given twice.
func SeriesName(dst []byte, name []byte, tags []Tag) ([]byte, error) {
	if len(name) == 0 {
		return dst, fmt.Errorf("empty metric name")
	}
	if bytes.IndexByte(name, ';') >= 0 {
		return dst, fmt.Errorf("metric name %q contains ';', which separates Graphite tags", name)
	}
	if hasControl(name) {
		return dst, fmt.Errorf("metric name %q has a control character", name)
	}
	slices.SortFunc(tags, func(a, b Tag) int { return bytes.Compare(a.Key, b.Key) })
	dst = append(dst, name...)
	for i, t := range tags {
		if len(t.Value) == 0 {
			continue
		}
		if i > 0 && bytes.Equal(t.Key, tags[i-1].Key) {
			return dst, fmt.Errorf("tag key %q given twice", t.Key)
		}
		if err := checkTag(t.Key, t.Value); err != nil {
			return dst, err
		}
		dst = append(dst, ';')
		dst = append(dst, t.Key...)
		dst = append(dst, '=')
		dst = append(dst, t.Value...)
	}
	if !utf8.Valid(dst) {
		return dst, fmt.Errorf("series name %q is not valid UTF-8", dst)
	}
	return dst, nil
}

// Names interns series names built by SeriesName, so that repeated series
// cost no allocation; it is not safe for concurrent use.
type Names struct{ m map[string]string }

// Intern returns b as a string, from the cache when seen before.
func (n *Names) Intern(b []byte) string {
	if s, ok := n.m[string(b)]; ok {
		return s
	}
	if n.m == nil || len(n.m) >= maxInterned {
		n.m = make(map[string]string, 1024)
	}
	s := string(b)
	n.m[s] = s
	return s
}

// Limiter is the shared in-flight budget of HTTP ingest (*Handlers is one).
type Limiter interface {
	Admit(ctx context.Context, n int64) (release func(), ok bool)
}

// ProtocolConfig configures the HTTP handler of another ingest protocol
// (remote_write, OTLP).
type ProtocolConfig struct {
	// MaxBodyBytes bounds a body, after decompression too (default 32 MiB).
	MaxBodyBytes int64
	Horizon      horizon.Horizon
	// Limiter bounds what all ingest requests hold at once; nil: no bound.
	Limiter Limiter
	Logger  *slog.Logger
}

// WithDefaults checks c and fills in its defaults; protocol names the
// handler in the error.
func (c ProtocolConfig) WithDefaults(protocol string) (ProtocolConfig, error) {
	if c.MaxBodyBytes < 0 {
		return c, fmt.Errorf("%s: negative max body %d", protocol, c.MaxBodyBytes)
	}
	if err := c.Horizon.Validate(); err != nil {
		return c, fmt.Errorf("%s: %w", protocol, err)
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 32 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}
