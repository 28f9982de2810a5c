// Package statsd receives statsd lines on UDP and TCP with the semantics
// of Etsy's statsd 0.9 (npm statsd), aggregates them per flush interval —
// the step of the series the writer creates — and writes the aggregates
// through push's durable writer under statsd's Graphite names
// (legacyNamespace false): stats.counters.<key>.count and .rate,
// stats.gauges.<key>, stats.sets.<key>.count, stats.timers.<key>.<stat>.
// DogStatsD tags (|#k:v) become Graphite tags.
//
// Arithmetic follows statsd's order of operations (sorted sums, 1/rate
// products, JavaScript's rounding of percentile counts), so each flushed
// value equals statsd's to the last bit; reference_test.go checks that
// against the real daemon.
//
// Nothing is acknowledged: a crash loses the values aggregated since the
// last flush, and UDP datagrams the kernel drops (receive buffer full) are
// lost; see the README for the details.
package statsd
