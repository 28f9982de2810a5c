package store

// Differential test: random series definitions and update streams are run
// through the real rrdtool 1.7.2 binary and through this package; the
// resulting files are compared value by value (exact doubles, read from
// rrdtool's binary file), and random fetches are compared with rrdtool
// fetch's output.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

type diffCase struct {
	spec    Spec
	chunks  [][]string // update arguments, one rrdtool call per chunk
	fetches []FetchRequest
}

const epoch0 = 1_000_000_000

var xffChoices = []float64{0, 0.1, 0.5, 0.9, 0.99}

func genCase(r *rand.Rand) diffCase { return genCaseTypes(r, 4) }

// genCaseTypes draws data source types from the first types of GAUGE,
// COUNTER, DERIVE, ABSOLUTE, DCOUNTER, DDERIVE.
func genCaseTypes(r *rand.Rand, types int) diffCase {
	var c diffCase
	steps := []int64{1, 5, 10, 60, 300}
	c.spec.Step = steps[r.IntN(len(steps))]
	c.spec.Start = epoch0 + r.Int64N(10*c.spec.Step)
	nds := 1 + r.IntN(4)
	for i := 0; i < nds; i++ {
		ds := DS{Name: fmt.Sprintf("d%d", i), Type: DSType(1 + r.IntN(types)), Min: math.NaN(), Max: math.NaN()}
		hbMul := []float64{0.5, 1, 1.5, 2, 3, 10}[r.IntN(6)]
		ds.Heartbeat = max(1, int64(float64(c.spec.Step)*hbMul))
		switch r.IntN(5) {
		case 0:
			ds.Min = 0
		case 1:
			ds.Min, ds.Max = -50, 200
		case 2:
			ds.Max = 1000
		}
		c.spec.DS = append(c.spec.DS, ds)
	}
	nrra := 1 + r.IntN(5)
	for i := 0; i < nrra; i++ {
		c.spec.RRA = append(c.spec.RRA, RRA{CF: CF(1 + r.IntN(4)), XFF: xffChoices[r.IntN(len(xffChoices))],
			Steps: []int64{1, 1, 2, 3, 5, 12}[r.IntN(6)], Rows: 1 + r.Int64N(60)})
	}
	counters := make([]uint64, nds)
	derive := make([]int64, nds)
	fcount := make([]float64, nds)
	for i := range counters {
		counters[i] = r.Uint64N(1 << 40)
		if r.IntN(4) == 0 {
			counters[i] = math.MaxUint32 - r.Uint64N(1000)
		}
		derive[i] = r.Int64N(200) - 100
	}
	t := float64(c.spec.Start)
	n := 20 + r.IntN(300)
	var chunk []string
	for u := 0; u < n; u++ {
		st := float64(c.spec.Step)
		switch k := r.IntN(20); {
		case k < 10:
			t += math.Ceil(st * r.Float64() * 1.2)
		case k < 14:
			t += st
		case k < 16:
			t += float64(1 + r.IntN(3))
		case k < 17:
			t += st * float64(2+r.IntN(8))
		case k < 18:
			t += st * float64(20+r.IntN(200)) // a gap past heartbeats and rings
		case k < 19:
			t += 0.25 * float64(1+r.IntN(8)) // sub-second timestamps
		default:
			t += math.Ceil(st/2) + 1
		}
		if t == math.Floor(t) && r.IntN(3) == 0 {
			t += 0 // keep integer
		}
		vals := make([]string, nds)
		for d, ds := range c.spec.DS {
			if r.IntN(15) == 0 {
				vals[d] = "U"
				continue
			}
			switch ds.Type {
			case Gauge, Absolute:
				switch r.IntN(12) {
				case 0:
					vals[d] = strconv.Itoa(r.IntN(2000) - 500)
				case 1:
					vals[d] = "1e3"
				case 2:
					vals[d] = fmt.Sprintf("%d.%06d", r.IntN(100), r.IntN(1000000))
				case 3:
					vals[d] = []string{"inf", "-inf", "1e300", "nan"}[r.IntN(4)]
				default:
					vals[d] = strconv.FormatFloat(float64(r.IntN(200000)-20000)/1000, 'f', -1, 64)
				}
			case Counter:
				switch r.IntN(20) {
				case 0: // reset
					counters[d] = r.Uint64N(100)
				case 1: // 64-bit wrap
					counters[d] = math.MaxUint64 - r.Uint64N(1000)
				default:
					counters[d] += r.Uint64N(uint64(c.spec.Step) * 300)
				}
				vals[d] = strconv.FormatUint(counters[d], 10)
			case Derive:
				derive[d] += r.Int64N(600) - 250
				vals[d] = strconv.FormatInt(derive[d], 10)
			case DCounter:
				switch r.IntN(12) {
				case 0: // reset
					fcount[d] = r.Float64() * 10
				case 1: // counting down, below zero
					fcount[d] = -math.Abs(fcount[d]) - r.Float64()*100
				default:
					fcount[d] += r.Float64() * float64(c.spec.Step) * 30 * math.Copysign(1, fcount[d]+0.5)
				}
				vals[d] = strconv.FormatFloat(fcount[d], 'f', r.IntN(7), 64)
			case DDerive:
				fcount[d] += (r.Float64() - 0.45) * 500
				vals[d] = strconv.FormatFloat(fcount[d], 'g', -1, 64)
				if r.IntN(20) == 0 {
					vals[d] = "1.5e3"
				}
			}
		}
		chunk = append(chunk, strconv.FormatFloat(t, 'f', -1, 64)+":"+strings.Join(vals, ":"))
		if len(chunk) >= 1+r.IntN(200) {
			c.chunks = append(c.chunks, chunk)
			chunk = nil
		}
	}
	if len(chunk) > 0 {
		c.chunks = append(c.chunks, chunk)
	}
	last := int64(t)
	for i := 0; i < 6; i++ {
		var q FetchRequest
		q.CF = CF(1 + r.IntN(4))
		q.End = last - r.Int64N(max(1, last-c.spec.Start)) + r.Int64N(3*c.spec.Step)
		q.Start = q.End - 1 - r.Int64N(c.spec.Step*100)
		q.Resolution = []int64{1, c.spec.Step, 2 * c.spec.Step, 3 * c.spec.Step, 12 * c.spec.Step, 7}[r.IntN(6)]
		q.AlignStart = r.IntN(4) == 0
		c.fetches = append(c.fetches, q)
	}
	return c
}

// fetchText formats a fetch result like rrdtool fetch's rows.
func fetchText(res *FetchResult) string {
	var b strings.Builder
	for i := 0; i < res.Rows(); i++ {
		fmt.Fprintf(&b, "%10d:", res.Start+int64(i+1)*res.Step)
		for d := range res.DS {
			b.WriteString(" " + formatRRDValue(res.Values[d][i]))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// formatRRDValue prints like printf("%0.10e") in glibc.
func formatRRDValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, 'e', 10, 64)
}

// The floating-point counters DCOUNTER and DDERIVE, with the other types,
// through the same comparison as TestDifferentialAgainstRRDtool.
func TestDifferentialFloatCounters(t *testing.T) {
	h := newRRDtoolHarness(t)
	t.Parallel()
	cases := shortOr(60, 20)
	var stats diffStats
	nFetches := 0
	for i := 0; i < cases; i++ {
		c := genCaseTypes(rand.New(rand.NewPCG(20261203, uint64(i))), 6)
		_, n := h.runDiffCase(t, fmt.Sprintf("case %d", i), c, h.path("f%d.rrd", i), &stats, diffOpts{})
		nFetches += n
	}
	t.Logf("%d cases, %d values compared bit for bit, %d fetches", cases, stats.exact, nFetches)
}

func TestDifferentialAgainstRRDtool(t *testing.T) {
	h := newRRDtoolHarness(t)
	t.Parallel()
	cases := shortOr(150, 30)
	if s := os.Getenv("RRDASH_DIFF_CASES"); s != "" {
		cases, _ = strconv.Atoi(s)
	}
	seed := uint64(20261122)
	if s := os.Getenv("RRDASH_DIFF_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	var nUpdates, nFetches int
	var stats diffStats
	for i := 0; i < cases; i++ {
		c := genCase(rand.New(rand.NewPCG(seed, uint64(i))))
		// a case that fails is reported, and the others still run
		t.Run(fmt.Sprintf("case%d", i), func(t *testing.T) {
			u, f := h.runDiffCase(t, fmt.Sprintf("case %d (seed %d)", i, seed), c, h.path("c%d.rrd", i), &stats, diffOpts{})
			nUpdates, nFetches = nUpdates+u, nFetches+f
		})
	}
	t.Logf("%d cases, %d updates, %d values compared bit for bit, %d fetches", cases, nUpdates, stats.exact, nFetches)
}

func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d: rrdtool %q, ours %q (rrdtool %d lines, ours %d)", i, a, b, len(w), len(g))
		}
	}
	return ""
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed)) }
