package push

import (
	"context"
	"net/http"
	"strings"

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
