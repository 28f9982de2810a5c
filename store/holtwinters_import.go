package store

import (
	"fmt"
	"math"

	"rrdash/store/rrdfile"
)

// hwFromRRDFile completes an imported definition and state with the
// Holt-Winters parameters (rra_def par[]) and consolidation words
// (cdp_prep scratch[]) of rrdtool's file.
func hwFromRRDFile(f *rrdfile.File, spec *Spec, st *state) error {
	if !spec.hasHW() {
		return nil
	}
	nds := len(spec.DS)
	for a, x := range f.RRA {
		r := &spec.RRA[a]
		if !r.CF.IsHW() {
			continue
		}
		p := x.Params
		h := HWParams{SmoothIdx: -1, Dep: int(int64(p[3]))}
		if p[3] > uint64(len(f.RRA)) {
			return fmt.Errorf("rra[%d] %s: dependent archive %d out of range", a, x.CF, p[3])
		}
		switch r.CF {
		case HWPredict, MHWPredict:
			h.Alpha, h.Beta, h.Period = p.Float(1), p.Float(2), int64(p.Float(4))
		case Seasonal, DevSeasonal:
			h.Gamma, h.SmoothingWindow, h.SmoothIdx = p.Float(1), p.Float(2), int64(p[4])
			// a version 0004 file holds an explicit window (created ones
			// have none)
			h.ExplicitWindow = f.Version >= 4 && h.SmoothingWindow != 0
		case Failures:
			h.DeltaPos, h.DeltaNeg, h.WindowLen, h.Threshold = p.Float(1), p.Float(2), int64(p[4]), int64(p[5])
		}
		r.HW, r.XFF = h, 0
	}
	if err := spec.Validate(); err != nil {
		return err
	}
	st.hw = newHWState(spec)
	for a, x := range f.RRA {
		if !spec.RRA[a].CF.IsHW() {
			continue
		}
		for d, c := range x.CDP {
			copy(st.hw.words[a*nds+d][:], c.Scratch[:8])
		}
		if st.hw.seas[a] != nil {
			copy(st.hw.seas[a], x.Ring)
		}
	}
	return nil
}

// dumpParams are the <params> of an archive in rrdtool's dump: xff, or
// those of a Holt-Winters archive.
type dumpParams struct {
	XFF       string `xml:"xff"`
	Alpha     string `xml:"hw_alpha"`
	Beta      string `xml:"hw_beta"`
	Dep       string `xml:"dependent_rra_idx"`
	Gamma     string `xml:"seasonal_gamma"`
	SmoothIdx string `xml:"seasonal_smooth_idx"`
	Window    string `xml:"smoothing_window"`
	DeltaPos  string `xml:"delta_pos"`
	DeltaNeg  string `xml:"delta_neg"`
	WindowLen string `xml:"window_len"`
	Threshold string `xml:"failure_threshold"`
}

// dumpHWCDP are the Holt-Winters fields of a <cdp_prep><ds>.
type dumpHWCDP struct {
	Intercept     string `xml:"intercept"`
	LastIntercept string `xml:"last_intercept"`
	Slope         string `xml:"slope"`
	LastSlope     string `xml:"last_slope"`
	NanCount      string `xml:"nan_count"`
	LastNanCount  string `xml:"last_nan_count"`
	Seasonal      string `xml:"seasonal"`
	LastSeasonal  string `xml:"last_seasonal"`
	InitFlag      string `xml:"init_flag"`
	History       string `xml:"history"`
}

func dumpUint(s, what string) (uint64, error) {
	var v uint64
	if _, err := fmt.Sscan(s, &v); err != nil {
		return 0, fmt.Errorf("%s: %q is not an unsigned integer", what, s)
	}
	return v, nil
}

// hwParamsFromDump reads a Holt-Winters archive's parameters as rrdtool
// restore does; version is the dump's <version>.
func hwParamsFromDump(cf CF, p dumpParams, version int) (HWParams, error) {
	h := HWParams{SmoothIdx: -1}
	var err error
	num := func(s, what string) float64 {
		if err != nil {
			return 0
		}
		var v float64
		v, err = dumpFloat(s, what)
		return v
	}
	cnt := func(s, what string) int64 {
		if err != nil {
			return 0
		}
		var v uint64
		v, err = dumpUint(s, what)
		if err == nil && v > math.MaxInt32 {
			err = fmt.Errorf("%s: %d out of range", what, v)
		}
		return int64(v)
	}
	h.Dep = int(cnt(p.Dep, "dependent_rra_idx"))
	switch cf {
	case HWPredict, MHWPredict:
		h.Alpha, h.Beta = num(p.Alpha, "hw_alpha"), num(p.Beta, "hw_beta")
	case Seasonal, DevSeasonal:
		h.Gamma, h.SmoothIdx = num(p.Gamma, "seasonal_gamma"), cnt(p.SmoothIdx, "seasonal_smooth_idx")
		if p.Window != "" {
			h.SmoothingWindow = num(p.Window, "smoothing_window")
			h.ExplicitWindow = version >= 4 && h.SmoothingWindow != 0
		}
	case Failures:
		h.DeltaPos, h.DeltaNeg = num(p.DeltaPos, "delta_pos"), num(p.DeltaNeg, "delta_neg")
		h.WindowLen, h.Threshold = cnt(p.WindowLen, "window_len"), cnt(p.Threshold, "failure_threshold")
	}
	return h, err
}

// hwWordsFromDump reads a Holt-Winters archive's cdp_prep words as
// rrdtool restore does (its history keeps at most 10 entries).
func hwWordsFromDump(cf CF, c dumpHWCDP) (HWWords, error) {
	var w HWWords
	var err error
	num := func(i int, s, what string) {
		if err == nil {
			var v float64
			v, err = dumpFloat(s, what)
			w.setF(i, v)
		}
	}
	cnt := func(i int, s, what string) {
		if err == nil {
			w[i], err = dumpUint(s, what)
		}
	}
	switch cf {
	case HWPredict, MHWPredict:
		num(hwIntercept, c.Intercept, "intercept")
		num(hwLastIntercept, c.LastIntercept, "last_intercept")
		num(hwSlope, c.Slope, "slope")
		num(hwLastSlope, c.LastSlope, "last_slope")
		cnt(hwNullCount, c.NanCount, "nan_count")
		cnt(hwLastNullCount, c.LastNanCount, "last_nan_count")
	case Seasonal, DevSeasonal:
		num(hwSeasonal, c.Seasonal, "seasonal")
		num(hwLastSeasonal, c.LastSeasonal, "last_seasonal")
		cnt(hwInitSeasonal, c.InitFlag, "init_flag")
	case Failures:
		for i := 0; i < len(c.History) && i < 10; i++ {
			if c.History[i] == '1' {
				w.setHistoryByte(i, 1)
			}
		}
	}
	return w, err
}
