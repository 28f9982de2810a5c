package push

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"
	"unsafe"
)

// TestBufPool: buffers come back cleared and are reused by size class;
// odd capacities and anything beyond maxPoolBytes are not kept.
func TestBufPool(t *testing.T) {
	t.Parallel()
	var bp bufPool
	for _, n := range []int{0, 1, 3, 4, 5, 64, 65, 4096, 5000} {
		b := bp.get(n)
		if len(b) != 0 || cap(b) < max(n, 4) || n <= 4096 && cap(b)&(cap(b)-1) != 0 {
			t.Fatalf("get(%d): len %d cap %d", n, len(b), cap(b))
		}
	}
	b := bp.get(10)
	b = append(b, bufPoint{value: "x", w: &waiter{}}, bufPoint{value: "y"})
	bp.put(b)
	c := bp.get(9)
	if unsafe.SliceData(c) != unsafe.SliceData(b) {
		t.Fatal("a buffer of the same class was not reused")
	}
	for _, p := range c[:cap(c)] {
		if !zeroPoint(p) {
			t.Fatalf("reused buffer holds %+v", p)
		}
	}
	bp.put(make([]bufPoint, 0, 5)) // not a class's size
	if bp.bytes != 0 {
		t.Fatalf("odd capacity kept: %d bytes", bp.bytes)
	}
	for range 2 * maxPoolBytes / (4096 * int(unsafe.Sizeof(bufPoint{}))) {
		bp.put(make([]bufPoint, 0, 4096))
	}
	if bp.bytes > maxPoolBytes || bp.bytes < maxPoolBytes/2 {
		t.Fatalf("pool holds %d bytes, bound %d", bp.bytes, maxPoolBytes)
	}
}

// TestWriterBuffersFromPool writes many series, each a different number
// of points per write (so buffers grow through several classes, are
// taken whole and, under the grace window, in part), with points out of
// order and replaced within their second: every series stores exactly
// the last value written for each second, and once everything is applied
// no series holds a point or a buffer beyond keepPoints, and the pool
// holds no point.
func TestWriterBuffersFromPool(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	w, err := NewWriter(db, WriterConfig{Template: exactTemplate(t), Grace: 20 * time.Second, MaxDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const series, rounds = 24, 6
	want := make([]map[int64]float64, series)
	next := make([]int64, series) // next second of each series
	for k := range want {
		want[k] = map[int64]float64{}
		next[k] = 1
	}
	for r := range rounds {
		var pts []Point
		for k := range series {
			n := int64((k*7+r*13)%90 + 1)
			for i := range n {
				sec := next[k] + i
				if i%5 == 4 {
					sec-- // out of order: the one before comes after
				} else if i%5 == 3 && i+1 < n { // (the pair stays within the write)
					sec++
				}
				v := float64(r*1000 + int(i))
				pts = append(pts, pt(fmt.Sprintf("p%d", k), sec, 0, strconv.FormatFloat(v, 'f', -1, 64)))
				want[k][base+sec] = v
			}
			if k%3 == 0 && n > 2 { // a second written again later in the write
				sec := next[k] + n - 2
				pts = append(pts, pt(fmt.Sprintf("p%d", k), sec, 0, "-7"))
				want[k][base+sec] = -7
			}
			next[k] += n
		}
		if _, err := w.Write(ctx, pts); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if c := w.Counts(); c.Late+c.Refused > 0 {
		t.Fatalf("counts %+v", c)
	}
	for k := range series {
		name := fmt.Sprintf("p%d", k)
		got := stored(t, db, name, base, base+next[k]+1)
		if len(got) != len(want[k]) {
			t.Errorf("%s: %d values stored, want %d", name, len(got), len(want[k]))
		}
		for s, v := range want[k] {
			if got[s] != v {
				t.Errorf("%s at %d: %v, want %v", name, s-base, got[s], v)
			}
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for name, st := range w.series {
		for _, b := range [][]bufPoint{st.buf, st.spare} {
			if len(b) != 0 || cap(b) > keepPoints {
				t.Errorf("%s: idle series holds %d points, a buffer of %d", name, len(b), cap(b))
			}
			for _, p := range b[:cap(b)] {
				if !zeroPoint(p) {
					t.Fatalf("%s: idle buffer holds %+v", name, p)
				}
			}
		}
	}
	held := 0
	for _, f := range w.pool.free {
		for _, b := range f {
			held += cap(b)
			for _, p := range b[:cap(b)] {
				if !zeroPoint(p) {
					t.Fatalf("pooled buffer holds %+v", p)
				}
			}
		}
	}
	if held == 0 {
		t.Error("no buffer went back to the pool")
	}
}

func zeroPoint(p bufPoint) bool {
	return p.micros == 0 && p.sec == 0 && p.usec == 0 && p.value == "" && p.num == 0 && !p.numeric && p.units == "" &&
		p.dsType == 0 && !p.graphite && p.deadline == 0 && p.w == nil && p.extra == nil
}

// TestBufClass: the class of n is the smallest k with 1<<k ≥ n, at most
// the last class.
func TestBufClass(t *testing.T) {
	for n := -1; n <= 1<<(bufClasses+1); n++ {
		want := uint8(0)
		for want < bufClasses-1 && 1<<want < n {
			want++
		}
		if got := bufClass(n); got != want {
			t.Fatalf("bufClass(%d) = %d, want %d", n, got, want)
		}
	}
}
