package store

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"rrdash/store/internal/rrdbin"
)

// TestDebugCase replays one generated case update by update and stops at
// the first update after which rrdtool's state and ours differ. Run with
// DEBUG_CASE=N (and RRDASH_DIFF_SEED) to investigate a differential failure.
func TestDebugCase(t *testing.T) {
	ci, err := strconv.Atoi(os.Getenv("DEBUG_CASE"))
	if err != nil {
		t.Skip("set DEBUG_CASE")
	}
	seed := uint64(20261122)
	if s := os.Getenv("RRDASH_DIFF_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	c := genCase(rand.New(rand.NewPCG(seed, uint64(ci))))
	h := newRRDtoolHarness(t)
	file := h.path("d.rrd")
	h.createCase(t, file, c)
	ours, _ := NewRRD(c.spec)
	t.Logf("spec: step %d start %d %v %v", c.spec.Step, c.spec.Start, c.spec.DS, c.spec.RRA)
	var prev string
	for _, ch := range c.chunks {
		for _, a := range ch {
			out, rerr := h.cmd("update", file, a).CombinedOutput()
			u, err := ParseUpdateArg(a, nil, len(c.spec.DS))
			if err == nil {
				err = ours.Update(u.Time, u.Usec, u.Values)
			}
			if (err == nil) != (rerr == nil) {
				t.Fatalf("after %s, at %s: rrdtool %s, ours %v", prev, a, out, err)
			}
			ref, _ := rrdbin.Read(file)
			for d, ds := range ref.DS {
				s := ours.st.ds[d]
				if s.lastDS != ds.LastDS || !sameFloat(s.val, ds.Value) || s.unknSec != ds.UnknownSec {
					t.Fatalf("after %s, at %s: ds %d (%v) state ours {%q %v %d} rrdtool {%q %v %d}; pdp_temp ours %v",
						prev, a, d, c.spec.DS[d], s.lastDS, s.val, s.unknSec, ds.LastDS, ds.Value, ds.UnknownSec, ours.eng.pdpTemp)
				}
			}
			var st diffStats
			t.Logf("after %s, at %s", prev, a)
			compareDump(t, fmt.Sprintf("case %d", ci), file, dumpRRD(ours), &st, diffCheck{})
			prev = a
		}
	}
}
