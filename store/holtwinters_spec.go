package store

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// This file parses and formats the definitions of Holt-Winters archives as
// rrdcreate(1) of rrdtool 1.7.2 takes them:
//
//	RRA:HWPREDICT:rows:alpha:beta:seasonal period[:rra-num]
//	RRA:MHWPREDICT:rows:alpha:beta:seasonal period[:rra-num]
//	RRA:SEASONAL:seasonal period:gamma:rra-num[:smoothing-window=fraction]
//	RRA:DEVSEASONAL:seasonal period:gamma:rra-num[:smoothing-window=fraction]
//	RRA:DEVPREDICT:rows:rra-num
//	RRA:FAILURES:rows:threshold:window length:rra-num
//
// An HWPREDICT without rra-num creates its SEASONAL, DEVSEASONAL,
// DEVPREDICT and FAILURES archives right after it, as rrdtool does.
// rrdash writes a definition back with every dependency explicit, plus
// three keys of its own that rrdtool keeps in the file but has no syntax
// for: smooth-idx=N (SEASONAL/DEVSEASONAL: the row after which the
// seasonal smoother runs), delta-pos=x and delta-neg=x (FAILURES, set by
// tune --deltapos/--deltaneg).

// IsHW reports whether c is a Holt-Winters archive type.
func (c CF) IsHW() bool { return c >= HWPredict && c <= Failures }

// ReduceAs is the function that combines rows of this type when a graph
// or xport reads them at a coarser step (rrdtool's reduce_data): FAILURES
// rows by MAX (an interval with a failure is a failure), the other
// Holt-Winters types by AVERAGE.
func (c CF) ReduceAs() CF {
	switch {
	case c == Failures:
		return Max
	case c.IsHW():
		return Average
	}
	return c
}

// HWParams are the parameters of a Holt-Winters archive (rrdtool's
// rra_def par[]); which fields count depends on the archive type.
type HWParams struct {
	Alpha  float64 `json:"alpha,omitempty"` // HWPREDICT, MHWPREDICT
	Beta   float64 `json:"beta,omitempty"`
	Period int64   `json:"period,omitempty"` // HWPREDICT, MHWPREDICT: the seasonal period given at create
	Gamma  float64 `json:"gamma,omitempty"`  // SEASONAL, DEVSEASONAL
	// SmoothingWindow is the fraction of the season the smoother averages
	// over (SEASONAL, DEVSEASONAL); ExplicitWindow tells that create gave
	// it, which makes rrdtool write a version 0004 file that shows it
	SmoothingWindow float64 `json:"smoothing_window,omitempty"`
	ExplicitWindow  bool    `json:"explicit_window,omitempty"`
	// SmoothIdx is the row after which the smoother runs (SEASONAL,
	// DEVSEASONAL): rrdtool derives it from the file name; -1 until
	// AssignSmoothIdx does
	SmoothIdx int64   `json:"seasonal_smooth_idx,omitempty"`
	DeltaPos  float64 `json:"delta_pos,omitempty"` // FAILURES: confidence band scaling
	DeltaNeg  float64 `json:"delta_neg,omitempty"`
	WindowLen int64   `json:"window_length,omitempty"`     // FAILURES: observations in the window
	Threshold int64   `json:"failure_threshold,omitempty"` // FAILURES: violations in the window that make a failure
	// Dep is the index of the archive this one depends on: HWPREDICT →
	// SEASONAL, SEASONAL/DEVSEASONAL → HWPREDICT, DEVPREDICT/FAILURES →
	// DEVSEASONAL
	Dep int `json:"dependent_rra_idx"`
}

// depImplicit marks an HWPREDICT given without rra-num: its dependent
// archives are created after it.
const depImplicit = -2

// maxFailuresWindow is rrdtool's MAX_FAILURES_WINDOW_LEN: the violation
// history lives in the bytes of the archive's consolidation state.
const maxFailuresWindow = 28

// parseHWRRA parses the definition of a Holt-Winters archive; f is arg
// split at ':'. Errors use rrdtool's words where it has them.
func parseHWRRA(arg string, f []string, cf CF, step int64) (RRA, error) {
	r := RRA{CF: cf, Steps: 1, HW: HWParams{Dep: -1, SmoothIdx: -1}}
	tokens := len(f) - 1 // rrdtool counts the tokens after "RRA:"
	need := map[CF]int{HWPredict: 5, MHWPredict: 5, Seasonal: 4, DevSeasonal: 3, DevPredict: 3, Failures: 5}[cf]
	if tokens < need {
		return RRA{}, fmt.Errorf("%s: Expected at least %d arguments for RRA but got %d", arg, need, tokens)
	}
	fail := func(format string, a ...any) (RRA, error) {
		return RRA{}, fmt.Errorf("%s: %s", arg, fmt.Sprintf(format, a...))
	}
	rows, scaled, err := ParseDuration(f[2])
	if err != nil {
		return fail("Invalid row count %s: %v", f[2], err)
	}
	if scaled {
		if rows%step != 0 {
			return fail("Invalid row count %s: not a multiple of the step %ds", f[2], step)
		}
		rows /= step
	}
	r.Rows = rows
	dep := func(s string) (int, error) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("%s: invalid archive number %q: want the 1-based index of an RRA", arg, s)
		}
		return n - 1, nil
	}
	switch cf {
	case HWPredict, MHWPredict:
		if len(f) > 7 {
			return fail("Unexpected extra argument for consolidation function %s", cf)
		}
		a, err := strconv.ParseFloat(f[3], 64)
		if err != nil || !(a > 0 && a < 1) {
			return fail("Invalid alpha: must be between 0 and 1")
		}
		b, err := strconv.ParseFloat(f[4], 64)
		if err != nil || !(b >= 0 && b <= 1) {
			return fail("Invalid beta: must be between 0 and 1")
		}
		p, err := strconv.ParseInt(f[5], 10, 64)
		// a restored archive has no period (rrdtool's dump lacks it):
		// it only matters to create the dependent archives
		if err != nil || p < 0 || p == 0 && len(f) < 7 {
			return fail("Invalid seasonal period %q: want a positive integer", f[5])
		}
		if p > r.Rows {
			return fail("Length of seasonal cycle exceeds length of HW prediction array")
		}
		r.HW.Alpha, r.HW.Beta, r.HW.Period, r.HW.Dep = a, b, p, depImplicit
		if len(f) == 7 {
			if r.HW.Dep, err = dep(f[6]); err != nil {
				return RRA{}, err
			}
		}
	case Seasonal, DevSeasonal:
		g, err := strconv.ParseFloat(f[3], 64)
		if err != nil || !(g > 0 && g < 1) {
			return fail("Invalid gamma: must be between 0 and 1")
		}
		r.HW.Gamma, r.HW.SmoothingWindow = g, 0.05
		if len(f) > 4 {
			if r.HW.Dep, err = dep(f[4]); err != nil {
				return RRA{}, err
			}
		}
		for _, tok := range f[min(5, len(f)):] {
			k, v, _ := strings.Cut(tok, "=")
			switch k {
			case "smoothing-window":
				w, err := strconv.ParseFloat(v, 64)
				if err != nil || !(w >= 0 && w <= 1) {
					return fail("Invalid smoothing-window %s: must be between 0 and 1", v)
				}
				r.HW.SmoothingWindow, r.HW.ExplicitWindow = w, true
			case "implied-window":
				// rrdash's own: the window of a SEASONAL or DEVSEASONAL an
				// HWPREDICT created (rrdtool leaves it 0)
				w, err := strconv.ParseFloat(v, 64)
				if err != nil || !(w >= 0 && w <= 1) {
					return fail("Invalid implied-window %s: must be between 0 and 1", v)
				}
				r.HW.SmoothingWindow = w
			case "smooth-idx":
				n, err := strconv.ParseInt(v, 10, 64)
				// at or beyond the rows (a shrink leaves it so, as rrdtool
				// resize does) the smoother never runs
				if err != nil || n < 0 {
					return fail("Invalid smooth-idx %s: want a row index", v)
				}
				r.HW.SmoothIdx = n
			default:
				return fail("Invalid option %s", tok)
			}
		}
	case DevPredict:
		if len(f) > 4 {
			return fail("Unexpected extra argument for consolidation function DEVPREDICT")
		}
		if r.HW.Dep, err = dep(f[3]); err != nil {
			return RRA{}, err
		}
	case Failures:
		r.HW.DeltaPos, r.HW.DeltaNeg = 2, 2
		th, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil || th < 1 || th > maxFailuresWindow {
			return fail("Failure threshold is out of range %d, %d", 1, maxFailuresWindow)
		}
		wl, err := strconv.ParseInt(f[4], 10, 64)
		if err != nil || wl < 1 || wl > maxFailuresWindow {
			return fail("Window length is out of range %d, %d", 1, maxFailuresWindow)
		}
		if wl < th {
			return fail("Window length is shorter than the failure threshold")
		}
		r.HW.Threshold, r.HW.WindowLen = th, wl
		if r.HW.Dep, err = dep(f[5]); err != nil {
			return RRA{}, err
		}
		for _, tok := range f[6:] {
			k, v, _ := strings.Cut(tok, "=")
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(x) {
				return fail("Invalid option %s", tok)
			}
			switch k {
			case "delta-pos":
				r.HW.DeltaPos = x
			case "delta-neg":
				r.HW.DeltaNeg = x
			default:
				return fail("Invalid option %s", tok)
			}
		}
	}
	return r, nil
}

// addContingentRRAs creates the SEASONAL, DEVSEASONAL, DEVPREDICT and
// FAILURES archives of an HWPREDICT (or MHWPREDICT) just appended without
// an rra-num, with rrdtool's defaults: gammas equal to alpha, smoothing
// window 0 (rrdtool sets none: a version 0004 file, with MHWPREDICT,
// never smooths them; a version 0003 file smooths over 5 % whatever the
// window says), FAILURES with 7 violations in a window of 9 and confidence
// bands of 2 deviations.
func addContingentRRAs(rras []RRA) []RRA {
	hw := len(rras) - 1
	h := &rras[hw]
	if !(h.CF == HWPredict || h.CF == MHWPredict) || h.HW.Dep != depImplicit {
		return rras
	}
	p := h.HW.Period
	h.HW.Dep = hw + 1
	seasonal := HWParams{Gamma: h.HW.Alpha, SmoothIdx: -1, Dep: hw}
	rras = append(rras,
		RRA{CF: Seasonal, Steps: 1, Rows: p, HW: seasonal},
		RRA{CF: DevSeasonal, Steps: 1, Rows: p, HW: seasonal},
		RRA{CF: DevPredict, Steps: 1, Rows: rras[hw].Rows, HW: HWParams{Dep: hw + 2, SmoothIdx: -1}},
		RRA{CF: Failures, Steps: 1, Rows: p, HW: HWParams{DeltaPos: 2, DeltaNeg: 2, Threshold: 7, WindowLen: 9, Dep: hw + 2, SmoothIdx: -1}})
	return rras
}

// hwString formats a Holt-Winters archive with its dependency explicit
// (so parsing it again creates nothing) and the keys rrdtool has no
// syntax for.
func (r RRA) hwString() string {
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	h := r.HW
	switch r.CF {
	case HWPredict, MHWPredict:
		return fmt.Sprintf("RRA:%s:%d:%s:%s:%d:%d", r.CF, r.Rows, g(h.Alpha), g(h.Beta), h.Period, h.Dep+1)
	case Seasonal, DevSeasonal:
		s := fmt.Sprintf("RRA:%s:%d:%s:%d", r.CF, r.Rows, g(h.Gamma), h.Dep+1)
		if h.ExplicitWindow {
			s += ":smoothing-window=" + g(h.SmoothingWindow)
		} else if h.SmoothingWindow != 0.05 {
			s += ":implied-window=" + g(h.SmoothingWindow)
		}
		if h.SmoothIdx >= 0 {
			s += fmt.Sprintf(":smooth-idx=%d", h.SmoothIdx)
		}
		return s
	case DevPredict:
		return fmt.Sprintf("RRA:DEVPREDICT:%d:%d", r.Rows, h.Dep+1)
	default:
		s := fmt.Sprintf("RRA:FAILURES:%d:%d:%d:%d", r.Rows, h.Threshold, h.WindowLen, h.Dep+1)
		if h.DeltaPos != 2 || h.DeltaNeg != 2 {
			s += ":delta-pos=" + g(h.DeltaPos) + ":delta-neg=" + g(h.DeltaNeg)
		}
		return s
	}
}

// validateHW checks the Holt-Winters archives and their dependencies:
// rrdtool follows them without checking (a wrong rra-num crashes it).
func (s *Spec) validateHW() error {
	want := func(i int, cfs ...CF) error {
		r := s.RRA[i]
		d := r.HW.Dep
		if d < 0 || d >= len(s.RRA) {
			return fmt.Errorf("RRA %d (%s): dependent archive %d does not exist", i, r.CF, d+1)
		}
		for _, c := range cfs {
			if s.RRA[d].CF == c {
				return nil
			}
		}
		return fmt.Errorf("RRA %d (%s): archive %d is %s, want %v", i, r.CF, d+1, s.RRA[d].CF, cfs)
	}
	for i, r := range s.RRA {
		if !r.CF.IsHW() {
			continue
		}
		if r.Steps != 1 {
			return fmt.Errorf("RRA %d (%s): a Holt-Winters archive has one PDP per row", i, r.CF)
		}
		if r.Rows <= 0 {
			return fmt.Errorf("RRA %d: steps and rows must be positive", i)
		}
		var err error
		switch r.CF {
		case HWPredict, MHWPredict:
			err = want(i, Seasonal)
		case Seasonal, DevSeasonal:
			// a smoothing index at or beyond the rows (after a shrink,
			// as rrdtool resize leaves it) only means no smoothing
			err = want(i, HWPredict, MHWPredict)
		case DevPredict:
			err = want(i, DevSeasonal)
		case Failures:
			if err = want(i, DevSeasonal); err == nil {
				// the FAILURES test reads the chain DEVSEASONAL → HWPREDICT → SEASONAL
				dev := s.RRA[r.HW.Dep]
				if hw := dev.HW.Dep; hw >= 0 && hw < len(s.RRA) {
					err = want(hw, Seasonal)
				}
			}
			if err == nil && !(r.HW.Threshold >= 1 && r.HW.WindowLen >= r.HW.Threshold && r.HW.WindowLen <= maxFailuresWindow) {
				err = fmt.Errorf("RRA %d (FAILURES): threshold %d and window %d out of range", i, r.HW.Threshold, r.HW.WindowLen)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// hasHW reports whether the spec has Holt-Winters archives.
func (s *Spec) hasHW() bool {
	for _, r := range s.RRA {
		if r.CF.IsHW() {
			return true
		}
	}
	return false
}

// fnvHash is rrdtool's FnvHash: 32-bit FNV-1 computed in an unsigned long
// (64 bits on x86-64, so the product is not cut to 32 bits).
func fnvHash(s string) uint64 {
	h := uint64(0x811c9dc5)
	for i := 0; i < len(s); i++ {
		h *= 0x01000193
		h ^= uint64(s[i])
	}
	return h
}

// AssignSmoothIdx gives every SEASONAL and DEVSEASONAL archive without a
// smoothing index the one rrdtool create derives from the file name it is
// given (FNV hash modulo the archive's rows).
func (s *Spec) AssignSmoothIdx(filename string) {
	h := fnvHash(filename)
	for i := range s.RRA {
		r := &s.RRA[i]
		if (r.CF == Seasonal || r.CF == DevSeasonal) && r.HW.SmoothIdx < 0 {
			r.HW.SmoothIdx = int64(h % uint64(r.Rows))
		}
	}
}

// RRDVersion is the file version rrdtool 1.7.2 writes for the spec
// (dump's <version>): 0005 with DCOUNTER/DDERIVE, 0004 with MHWPREDICT
// or an explicit smoothing window, else 0003.
func (s *Spec) RRDVersion() int {
	v := 3
	for _, d := range s.DS {
		if d.Type == DCounter || d.Type == DDerive {
			return 5
		}
	}
	for _, r := range s.RRA {
		if r.CF == MHWPredict || r.HW.ExplicitWindow {
			v = 4
		}
	}
	return v
}
