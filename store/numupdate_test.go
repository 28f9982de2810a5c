package store

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestAppendReading(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		x    float64
		t    DSType
		want string
	}{
		{math.NaN(), Gauge, "U"},
		{math.NaN(), Counter, "U"},
		{0, Gauge, "0"},
		{math.Copysign(0, -1), Derive, "0"},
		{42, Gauge, "42"},
		{-42, Derive, "-42"},
		{1.5, Gauge, "1.5"},
		{1.5, Counter, "1.5"}, // refused by COUNTER as this text is
		{1 << 60, Gauge, "1.152921504606847e+18"},
		{1 << 60, Derive, "1152921504606846976"},
		{1 << 70, Counter, "1180591620717411303424"},
		{-(1 << 70), Derive, "-1180591620717411303424"},
		{math.Inf(1), Gauge, "+Inf"},
		{math.Inf(-1), Counter, "-Inf"},
		{1e300, Gauge, "1e+300"},
		{twoTo53 - 1, Gauge, "9007199254740991"},
		{twoTo53, Gauge, "9.007199254740992e+15"},
	} {
		if got := string(AppendReading(nil, c.x, c.t)); got != c.want {
			t.Errorf("AppendReading(%v, %v) = %q, want %q", c.x, c.t, got, c.want)
		}
	}
	if len(lastNumeric) <= lastDSLen {
		t.Fatalf("lastNumeric is %d bytes: a kept text of up to %d could equal it", len(lastNumeric), lastDSLen)
	}
}

// numSpec is a random series definition for the differential test: one
// to three data sources of random types, min and max, and archives of
// every consolidation function.
func numSpec(t *testing.T, r *rand.Rand) Spec {
	types := []string{"GAUGE", "COUNTER", "DERIVE", "ABSOLUTE", "DCOUNTER", "DDERIVE"}
	step := []int64{1, 10, 60}[r.IntN(3)]
	args := []string{}
	for d := range 1 + r.IntN(3) {
		min, max := "U", "U"
		switch r.IntN(4) {
		case 0:
			min = "0"
		case 1:
			min, max = "-100", "1e6"
		}
		args = append(args, fmt.Sprintf("DS:d%d:%s:%d:%s:%s", d, types[r.IntN(len(types))], step*(2+r.Int64N(3)), min, max))
	}
	if r.IntN(4) == 0 {
		args = append(args, "DS:c:COMPUTE:d0,2,*")
	}
	args = append(args, "RRA:AVERAGE:0.5:1:50", "RRA:MAX:0.5:3:20", "RRA:MIN:0.3:4:20", "RRA:LAST:0.5:2:20", "RRA:AVERAGE:0.9:5:10")
	spec, err := ParseSpecArgs(step, 1_000_000_000, args)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// numReading is a random reading for a data source of type typ after prev
// (NaN: none): counters that rise, fall, wrap and jump past 2^53 and 2^63,
// negative DERIVE, non-integers, NaN, ±Inf and −0. GAUGE-like readings
// are ones whose shortest text rrd_strtod reads back exactly (where it
// does not, the numeric path takes the number itself: TestNumericTakesTheNumber).
func numReading(r *rand.Rand, typ DSType, prev float64) float64 {
	switch r.IntN(20) {
	case 0:
		return math.NaN()
	case 1:
		return math.Inf(1 - 2*r.IntN(2))
	case 2:
		return math.Copysign(0, -1)
	case 3:
		return float64(r.Int64N(1000)) + 0.5
	}
	switch typ {
	case Counter, Derive:
		if math.IsNaN(prev) || math.IsInf(prev, 0) || prev != math.Trunc(prev) {
			prev = 0
		}
		switch r.IntN(12) {
		case 0: // near and past 2^63 and 2^64
			return math.Ldexp(1, 62+r.IntN(4)) + float64(r.Int64N(1<<20))*1024*float64(1-2*r.IntN(2))
		case 1: // huge, beyond rrd_diff's 30 digits sometimes
			return math.Ldexp(float64(1+r.Int64N(1<<52)), 20+r.IntN(60))
		case 2: // a fall: a wrap for COUNTER, a negative rate for DERIVE
			return math.Max(0, prev-float64(r.Int64N(1e6)))
		case 3: // past 2^53 above the previous one
			return prev + math.Ldexp(1, 53+r.IntN(3)) + float64(r.Int64N(1<<20))
		case 7, 8: // every bit of the mantissa set at random, 2^52 to 2^63: rrd_diff's
			// digits read back by rrd_strtod differ from the IEEE difference for a third of such pairs
			return math.Ldexp(float64(1<<52+r.Int64N(1<<52)), r.IntN(11))
		case 4, 5: // negative (DERIVE; COUNTER refuses)
			return -float64(r.Int64N(1 << 40))
		case 6: // a 32-bit counter's wrap
			return float64(r.Int64N(1000))
		}
		return prev + float64(r.Int64N(1e7))
	}
	for {
		var x float64
		switch r.IntN(4) {
		case 0:
			x = float64(r.Int64N(1e9) - 5e8)
		case 1:
			x = float64(r.Int64N(1e6)) / 1000
		case 2:
			x = r.NormFloat64() * 1e4
		default:
			x = math.Ldexp(r.Float64(), r.IntN(200)-100)
		}
		if v, err := parseReading(string(AppendReading(nil, x, typ))); err == nil && v == x {
			return x
		}
	}
}

// TestNumericMatchesText: random updates of random series, as text
// (AppendReading's) into one series and as numbers into its twin, give
// bit-identical archives, states, fetches and refusals, also after the
// store is reopened from its journal and files.
func TestNumericMatchesText(t *testing.T) {
	t.Parallel()
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(seed, 24))
			dir := t.TempDir()
			db, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			spec := numSpec(t, r)
			for _, n := range []string{"text", "num"} {
				if err := db.Create(n, spec, false); err != nil {
					t.Fatal(err)
				}
			}
			nin := len(spec.InputIndexes())
			prev := make([]float64, len(spec.DS))
			for i := range prev {
				prev[i] = math.NaN()
			}
			tm, usec := spec.Start, int64(0)
			for k := range 300 {
				switch r.IntN(10) {
				case 0: // a gap past the heartbeat
					tm += spec.Step * (3 + r.Int64N(20))
				case 1: // sub-second
					if usec < 999_000 {
						usec += 1 + r.Int64N(999_000-usec)
						break
					}
					fallthrough
				default:
					tm += 1 + r.Int64N(spec.Step*2)
					usec = 0
				}
				if r.IntN(4) == 0 {
					usec = r.Int64N(1e6)
				}
				nums := make([]float64, len(spec.DS))
				vals := make([]string, len(spec.DS))
				for d := range spec.DS {
					x := math.NaN()
					if d < nin {
						x = numReading(r, spec.DS[d].Type, prev[d])
					}
					if spec.DS[d].Type == Compute {
						x = math.NaN() // rrdtool's COMPUTE takes no reading: "U"
					}
					nums[d], vals[d] = x, string(AppendReading(nil, x, spec.DS[d].Type))
					if !math.IsNaN(x) {
						prev[d] = x
					}
				}
				b := Batch{Updates: []Update{{Series: "text", Time: tm, Usec: usec, Values: vals}, {Series: "num", Time: tm, Usec: usec, Nums: nums}}}
				res, err := db.Apply(context.Background(), b)
				if err != nil {
					t.Fatal(err)
				}
				var errs [2]string
				for _, e := range res.Errors {
					errs[e.Index] = strings.TrimPrefix(strings.TrimPrefix(e.Error(), "text: "), "num: ")
				}
				if errs[0] != errs[1] {
					t.Fatalf("update %d %v / %v: text refused with %q, numbers with %q", k, vals, nums, errs[0], errs[1])
				}
			}
			compareTwins(t, db, "text", "num", "live")
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db, err = Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			compareTwins(t, db, "text", "num", "reopened")
		})
	}
}

// compareTwins fails unless series a and b hold bit-identical state, rows
// and fetches.
func compareTwins(t *testing.T, db *DB, a, b, when string) {
	t.Helper()
	da, err := db.Dump(a)
	if err != nil {
		t.Fatal(err)
	}
	dbb, err := db.Dump(b)
	if err != nil {
		t.Fatal(err)
	}
	if !sameBits(reflect.ValueOf(da), reflect.ValueOf(dbb)) {
		t.Fatalf("%s: dumps differ:\n%s: %+v\n%s: %+v", when, a, da.DS, b, dbb.DS)
	}
	for i, rra := range da.Spec.RRA {
		req := FetchRequest{CF: rra.CF, Start: da.LastUpdate - da.Spec.Step*rra.Steps*rra.Rows, End: da.LastUpdate, Resolution: da.Spec.Step * rra.Steps}
		fa, err := db.Fetch(a, req)
		if err != nil {
			t.Fatal(err)
		}
		fb, err := db.Fetch(b, req)
		if err != nil {
			t.Fatal(err)
		}
		if !sameBits(reflect.ValueOf(fa), reflect.ValueOf(fb)) {
			t.Fatalf("%s: fetch of archive %d differs:\n%s: %v\n%s: %v", when, i, a, fa.Values, b, fb.Values)
		}
	}
}

// sameBits is reflect.DeepEqual with floats compared by their bits (NaN
// equals NaN, −0 differs from 0).
func sameBits(x, y reflect.Value) bool {
	if x.Kind() != y.Kind() {
		return false
	}
	switch x.Kind() {
	case reflect.Float64, reflect.Float32:
		return math.Float64bits(x.Float()) == math.Float64bits(y.Float())
	case reflect.Pointer, reflect.Interface:
		if x.IsNil() || y.IsNil() {
			return x.IsNil() == y.IsNil()
		}
		return sameBits(x.Elem(), y.Elem())
	case reflect.Slice, reflect.Array:
		if x.Len() != y.Len() {
			return false
		}
		for i := range x.Len() {
			if !sameBits(x.Index(i), y.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := range x.NumField() {
			if !sameBits(x.Field(i), y.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if x.Len() != y.Len() {
			return false
		}
		for _, k := range x.MapKeys() {
			if !sameBits(x.MapIndex(k), y.MapIndex(k)) {
				return false
			}
		}
		return true
	}
	if x.CanInterface() && y.CanInterface() {
		return reflect.DeepEqual(x.Interface(), y.Interface())
	}
	return fmt.Sprint(x) == fmt.Sprint(y)
}

// TestNumericTakesTheNumber: a GAUGE reading whose shortest text
// rrd_strtod rounds differently is stored as the number itself by the
// numeric path; −0 is 0; NaN is unknown.
func TestNumericTakesTheNumber(t *testing.T) {
	t.Parallel()
	// find a double rrd_strtod misreads from its shortest text
	odd := math.NaN()
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		x := r.NormFloat64() * 1e3
		if v, _ := parseReading(string(AppendReading(nil, x, Gauge))); v != x {
			odd = x
			break
		}
	}
	if math.IsNaN(odd) {
		t.Fatal("no double whose shortest text rrd_strtod misreads")
	}
	for _, c := range []struct {
		x    float64
		want float64
	}{{odd, odd}, {math.Copysign(0, -1), 0}, {math.NaN(), math.NaN()}, {math.Inf(-1), math.Inf(-1)}} {
		spec, err := ParseSpecArgs(1, 1_000_000_000, []string{"DS:g:GAUGE:10:U:U", "RRA:LAST:0.5:1:10"})
		if err != nil {
			t.Fatal(err)
		}
		db, err := Open(t.TempDir(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Create("g", spec, false); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Apply(context.Background(), Batch{Updates: []Update{{Series: "g", Time: 1_000_000_001, Nums: []float64{c.x}}}}); err != nil {
			t.Fatal(err)
		}
		res, err := db.Fetch("g", FetchRequest{CF: Last, Start: 1_000_000_000, End: 1_000_000_001})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Column("g")[0]; math.Float64bits(got) != math.Float64bits(c.want) && !(math.IsNaN(got) && math.IsNaN(c.want)) {
			t.Errorf("reading %v (%b): stored %v (%b), want %v", c.x, math.Float64bits(c.x), got, math.Float64bits(got), c.want)
		}
		db.Close()
	}
}

// TestNumericUpdateRefusals: a numeric update gives the text path's
// errors, and one with both kinds of readings is refused without effect.
func TestNumericUpdateRefusals(t *testing.T) {
	t.Parallel()
	spec, err := ParseSpecArgs(10, 999, []string{"DS:c:COUNTER:20:U:U", "RRA:LAST:0.5:1:10"})
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Create("c", spec, false); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		u    Update
		want string
	}{
		{Update{Series: "c", Time: 1000, Nums: []float64{1.5}}, "not a simple unsigned integer: '1.5'"},
		{Update{Series: "c", Time: 1000, Nums: []float64{-3}}, "not a simple unsigned integer: '-3'"},
		{Update{Series: "c", Time: 1000, Nums: []float64{math.Inf(1)}}, "not a simple unsigned integer: '+Inf'"},
		{Update{Series: "c", Time: 1000, Nums: []float64{1, 2}}, "expected 1 data source readings (got 2)"},
		{Update{Series: "c", Time: 1000, Nums: []float64{1}, Values: []string{"1"}}, errBothReadings.Error()},
	} {
		res, err := db.Apply(context.Background(), Batch{Updates: []Update{c.u}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), c.want) {
			t.Errorf("%+v: errors %v, want %q", c.u, res.Errors, c.want)
		}
	}
	if last, err := db.LastUpdate("c"); err != nil || last != 999 {
		t.Errorf("last update %d %v after refusals, want 999", last, err)
	}
}

// TestNumericJournalRecords: numeric updates round-trip through the
// journal record encoding, and a record of the text encoding (journals
// written before numeric updates) still decodes.
func TestNumericJournalRecords(t *testing.T) {
	t.Parallel()
	rec := journalRecord{updates: []journalUpdate{
		{Update: Update{Series: "a", Time: 5, Usec: 7, Nums: []float64{1, math.NaN(), math.Inf(-1), -0.5}}},
		{Update: Update{Series: "b", Time: 6, Values: []string{"1", "U"}}, failed: true},
		{Update: Update{Series: "c", Time: 7, Nums: []float64{}}, failed: true},
		{Update: Update{Series: "c", Time: 8, Nums: []float64{2}}},
		{Update: Update{Series: "c", Time: 9, Values: []string{"3"}}},
		{Update: Update{Series: "a", Time: 9, Nums: []float64{2}}},
	}}
	b := encodeRecord(&rec)
	if n := strings.Count(string(b), "c"); n != 1 {
		t.Errorf("series c named %d times in the record, want once (updSameSeries)", n)
	}
	if !recordShape(b) {
		t.Fatal("recordShape refuses a numeric record")
	}
	got, err := decodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if !sameBits(reflect.ValueOf(got.updates), reflect.ValueOf(rec.updates)) {
		t.Fatalf("decoded %+v, want %+v", got.updates, rec.updates)
	}
	// a record as journals before numeric updates were written: flags
	// byte 0, one update "a" at 5.000000 not failed (0) with values "1"
	// and "U", no positions
	old := []byte{0, 1, 1, 'a', 10, 0, 0, 2, 1, '1', 1, 'U', 0}
	got, err = decodeRecord(old)
	if err != nil || !recordShape(old) || len(got.updates) != 1 || !reflect.DeepEqual(got.updates[0].Values, []string{"1", "U"}) || got.updates[0].Nums != nil {
		t.Fatalf("old record: %+v %v", got, err)
	}
	for _, bad := range [][]byte{
		{0, 1, 1, 'a', 10, 0, 4, 0, 0},                      // unknown update flag
		{0, 1, 1, 'a', 10, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0},    // two numbers, 7 bytes
		{0, 1, 0, 10, 0, 4, 0, 0},                           // the previous update's series, first
		{0, 2, 1, 'a', 10, 0, 0, 0, 1, 'a', 12, 0, 4, 0, 0}, // the previous update's series, named
	} {
		if _, err := decodeRecord(bad); err == nil || recordShape(bad) {
			t.Errorf("%v: decoded (%v) or shape passes", bad, err)
		}
	}
}

// TestNumericReplayAfterKill9: a child applies numeric updates to series
// and the same updates as text to twins, one batch per step, printing
// each acknowledged batch, and is killed with SIGKILL at a random moment.
// After a reopen every acknowledged batch is there and each numeric
// series is bit-identical to its text twin (both replayed from the
// journal's numeric and text records).
func TestNumericReplayAfterKill9(t *testing.T) {
	if os.Getenv("RRDASH_STORE_CHILD") == "numeric" {
		numericChild(t, os.Getenv("RRDASH_STORE_CHILD_DIR"))
		return
	}
	t.Parallel()
	for round := range 2 {
		dir := t.TempDir()
		cmd := childCmd(t, "TestNumericReplayAfterKill9", "numeric", dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 5 + rand.IntN(60)
		sc := bufio.NewScanner(out)
		acked := int64(0)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 2 || f[0] != "applied" {
				continue
			}
			if acked, err = strconv.ParseInt(f[1], 10, 64); err != nil {
				t.Fatal(err)
			}
			if acked == int64(killAfter) {
				cmd.Process.Signal(syscall.SIGKILL)
			}
		}
		cmd.Wait()
		if acked == 0 {
			t.Fatalf("round %d: the child acknowledged nothing", round)
		}
		db, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for s := range numericChildSeries {
			name := fmt.Sprint("num", s)
			last, err := db.LastUpdate(name)
			if err != nil {
				t.Fatal(err)
			}
			if last < numericChildStart+acked {
				t.Fatalf("round %d: %s last update %d, acknowledged %d", round, name, last, numericChildStart+acked)
			}
			compareTwins(t, db, fmt.Sprint("text", s), name, fmt.Sprintf("round %d after kill -9", round))
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

const (
	numericChildSeries = 4
	numericChildStart  = 1_000_000_000
)

// numericChild updates counters and gauges, numeric and text twins, a
// second apart, one batch a second, printing the batches acknowledged.
func numericChild(t *testing.T, dir string) {
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ParseSpecArgs(10, numericChildStart, []string{"DS:c:DERIVE:30:U:U", "DS:k:COUNTER:30:U:U", "DS:g:GAUGE:30:U:U", "RRA:AVERAGE:0.5:1:100", "RRA:MAX:0.5:6:10"})
	if err != nil {
		t.Fatal(err)
	}
	for s := range numericChildSeries {
		for _, n := range []string{"num", "text"} {
			if err := db.Create(fmt.Sprint(n, s), spec, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	r := rand.New(rand.NewPCG(7, 24))
	w := bufio.NewWriter(os.Stdout)
	c := make([]float64, numericChildSeries)
	for k := int64(1); ; k++ {
		var b Batch
		for s := range numericChildSeries {
			c[s] += float64(r.Int64N(1 << 40))
			if r.IntN(50) == 0 {
				c[s] = float64(r.Int64N(1000)) // a reset
			}
			nums := []float64{c[s] - 1e12, c[s] + twoTo53, numReading(r, Gauge, 0)}
			vals := make([]string, len(nums))
			for d, x := range nums {
				vals[d] = string(AppendReading(nil, x, spec.DS[d].Type))
			}
			b.Updates = append(b.Updates, Update{Series: fmt.Sprint("num", s), Time: numericChildStart + k, Nums: nums},
				Update{Series: fmt.Sprint("text", s), Time: numericChildStart + k, Values: vals})
		}
		if _, err := db.Apply(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(w, "applied", k)
		w.Flush()
	}
}

// TestNumericGraphiteModel: numeric and text twins of Graphite-model
// series (late points refused, or overwritten) stay bit-identical, gaps
// and late points included.
func TestNumericGraphiteModel(t *testing.T) {
	t.Parallel()
	for _, late := range []string{"", LateOverwrite} {
		t.Run("late="+late, func(t *testing.T) {
			t.Parallel()
			db, err := Open(t.TempDir(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			spec, err := ParseSpecArgs(10, 1_000_000_000, []string{"DS:v:GAUGE:20:U:U", "RRA:AVERAGE:0.5:1:100", "RRA:MAX:0.5:6:10"})
			if err != nil {
				t.Fatal(err)
			}
			meta := map[string]string{MetaModel: ModelGraphite}
			if late != "" {
				meta[MetaLate] = late
			}
			for _, n := range []string{"text", "num"} {
				if _, err := db.EnsureWithMeta(n, spec, meta); err != nil {
					t.Fatal(err)
				}
			}
			r := rand.New(rand.NewPCG(3, 4))
			tm, newest, lates, refused := int64(1_000_000_000), int64(0), 0, 0
			for k := range 200 {
				tm += r.Int64N(40) - 8 // late ones too
				if tm/10 <= newest/10 {
					lates++
				}
				newest = max(newest, tm)
				x := numReading(r, Gauge, 0)
				b := Batch{Updates: []Update{{Series: "text", Time: tm, Values: []string{string(AppendReading(nil, x, Gauge))}}, {Series: "num", Time: tm, Nums: []float64{x}}}}
				res, err := db.Apply(context.Background(), b)
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Errors) == 1 || len(res.Errors) == 2 && strings.TrimPrefix(res.Errors[0].Error(), "text: ") != strings.TrimPrefix(res.Errors[1].Error(), "num: ") {
					t.Fatalf("update %d (%v): errors %v", k, x, res.Errors)
				}
				refused += len(res.Errors) / 2
			}
			if lates == 0 || (late == "") != (refused > 0) {
				t.Fatalf("%d late points, %d refused: the test no longer covers late points", lates, refused)
			}
			compareTwins(t, db, "text", "num", "graphite "+late)
		})
	}
}
