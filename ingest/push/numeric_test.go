package push

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"rrdash/store"
)

// recordingSink is a store the writer does not know as *store.DB (as a
// cluster's log or a remote store): it records the updates it is given.
type recordingSink struct {
	*store.DB
	mu  sync.Mutex
	got []store.Update
}

func (s *recordingSink) Apply(ctx context.Context, b store.Batch) (store.Result, error) {
	s.mu.Lock()
	for _, u := range b.Updates {
		u.Values, u.Nums = append([]string(nil), u.Values...), append([]float64(nil), u.Nums...)
		s.got = append(s.got, u)
	}
	s.mu.Unlock()
	return s.DB.Apply(ctx, b)
}

// TestWriterNumericPoints: numeric points reach the store as numbers
// (stored bit for bit, no text), mixed with text points in one commit;
// a sink other than the store gets their text.
func TestWriterNumericPoints(t *testing.T) {
	t.Parallel()
	tenth := 0.1
	odd := tenth + 0.2 // 0.30000000000000004: 17 digits (constants would fold to 0.3)
	pts := []Point{
		{Series: "g", Sec: base + 1, Num: odd, Numeric: true},
		{Series: "g", Sec: base + 2, Value: "2.5"},
		{Series: "g", Sec: base + 3, Num: math.NaN(), Numeric: true},
		{Series: "g", Sec: base + 4, Num: -7, Numeric: true},
		{Series: "c", Sec: base + 1, Num: 1 << 60, Numeric: true, Type: store.Derive},
		{Series: "c", Sec: base + 2, Num: 1<<60 + 4096, Numeric: true, Type: store.Derive},
	}
	t.Run("store", func(t *testing.T) {
		t.Parallel()
		db := openStore(t)
		w, err := NewWriter(db, WriterConfig{Template: exactTemplate(t)})
		if err != nil {
			t.Fatal(err)
		}
		if res, err := w.Write(context.Background(), pts); err != nil || res.Accepted != len(pts) {
			t.Fatalf("%+v %v", res, err)
		}
		g := stored(t, db, "g", base, base+4)
		if len(g) != 3 || math.Float64bits(g[base+1]) != math.Float64bits(odd) || g[base+2] != 2.5 || g[base+4] != -7 {
			t.Errorf("g stored %v", g)
		}
		if c := stored(t, db, "c", base, base+2); len(c) != 1 || c[base+2] != 4096 {
			t.Errorf("c stored %v, want a rate of 4096 at +2", c)
		}
	})
	t.Run("other sink", func(t *testing.T) {
		t.Parallel()
		s := &recordingSink{DB: openStore(t)}
		w, err := NewWriter(s, WriterConfig{Template: exactTemplate(t), MaxDelay: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if res, err := w.Write(context.Background(), pts); err != nil || res.Accepted != len(pts) {
			t.Fatalf("%+v %v", res, err)
		}
		var texts []string
		for _, u := range s.got {
			if u.Nums != nil || len(u.Values) != 1 {
				t.Fatalf("update %+v: want one text value", u)
			}
			texts = append(texts, u.Values[0])
		}
		want := map[string]bool{"0.30000000000000004": true, "2.5": true, "U": true, "-7": true, "1152921504606846976": true, "1152921504606851072": true}
		if len(texts) != len(want) {
			t.Fatalf("texts %q", texts)
		}
		for _, x := range texts {
			if !want[x] {
				t.Errorf("text %q, want one of %v", x, want)
			}
		}
	})
}
