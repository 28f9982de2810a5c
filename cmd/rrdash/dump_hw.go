package main

import (
	"bufio"
	"fmt"

	"rrdash/store"
)

// writeHWParams writes a Holt-Winters archive's <params> and opens its
// <cdp_prep>, as rrdtool dump (rrd_dump.c) does; version is the file's.
func writeHWParams(w *bufio.Writer, r store.RRA, version int) {
	h := r.HW
	w.WriteString("\t\t<params>\n")
	switch r.CF {
	case store.HWPredict, store.MHWPredict:
		fmt.Fprintf(w, "\t\t<hw_alpha>%s</hw_alpha>\n\t\t<hw_beta>%s</hw_beta>\n", dumpNum(h.Alpha), dumpNum(h.Beta))
	case store.Seasonal, store.DevSeasonal:
		fmt.Fprintf(w, "\t\t<seasonal_gamma>%s</seasonal_gamma>\n\t\t<seasonal_smooth_idx>%d</seasonal_smooth_idx>\n", dumpNum(h.Gamma), h.SmoothIdx)
		if version >= 4 {
			fmt.Fprintf(w, "\t\t<smoothing_window>%s</smoothing_window>\n", dumpNum(h.SmoothingWindow))
		}
	case store.Failures:
		fmt.Fprintf(w, "\t\t<delta_pos>%s</delta_pos>\n\t\t<delta_neg>%s</delta_neg>\n\t\t<window_len>%d</window_len>\n\t\t<failure_threshold>%d</failure_threshold>\n",
			dumpNum(h.DeltaPos), dumpNum(h.DeltaNeg), h.WindowLen, h.Threshold)
	}
	fmt.Fprintf(w, "\t\t<dependent_rra_idx>%d</dependent_rra_idx>\n\t\t</params>\n\t\t<cdp_prep>\n", h.Dep)
}

// writeHWCDP writes one data source's cdp_prep of a Holt-Winters archive.
func writeHWCDP(w *bufio.Writer, r store.RRA, c store.DumpCDP) {
	fmt.Fprintf(w, "\t\t\t<ds>\n\t\t\t<primary_value>%s</primary_value>\n\t\t\t<secondary_value>%s</secondary_value>\n",
		dumpNum(c.Primary), dumpNum(c.Secondary))
	x := c.HW
	switch r.CF {
	case store.HWPredict, store.MHWPredict:
		fmt.Fprintf(w, "\t\t\t<intercept>%s</intercept>\n\t\t\t<last_intercept>%s</last_intercept>\n\t\t\t<slope>%s</slope>\n\t\t\t<last_slope>%s</last_slope>\n\t\t\t<nan_count>%d</nan_count>\n\t\t\t<last_nan_count>%d</last_nan_count>\n",
			dumpNum(x.Float(store.HWIntercept)), dumpNum(x.Float(store.HWLastIntercept)), dumpNum(x.Float(store.HWSlope)),
			dumpNum(x.Float(store.HWLastSlope)), x[store.HWNullCount], x[store.HWLastNullCount])
	case store.Seasonal, store.DevSeasonal:
		fmt.Fprintf(w, "\t\t\t<seasonal>%s</seasonal>\n\t\t\t<last_seasonal>%s</last_seasonal>\n\t\t\t<init_flag>%d</init_flag>\n",
			dumpNum(x.Float(store.HWIntercept)), dumpNum(x.Float(store.HWLastIntercept)), x[store.HWNullCount])
	case store.Failures:
		w.WriteString("\t\t\t<history>")
		for _, b := range x.History(int(r.HW.WindowLen)) {
			fmt.Fprintf(w, "%d", b)
		}
		w.WriteString("</history>\n")
	}
	w.WriteString("\t\t\t</ds>\n")
}
