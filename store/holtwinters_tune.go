package store

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// strtodbl reads a number as rrdtool's rrd_strtodbl: 2 when all of s is
// the number, 1 when a number is followed by other text, 0 when s does
// not start with one.
func strtodbl(s string) (float64, int) {
	for end := len(s); end > 0; end-- {
		v, err := strconv.ParseFloat(s[:end], 64)
		var ne *strconv.NumError
		if err == nil || errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			if end == len(s) {
				return v, 2
			}
			return v, 1
		}
	}
	return 0, 0
}

// atoi is C's atoi: the leading integer, 0 when there is none.
func atoi(s string) int64 {
	v, _ := leadingInt(s)
	return v
}

// firstArchive returns the index of the first archive of type cf, or -1.
func (e *SeriesEdit) firstArchive(cf CF) int {
	for i, r := range e.spec.RRA {
		if r.CF == cf {
			return i
		}
	}
	return -1
}

var errNoHW = errors.New("Holt-Winters RRA does not exist in this RRD")

// tuneHW sets a Holt-Winters parameter as rrd_tune does: on the first
// archive of the type it belongs to, with rrdtool's checks and errors.
func (e *SeriesEdit) tuneHW(opt, arg string) error {
	switch opt {
	case "deltapos", "deltaneg":
		v, ok := strtodbl(arg)
		if ok >= 1 && v < 0.1 {
			return errors.New("Parameter specified is too small")
		}
		if ok != 2 {
			return errors.New("Unable to parse parameter in set_deltaarg")
		}
		a := e.firstArchive(Failures)
		if a < 0 {
			return errors.New("Failures RRA does not exist in this RRD")
		}
		if opt == "deltapos" {
			e.spec.RRA[a].HW.DeltaPos = v
		} else {
			e.spec.RRA[a].HW.DeltaNeg = v
		}
		return nil
	case "threshold", "window":
		v := atoi(arg)
		if v < 1 || v > maxFailuresWindow {
			return fmt.Errorf("Parameter must be between %d and %d", 1, maxFailuresWindow)
		}
		a := e.firstArchive(Failures)
		if a < 0 {
			return errors.New("Failures RRA does not exist in this RRD")
		}
		r := &e.spec.RRA[a]
		if opt == "threshold" {
			r.HW.Threshold = v
		} else {
			r.HW.WindowLen = v
		}
		// rrdtool does not check the window against the threshold here; a
		// window shorter than the threshold never reports a failure
		for d := range e.spec.DS {
			e.eraseViolations(a, d)
		}
		return nil
	}
	v, ok := strtodbl(arg)
	smooth := opt == "smooth" || opt == "smoothdev"
	var bumped bool
	if smooth && e.spec.RRDVersion() < 4 {
		// rrdtool makes the file version 0004 before it checks the value
		// (and keeps it when the check fails): here the version follows
		// from an explicit window
		for i := range e.spec.RRA {
			if c := e.spec.RRA[i].CF; c == Seasonal || c == DevSeasonal {
				e.spec.RRA[i].HW.ExplicitWindow, bumped = true, true
				break
			}
		}
	}
	fail := func(err error) error {
		if bumped {
			return &PartialError{Err: err}
		}
		return err
	}
	switch {
	case ok == 0:
		return fail(errors.New("Unable to parse Holt-Winters parameter"))
	case smooth && (v < 0 || v > 1), !smooth && (v <= 0 || v >= 1):
		return fail(errors.New("Holt-Winters parameter must be between 0 and 1"))
	}
	var a int
	switch opt {
	case "alpha", "beta":
		if a = e.firstArchive(HWPredict); a < 0 {
			a = e.firstArchive(MHWPredict)
		}
	case "gamma", "smooth":
		a = e.firstArchive(Seasonal)
	default:
		a = e.firstArchive(DevSeasonal)
	}
	if a < 0 {
		return fail(errNoHW)
	}
	h := &e.spec.RRA[a].HW
	switch opt {
	case "alpha":
		h.Alpha = v
	case "beta":
		h.Beta = v
	case "gamma", "gammadev":
		h.Gamma = v
	default:
		// a smoothing window makes the file version 0004
		h.SmoothingWindow, h.ExplicitWindow = v, true
	}
	return nil
}

// eraseViolations clears the FAILURES history of data source d.
func (e *SeriesEdit) eraseViolations(a, d int) {
	w := &e.st.hw.words[a*len(e.spec.DS)+d]
	for i := int(e.spec.RRA[a].HW.WindowLen); i > 0; i-- {
		w.setHistoryByte(i-1, 0)
	}
}

// AberrantReset forgets what the Holt-Winters archives learnt of data
// source ds (tune --aberrant-reset, reset_aberrant_coefficients): the
// intercept and slope, the seasonal coefficients and deviations (their
// rows become unknown; the burn-in count stays), the violation history.
func (e *SeriesEdit) AberrantReset(ds string) error {
	// sscanf's %19[a-zA-Z0-9_-]: the leading name characters
	n := 0
	for n < len(ds) && n < MaxDSName && (ds[n] >= 'a' && ds[n] <= 'z' || ds[n] >= 'A' && ds[n] <= 'Z' || ds[n] >= '0' && ds[n] <= '9' || ds[n] == '_' || ds[n] == '-') {
		n++
	}
	if n == 0 {
		return errors.New("invalid argument for aberrant-reset")
	}
	d, err := e.ds(ds[:n])
	if err != nil {
		return err
	}
	if e.st.hw == nil {
		return nil
	}
	nds := len(e.spec.DS)
	nan := math.Float64bits(math.NaN())
	for a, r := range e.spec.RRA {
		w := &e.st.hw.words[a*nds+d]
		switch r.CF {
		case HWPredict, MHWPredict:
			w[hwIntercept], w[hwLastIntercept], w[hwSlope], w[hwLastSlope] = nan, nan, nan, nan
			w[hwNullCount], w[hwLastNullCount] = 1, 1
		case Seasonal, DevSeasonal:
			w[hwSeasonal], w[hwLastSeasonal] = nan, nan
			for row := int64(0); row < r.Rows; row++ {
				e.rings[a][row*int64(nds)+int64(d)] = math.NaN()
				e.st.hw.seas[a][row*int64(nds)+int64(d)] = math.NaN()
			}
		case Failures:
			e.eraseViolations(a, d)
		}
	}
	return nil
}
