package namecache

import (
	"fmt"
	"sync"
	"testing"
)

func TestCache(t *testing.T) {
	t.Parallel()
	c := New[string](16)
	key := []byte("a=1")
	if _, ok := c.Get(key); ok {
		t.Fatal("empty cache has a value")
	}
	c.Put(key, "x")
	key[2] = '2' // the cache keeps its own copy of the key
	if _, ok := c.Get(key); ok {
		t.Fatal("a=2 found after changing the caller's key bytes")
	}
	if v, ok := c.Get([]byte("a=1")); !ok || v != "x" {
		t.Fatalf("a=1: %q %v", v, ok)
	}
	// Bounded: the cache never holds more than its maximum.
	for i := range 100 {
		c.Put(fmt.Appendf(nil, "k%d", i), "v")
		if n := c.Len(); n > 16 {
			t.Fatalf("%d entries after %d puts, bound 16", n, i+1)
		}
	}
	if v, ok := c.Get([]byte("k99")); !ok || v != "v" {
		t.Fatal("the last key put is not there")
	}
}

func TestCacheConcurrent(t *testing.T) {
	t.Parallel()
	c := New[int](64)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				k := fmt.Appendf(nil, "%d", (i*7+g)%100)
				c.Put(k, i)
				c.Get(k)
			}
		})
	}
	wg.Wait()
	if n := c.Len(); n > 64 {
		t.Fatalf("%d entries, bound 64", n)
	}
}

func BenchmarkGetHit(b *testing.B) {
	c := New[string](1 << 10)
	key := []byte("\n\x1a\n\b__name__\x12\x0ebench_requests_total\n\x16\n\binstance\x12\nhost0:9100")
	c.Put(key, "bench_requests_total;instance=host0:9100")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.Get(key); !ok {
			b.Fatal("miss")
		}
	}
}
