package store

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestOneDSPathMatchesGeneric: consolidate1, which writes the rows too (one data
// source, no Holt-Winters archive: the modulo once per run of archives of
// one step count, accumulation per function, only the archives with a row
// due visited) leave the same state and rows, bit for bit, as the generic
// consolidate and writeRows, over random archive lists (step counts in and
// out of order, every function, rings shorter than a gap) and random
// readings (unknown, ±Inf, ±0, NaN, gaps, sub-second times, several steps
// at once, beyond the heartbeat).
func TestOneDSPathMatchesGeneric(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(24, 9))
	cfs := []string{"AVERAGE", "MIN", "MAX", "LAST"}
	for iter := range 120 {
		types := []string{"GAUGE", "COUNTER", "DERIVE", "ABSOLUTE", "DCOUNTER", "DDERIVE"}
		args := []string{fmt.Sprintf("DS:v:%s:%d:U:U", types[rng.IntN(len(types))], 60+rng.IntN(600))}
		for range 1 + rng.IntN(20) {
			steps := []int{1, 1, 2, 3, 5, 12, 60}[rng.IntN(7)]
			args = append(args, fmt.Sprintf("RRA:%s:%.2f:%d:%d", cfs[rng.IntN(4)], rng.Float64()*0.99, steps, 1+rng.IntN(40)))
		}
		step := int64([]int{1, 10, 60}[rng.IntN(3)])
		spec, err := ParseSpecArgs(step, 1795356000+int64(rng.IntN(100)), args)
		if err != nil {
			t.Fatal(err)
		}
		fast, err := NewRRD(spec)
		if err != nil {
			t.Fatal(err)
		}
		slow, _ := NewRRD(spec)
		slow.eng.generic = true
		if !fast.eng.one() || slow.eng.one() {
			t.Fatalf("one(): fast %v, generic %v", fast.eng.one(), slow.eng.one())
		}
		tm, usec := spec.Start, int64(0)
		for u := range 400 {
			switch rng.IntN(10) {
			case 0:
				tm += step * int64(2+rng.IntN(30)) // a gap of several steps
			case 1:
				usec = int64(rng.IntN(1000000))
				tm += int64(rng.IntN(int(step) + 1))
			default:
				tm += step
			}
			v := rng.NormFloat64() * 100
			switch rng.IntN(20) {
			case 0:
				v = math.NaN()
			case 1:
				v = math.Inf(1 - 2*rng.IntN(2))
			case 2:
				v = math.Copysign(0, -1)
			case 3:
				v = 0
			case 4:
				v = float64(u * 1000)
			}
			if iter%4 == 0 { // signed zeros in runs: MIN and MAX of +0 and −0
				v = []float64{0, math.Copysign(0, -1), 1, -1}[rng.IntN(4)]
				if rng.IntN(3) > 0 {
					v = math.Copysign(0, float64(1-2*((u/7)%2)))
				}
			}
			ef := fast.eng.updateNum(tm, usec, []float64{v})
			es := slow.eng.updateNum(tm, usec, []float64{v})
			if (ef == nil) != (es == nil) {
				t.Fatalf("iter %d update %d: errors differ: %v vs %v", iter, u, ef, es)
			}
			rows := u%25 == 0 || u == 399
			if got, want := engineBits(fast, rows), engineBits(slow, rows); got != want {
				t.Fatalf("iter %d (%v) update %d (t %d.%06d, %v): state or rows differ:\n one-DS  %s\n generic %s", iter, args, u, tm, usec, v, got, want)
			}
		}
	}
}

// engineBits is a series' consolidation state and (withRows) rows, as bits.
func engineBits(r *RRD, withRows bool) string {
	out := fmt.Sprint(r.st.lastUp, r.st.lastUpUsec, r.st.curRow, r.eng.stepCnt)
	for _, c := range r.st.cdp {
		out += fmt.Sprintf(" %x/%x/%x/%d", math.Float64bits(c.val), math.Float64bits(c.primary), math.Float64bits(c.secondary), c.unknPDP)
	}
	for _, d := range r.st.ds {
		out += fmt.Sprintf(" %q %x %x %d", d.lastDS, math.Float64bits(d.lastNum), math.Float64bits(d.val), d.unknSec)
	}
	for a := range r.spec.RRA {
		if !withRows {
			break
		}
		for _, v := range r.rows.ring(a) {
			out += fmt.Sprintf(" %x", math.Float64bits(v))
		}
	}
	return out
}

// TestOneDSArchiveRowsMatchGeneric: a series in a DB (its rows appended
// to runs by consolidate1 itself, fill-in rows, rings that wrap inside a
// batch, several batches between flushes) ends up with the state and rows
// of the generic path in memory, bit for bit.
func TestOneDSArchiveRowsMatchGeneric(t *testing.T) {
	t.Parallel()
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(22, 24))
	cfs := []string{"AVERAGE", "MIN", "MAX", "LAST"}
	for iter := range 12 {
		args := []string{"DS:v:GAUGE:600:U:U"}
		for range 1 + rng.IntN(10) {
			steps := []int{1, 1, 2, 5, 12}[rng.IntN(5)]
			args = append(args, fmt.Sprintf("RRA:%s:0.5:%d:%d", cfs[rng.IntN(4)], steps, 1+rng.IntN(12)))
		}
		step := int64([]int{1, 10, 60}[rng.IntN(3)])
		spec, err := ParseSpecArgs(step, 1795356000, args)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("s%d", iter)
		if err := db.Create(name, spec, false); err != nil {
			t.Fatal(err)
		}
		slow, _ := NewRRD(spec)
		slow.eng.generic = true
		tm := spec.Start
		for batch := range 30 {
			var ups []Update
			for range 1 + rng.IntN(40) {
				if rng.IntN(8) == 0 {
					tm += step * int64(2+rng.IntN(20)) // several rows per archive
				} else {
					tm += step
				}
				v := rng.NormFloat64() * 100
				if rng.IntN(15) == 0 {
					v = math.NaN()
				}
				ups = append(ups, Update{Series: name, Time: tm, Nums: []float64{v}})
				if err := slow.eng.updateNum(tm, 0, []float64{v}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := db.Apply(t.Context(), Batch{Updates: ups}); err != nil {
				t.Fatal(err)
			}
			got, err := db.Dump(name)
			if err != nil {
				t.Fatal(err)
			}
			want := dumpState(&slow.spec, slow.st, slow.rows.ring)
			if g, w := fmt.Sprint(got.RRA, got.DS), fmt.Sprint(want.RRA, want.DS); g != w {
				t.Fatalf("iter %d (%v) batch %d: archive-backed one-DS path differs:\n got  %s\n want %s", iter, args, batch, g, w)
			}
		}
	}
}
