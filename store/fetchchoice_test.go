package store

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
)

// Fetch's archive choice against rrdtool 1.7.2 on layouts with archives of
// mixed CFs and steps that only partly cover the range asked (issue 16's
// example: AVERAGE and MAX at 60 s and 300 s, `fetch MAX -r 300` over a
// day), with random CFs, resolutions, starts and ends — also ends after
// the last update.
func TestFetchArchiveChoiceMixed(t *testing.T) {
	h := newRRDtoolHarness(t)
	t.Parallel()
	layouts := [][]string{
		{"RRA:AVERAGE:0.5:1:1440", "RRA:MAX:0.5:1:1440", "RRA:AVERAGE:0.5:5:600", "RRA:MAX:0.5:5:600"},
		{"RRA:AVERAGE:0.5:1:100", "RRA:MAX:0.5:5:300", "RRA:MIN:0.5:5:50", "RRA:LAST:0.5:12:200", "RRA:AVERAGE:0.5:60:48"},
		{"RRA:LAST:0.5:1:30", "RRA:AVERAGE:0.5:3:40", "RRA:AVERAGE:0.5:2:90", "RRA:MAX:0.5:30:10"},
		{"RRA:MAX:0.5:5:20", "RRA:MAX:0.5:2:60", "RRA:AVERAGE:0.5:1:10", "RRA:MIN:0.5:1:500"},
		// archives of one span (10 h) and different steps: a range starting
		// before them ties on coverage and the step difference decides
		{"RRA:AVERAGE:0.5:1:600", "RRA:MAX:0.5:2:300", "RRA:AVERAGE:0.5:5:120", "RRA:MAX:0.5:5:120"},
	}
	const step, t0 = 60, 1_000_000_200 // t0 and the last update on 10-min boundaries: equal spans tie
	cfs := []CF{Average, Min, Max, Last}
	n := 0
	for li, rras := range layouts {
		spec, err := ParseSpecArgs(step, t0, append([]string{"DS:v:GAUGE:120:U:U"}, rras...))
		if err != nil {
			t.Fatal(err)
		}
		file := h.path("l%d.rrd", li)
		h.create(t, file, t0, step, spec.args())
		ours, err := NewRRD(spec)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(7, uint64(li)))
		var ups []string
		last := int64(t0)
		for i := 0; i < 2*1440; i++ {
			last += step
			v := strconv.Itoa(r.IntN(1000))
			ups = append(ups, fmt.Sprintf("%d:%s", last, v))
			if err := ours.Update(last, 0, []string{v}); err != nil {
				t.Fatal(err)
			}
		}
		for k := 0; k < len(ups); k += 500 {
			h.must(t, append([]string{"update", file}, ups[k:min(k+500, len(ups))]...)...)
		}
		var qs []FetchRequest
		for q := 0; q < 60; q++ {
			req := FetchRequest{CF: cfs[r.IntN(4)], Resolution: []int64{1, 60, 120, 300, 600, 900, 3600, 86400}[r.IntN(8)]}
			req.End = last - r.Int64N(3*86400) + r.Int64N(7200)
			req.Start = req.End - 1 - r.Int64N(2*86400)
			if q%3 == 0 {
				req.End, req.Start = last, last-86400 // the issue's: the last day
			}
			req.AlignStart = r.IntN(5) == 0
			qs = append(qs, req)
		}
		n += h.compareFetches(t, fmt.Sprintf("layout %d (%v)", li, rras), file, qs, ours.Fetch, nil)
	}
	t.Logf("%d fetches identical", n)
}
