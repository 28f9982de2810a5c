package store

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestAppendRecordFastPath: appendRecord's one-append encoding of a
// series' next short reading gives the generic encoding's bytes, at and
// around its edges (5-byte times, value lengths, Usec, failed, numeric,
// several values, one number or several), and decodes back; applyAsync's
// picks from a batch give the same bytes.
func TestAppendRecordFastPath(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	times := []int64{0, 1, -1, 1<<27 - 1, 1 << 27, 1<<34 - 1, 1 << 34, -1 << 27, -1<<27 - 1, -1 << 34, -1<<34 - 1, 1700000000, 1000000001, 1<<62 + 5}
	vals := []string{"", "1", "U", "-1.5e3", strings.Repeat("9", 127), strings.Repeat("9", 128)}
	for round := range 2000 {
		rec := journalRecord{stopOnError: round%3 == 0}
		series := []string{"a", "b"}
		for k := range 1 + rng.IntN(8) {
			u := journalUpdate{Update: Update{Series: series[rng.IntN(2)], Time: times[rng.IntN(len(times))]}, failed: rng.IntN(4) == 0}
			if k%5 == 4 {
				u.Time = rng.Int64() - rng.Int64()
			}
			if rng.IntN(6) == 0 {
				u.Usec = rng.Int64N(1e6)
			}
			switch rng.IntN(8) {
			case 0, 3: // numbers: the fast path's one, or several
				u.Nums = []float64{rng.NormFloat64() * 1e6}
				if rng.IntN(4) == 0 {
					u.Nums = append(u.Nums, math.Copysign(0, -1))
				}
			case 1:
				u.Values = []string{vals[rng.IntN(len(vals))], "2"}
			default:
				u.Values = []string{vals[rng.IntN(len(vals))]}
			}
			rec.updates = append(rec.updates, u)
		}
		got := appendRecord(nil, &rec)
		// the generic encoding of every update
		want := []byte{0}
		if rec.stopOnError {
			want[0] = 1
		}
		want = binary.AppendUvarint(want, uint64(len(rec.updates)))
		for i := range rec.updates {
			want = appendUpdate(want, &rec.updates[i].Update, rec.updates[i].failed, i > 0 && rec.updates[i].Series == rec.updates[i-1].Series)
		}
		want = binary.AppendUvarint(want, 0)
		if !bytes.Equal(got, want) {
			t.Fatalf("round %d: %+v\nfast    %x\ngeneric %x", round, rec.updates, got, want)
		}
		// applyAsync's form: picks from a batch that also holds updates
		// not journaled (refused), the same bytes
		pk := journalRecord{stopOnError: rec.stopOnError, batch: []Update{}}
		for _, u := range rec.updates {
			if rng.IntN(3) == 0 {
				pk.batch = append(pk.batch, Update{Series: series[rng.IntN(2)], Time: u.Time, Values: []string{"9"}})
			}
			p := uint32(len(pk.batch)) << 1
			if u.failed {
				p |= 1
			}
			pk.batch, pk.picks = append(pk.batch, u.Update), append(pk.picks, p)
		}
		if fromPicks := appendRecord(nil, &pk); !bytes.Equal(fromPicks, got) {
			t.Fatalf("round %d: %+v\npicks   %x\nupdates %x", round, rec.updates, fromPicks, got)
		}
		back, err := decodeRecord(got)
		if err != nil || len(back.updates) != len(rec.updates) {
			t.Fatalf("round %d: decoded %d updates, %v", round, len(back.updates), err)
		}
		for i, u := range back.updates {
			w := rec.updates[i]
			if u.Series != w.Series || u.Time != w.Time || u.Usec != w.Usec || u.failed != w.failed || strings.Join(u.Values, ":") != strings.Join(w.Values, ":") || !slices.Equal(numBits(u.Nums), numBits(w.Nums)) {
				t.Fatalf("round %d update %d: decoded %+v, want %+v", round, i, u, w)
			}
		}
	}
}

// numBits is xs as bits, for comparing numbers exactly (−0, NaN).
func numBits(xs []float64) []uint64 {
	out := make([]uint64, len(xs))
	for i, x := range xs {
		out[i] = math.Float64bits(x)
	}
	return out
}
