// Package namecache remembers, across requests, the series a protocol
// built from what identifies it in the protocol's own encoding: the raw
// bytes of a remote_write TimeSeries' labels, or an OTLP data point's
// attribute bytes with its metric and resource. A series seen before then
// costs one map lookup instead of decoding, ordering and checking its tags
// and building its name again, and its name is one shared string rather
// than a new one per request.
//
// The key must determine the value completely (the caller's conversion is
// a function of the key bytes); the cache compares whole keys, so a hash
// collision cannot give a wrong series.
package namecache

import "sync"

// Cache maps key bytes to values; safe for concurrent use.
type Cache[V any] struct {
	mu  sync.RWMutex
	m   map[string]V
	max int
}

// New returns a cache of at most limit entries (at least 16).
func New[V any](limit int) *Cache[V] {
	return &Cache[V]{m: map[string]V{}, max: max(limit, 16)}
}

// Get returns the value stored under key.
func (c *Cache[V]) Get(key []byte) (V, bool) {
	c.mu.RLock()
	v, ok := c.m[string(key)] // no allocation: the compiler reads key in place
	c.mu.RUnlock()
	return v, ok
}

// Put stores v under a copy of key. A full cache first forgets a quarter
// of its entries (the map's iteration order picks which): a sender with
// more series than the bound pays the slow path for some of them, and the
// memory stays bounded.
func (c *Cache[V]) Put(key []byte, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		drop := c.max / 4
		for k := range c.m {
			delete(c.m, k)
			if drop--; drop <= 0 {
				break
			}
		}
	}
	c.m[string(key)] = v
}

// Len returns the number of entries.
func (c *Cache[V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
