package store

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestAppendRecordFastPath: appendRecord's one-append encoding of a
// series' next short reading gives the generic encoding's bytes, at and
// around its edges (5-byte times, value lengths, Usec, failed, numeric,
// several values), and decodes back.
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
			case 0:
				u.Nums = []float64{rng.Float64()}
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
			want = appendUpdate(want, &rec.updates[i], i > 0 && rec.updates[i].Series == rec.updates[i-1].Series)
		}
		want = binary.AppendUvarint(want, 0)
		if !bytes.Equal(got, want) {
			t.Fatalf("round %d: %+v\nfast    %x\ngeneric %x", round, rec.updates, got, want)
		}
		back, err := decodeRecord(got)
		if err != nil || len(back.updates) != len(rec.updates) {
			t.Fatalf("round %d: decoded %d updates, %v", round, len(back.updates), err)
		}
		for i, u := range back.updates {
			w := rec.updates[i]
			if u.Series != w.Series || u.Time != w.Time || u.Usec != w.Usec || u.failed != w.failed || strings.Join(u.Values, ":") != strings.Join(w.Values, ":") || len(u.Nums) != len(w.Nums) {
				t.Fatalf("round %d update %d: decoded %+v, want %+v", round, i, u, w)
			}
		}
	}
}
