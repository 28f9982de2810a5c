package main

import (
	"bufio"
	"fmt"

	"rrdash/store"
)

// writeHWInfo prints a Holt-Winters archive's keys as rrdtool info
// (rrd_info.c) does; version is the file version.
func writeHWInfo(w *bufio.Writer, i int, r store.RRAInfo, version int) {
	h := r.HW
	fmt.Fprintf(w, "rra[%d].cf = %q\nrra[%d].rows = %d\nrra[%d].cur_row = %d\nrra[%d].pdp_per_row = %d\n", i, r.CF, i, r.Rows, i, r.CurRow, i, r.Steps)
	cf, _ := store.ParseCF(r.CF)
	switch cf {
	case store.HWPredict, store.MHWPredict:
		fmt.Fprintf(w, "rra[%d].alpha = %s\nrra[%d].beta = %s\n", i, infoValue(h.Alpha), i, infoValue(h.Beta))
	case store.Seasonal, store.DevSeasonal:
		fmt.Fprintf(w, "rra[%d].gamma = %s\n", i, infoValue(h.Gamma))
		if version >= 4 {
			fmt.Fprintf(w, "rra[%d].smoothing_window = %s\n", i, infoValue(h.SmoothingWindow))
		}
	case store.Failures:
		fmt.Fprintf(w, "rra[%d].delta_pos = %s\nrra[%d].delta_neg = %s\nrra[%d].failure_threshold = %d\nrra[%d].window_length = %d\n",
			i, infoValue(h.DeltaPos), i, infoValue(h.DeltaNeg), i, h.Threshold, i, h.WindowLen)
	}
	for d, c := range r.CDP {
		x := c.HW
		switch cf {
		case store.HWPredict, store.MHWPredict:
			fmt.Fprintf(w, "rra[%d].cdp_prep[%d].intercept = %s\nrra[%d].cdp_prep[%d].slope = %s\nrra[%d].cdp_prep[%d].NaN_count = %d\n",
				i, d, infoValue(x.Float(store.HWIntercept)), i, d, infoValue(x.Float(store.HWSlope)), i, d, x[store.HWNullCount])
		case store.Seasonal:
			fmt.Fprintf(w, "rra[%d].cdp_prep[%d].seasonal = %s\n", i, d, infoValue(x.Float(store.HWIntercept)))
		case store.DevSeasonal:
			fmt.Fprintf(w, "rra[%d].cdp_prep[%d].deviation = %s\n", i, d, infoValue(x.Float(store.HWIntercept)))
		case store.Failures:
			hist := x.History(int(h.WindowLen))
			for k := range hist {
				hist[k] = '0' + hist[k]&1
			}
			fmt.Fprintf(w, "rra[%d].cdp_prep[%d].history = %q\n", i, d, hist)
		}
	}
}
