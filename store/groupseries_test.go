package store

import (
	"slices"
	"testing"
)

// TestSeriesGrouper: each series' updates end up contiguous, in the order
// of the series' first update, each series' own order kept; order maps
// back to the input; the scratch space carries nothing from one call to
// the next.
func TestSeriesGrouper(t *testing.T) {
	t.Parallel()
	up := func(s string, tm int64) Update { return Update{Series: s, Time: tm} }
	tests := []struct {
		name string
		in   []Update
		want []Update
	}{
		{"empty", nil, nil},
		{"one series", []Update{up("a", 1), up("a", 2), up("a", 3)}, []Update{up("a", 1), up("a", 2), up("a", 3)}},
		{"interleaved", []Update{up("b", 1), up("a", 1), up("b", 2), up("c", 1), up("a", 2), up("b", 3)},
			[]Update{up("b", 1), up("b", 2), up("b", 3), up("a", 1), up("a", 2), up("c", 1)}},
		{"runs", []Update{up("a", 1), up("a", 2), up("b", 1), up("b", 2), up("a", 3)},
			[]Update{up("a", 1), up("a", 2), up("a", 3), up("b", 1), up("b", 2)}},
	}
	var g SeriesGrouper
	for _, tc := range tests {
		for round := range 2 { // the second call reuses the scratch space
			got, order := g.Group(tc.in, nil, nil)
			if len(got) != len(tc.want) || len(order) != len(tc.in) {
				t.Fatalf("%s round %d: %v (order %v), want %v", tc.name, round, got, order, tc.want)
			}
			for j := range got {
				if got[j].Series != tc.want[j].Series || got[j].Time != tc.want[j].Time {
					t.Fatalf("%s round %d: %v, want %v", tc.name, round, got, tc.want)
				}
				if in := tc.in[order[j]]; in.Series != got[j].Series || in.Time != got[j].Time {
					t.Fatalf("%s round %d: order %v does not map back", tc.name, round, order)
				}
			}
		}
	}
}

// FuzzSeriesGrouper: for any sequence of series, the result is a
// permutation (order) that keeps every series' updates in order and makes
// them contiguous.
func FuzzSeriesGrouper(f *testing.F) {
	for _, s := range []string{"", "a", "abab", "aabbcc", "abcabcabc", "zyxwzyxw", "aaaaab"} {
		f.Add(s)
	}
	var g, kg SeriesGrouper
	f.Fuzz(func(t *testing.T, s string) {
		ups := make([]Update, len(s))
		for i := range len(s) {
			ups[i] = Update{Series: s[i : i+1], Time: int64(i)}
		}
		got, order := g.Group(ups, make([]Update, 0, 1), nil)
		if len(got) != len(ups) || len(order) != len(ups) {
			t.Fatalf("%q: %d updates, %d in order", s, len(got), len(order))
		}
		seen := make([]bool, len(ups))
		done := map[string]bool{}
		for j, u := range got {
			if in := ups[order[j]]; seen[order[j]] || in.Series != u.Series || in.Time != u.Time {
				t.Fatalf("%q: order %v", s, order)
			}
			seen[order[j]] = true
			if j > 0 && got[j-1].Series == u.Series && got[j-1].Time >= u.Time {
				t.Fatalf("%q: series %s out of order: %v", s, u.Series, got)
			}
			if j > 0 && got[j-1].Series != u.Series {
				if done[u.Series] {
					t.Fatalf("%q: series %s not contiguous: %v", s, u.Series, got)
				}
				done[got[j-1].Series] = true
			}
		}
		if slices.Contains(seen, false) {
			t.Fatalf("%q: order %v is not a permutation", s, order)
		}
		// the keyed path gives the same result, scratch space reused
		keys := make([]int32, len(s))
		for i := range len(s) {
			keys[i] = int32(s[i])
		}
		want := slices.Clone(got)
		wantOrder := slices.Clone(order)
		for round := range 2 {
			kgot, korder := kg.GroupByKey(ups, keys, nil, nil)
			if !slices.EqualFunc(kgot, want, func(a, b Update) bool { return a.Series == b.Series && a.Time == b.Time }) || !slices.Equal(korder, wantOrder) {
				t.Fatalf("%q round %d: GroupByKey %v %v, Group %v %v", s, round, kgot, korder, want, wantOrder)
			}
		}
	})
}
