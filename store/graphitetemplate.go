package store

import "math"

// GraphiteTemplate is the spec of series that Graphite-like sources
// (plaintext, pickle, statsd) create on first sight when no retention rule
// lays them out: what a Graphite user gets from carbon with a
// `retentions = 1m:2d,5m:2w,1h:13M,1d:10y` schema and carbon's default
// aggregation (`aggregationMethod = average`, `xFilesFactor = 0.5`) —
// GAUGE "value", step 60 s, heartbeat 600 s, AVERAGE only at 1m×2d,
// 5m×2w, 1h×13 months, 1d×10 years. Graphite's functions read one value
// per slot, and carbon keeps one aggregate per archive; MIN, MAX and LAST
// per pattern are a retention rule's business (storage-aggregation.conf
// style), not every series'. Full, a series takes 168 KB (whisper: 243 KB
// for the same retention; DefaultTemplate's four functions: 660 KB), and
// each point writes a quarter of the rows. Start is left for the caller.
func GraphiteTemplate() Spec {
	s := Spec{Step: 60, DS: []DS{{Name: "value", Type: Gauge, Heartbeat: 600, Min: math.NaN(), Max: math.NaN()}}}
	for _, a := range [][2]int64{{1, 2880}, {5, 4032}, {60, 9672}, {1440, 3660}} {
		s.RRA = append(s.RRA, RRA{CF: Average, XFF: 0.5, Steps: a[0], Rows: a[1]})
	}
	return s
}
