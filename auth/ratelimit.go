package auth

import (
	"sync"
	"time"
)

// Limiter is a token bucket per key (a client IP): Burst requests at
// once, refilled at PerMinute. It holds at most maxKeys buckets; full
// (idle) buckets are dropped first.
type Limiter struct {
	burst     float64
	perSecond float64
	now       func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

const maxKeys = 10000

// NewLimiter returns a limiter; now is the clock (time.Now when nil).
func NewLimiter(perMinute, burst int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{burst: float64(max(burst, 1)), perSecond: float64(max(perMinute, 1)) / 60, now: now, buckets: map[string]*bucket{}}
}

// Allow takes one token for key and reports whether there was one.
func (l *Limiter) Allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxKeys {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	if dt := now.Sub(b.at).Seconds(); dt > 0 {
		b.tokens = min(l.burst, b.tokens+dt*l.perSecond)
	}
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// prune drops buckets that have refilled; if none has, the oldest half
// goes, so memory stays bounded under a flood of addresses.
func (l *Limiter) prune(now time.Time) {
	full := time.Duration(l.burst / l.perSecond * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.at) >= full {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) < maxKeys {
		return
	}
	n := 0
	for k := range l.buckets {
		if n >= maxKeys/2 {
			break
		}
		delete(l.buckets, k)
		n++
	}
}
