package push

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"rrdash/store"
)

// graphiteValue is a random Graphite-valid value text: integers (leading
// zeros, "-0", past 2^53 and 2^63), decimals, exponents, huge, tiny,
// many digits, and the shortest text of random doubles.
func graphiteValue(r *rand.Rand) string {
	digits := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(byte('0' + r.IntN(10)))
		}
		return b.String()
	}
	sign := ""
	if r.IntN(3) == 0 {
		sign = "-"
	}
	switch r.IntN(9) {
	case 0:
		return sign + strconv.Itoa(r.IntN(1000))
	case 1:
		return sign + digits(1+r.IntN(22)) // leading zeros, past 2^53 and 2^63
	case 2:
		return sign + digits(1+r.IntN(6)) + "." + digits(r.IntN(8))
	case 3:
		return sign + digits(1+r.IntN(20)) + "." + digits(1+r.IntN(20))
	case 4:
		return sign + digits(1+r.IntN(3)) + "e" + []string{"", "+", "-"}[r.IntN(3)] + strconv.Itoa(r.IntN(330))
	case 5:
		return strconv.FormatFloat(math.Float64frombits(r.Uint64()&^(0x7ff<<52)|uint64(r.IntN(0x7ff))<<52), 'g', -1, 64) // any finite double
	case 6:
		return strconv.FormatFloat(r.NormFloat64()*math.Pow(10, float64(r.IntN(40)-20)), 'g', -1, 64)
	case 7:
		return []string{"0", "-0", "0.0", ".5", "5.", "1e3", "1.50", "0.1", "1e-07", "1e+21", "1.7976931348623157e+308", "5e-324", "2.2250738585072014e-308"}[r.IntN(13)]
	}
	return sign + strconv.Itoa(r.IntN(1<<20)) + "." + strconv.Itoa(r.IntN(100))
}

// TestGraphiteNumericMatchesText writes the same random Graphite lines
// once as the listener parses them (numbers where graphiteNumber allows)
// and once with every value as text, into two stores, for each data
// source type a retention rule can give a Graphite series: the writes'
// results, refusals included, and the dumps (last_ds, PDP state, rows)
// are identical.
func TestGraphiteNumericMatchesText(t *testing.T) {
	t.Parallel()
	for _, typ := range []store.DSType{store.Gauge, store.Counter, store.Derive, store.Absolute} {
		t.Run(fmt.Sprint(typ), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(uint64(typ), 15))
			var num []Point
			const series, steps = 8, 60
			for i := range steps {
				for k := range series {
					v := graphiteValue(r)
					if (typ == store.Counter || typ == store.Derive) && r.IntN(2) == 0 {
						v = strconv.Itoa(i*1000 + r.IntN(1000)) // mostly counting up
					}
					line := fmt.Sprintf("num.s%d %s %d", k, v, 1700000000+i*60+r.IntN(60))
					p, err := parseGraphiteLine([]byte(line), time.Now, nil, &valueArena{})
					if err != nil {
						continue // out of range: refused by the parser on both paths
					}
					if asText(p).Value != v {
						t.Fatalf("%q: the numeric path stands for %q", v, asText(p).Value)
					}
					num = append(num, p)
				}
			}
			numericMatchesText(t, typ, series, num, func(int) bool { return true })
		})
	}
}

// numericMatchesText writes pts (points of series num.s0…, some numeric)
// once as they are and once with every value as text (asText) into two
// stores whose series exist with the Graphite template and data source
// type typ (Graphite's data model where graphite(k) says so for num.sk),
// in writes of `series` points, and fails unless the writes' results,
// refusals included, and the dumps (last_ds, PDP state, rows) are
// identical.
func numericMatchesText(t *testing.T, typ store.DSType, series int, pts []Point, graphite func(k int) bool) {
	t.Helper()
	ctx := context.Background()
	spec := store.GraphiteTemplate()
	spec.DS[0].Type = typ
	numeric := 0
	txt := make([]Point, len(pts))
	for i, p := range pts {
		if p.Numeric {
			numeric++
		}
		txt[i] = asText(p)
	}
	if numeric == 0 || numeric == len(pts) {
		t.Fatalf("%d of %d values numeric: want both paths exercised", numeric, len(pts))
	}
	write := func(pts []Point) (*store.DB, string) {
		db := openStore(t)
		for k := range series { // existing series of this type
			spec := spec
			spec.Start = 1700000000 - 60
			var meta map[string]string
			if graphite(k) {
				meta = map[string]string{store.MetaModel: store.ModelGraphite}
			}
			if err := db.CreateWithMeta(fmt.Sprintf("num.s%d", k), spec, meta, false); err != nil {
				t.Fatal(err)
			}
		}
		w, err := NewWriter(db, WriterConfig{Template: spec, GraphiteTemplate: spec, MaxDelay: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		var res []string
		for i := 0; i < len(pts); i += series {
			wr, err := w.Write(ctx, pts[i:min(i+series, len(pts))])
			if err != nil {
				t.Fatal(err)
			}
			res = append(res, fmt.Sprintf("%+v", wr))
		}
		return db, strings.Join(res, "\n")
	}
	dbn, rn := write(pts)
	dbt, rt := write(txt)
	if rn != rt {
		t.Fatalf("write results differ:\nnumeric %s\ntext    %s", rn, rt)
	}
	for k := range series {
		name := fmt.Sprintf("num.s%d", k)
		dn, err := dbn.Dump(name)
		if err != nil {
			t.Fatal(err)
		}
		dt, err := dbt.Dump(name)
		if err != nil {
			t.Fatal(err)
		}
		if dn.Spec.DS[0].Type != typ {
			t.Fatalf("%s: %v, want %v", name, dn.Spec.DS[0].Type, typ)
		}
		if a, b := fmt.Sprintf("%+v", *dn), fmt.Sprintf("%+v", *dt); a != b {
			t.Fatalf("%s: dumps differ:\nnumeric %s\ntext    %s", name, a, b)
		}
	}
}

// TestInfluxNumericMatchesText is TestGraphiteNumericMatchesText for line
// protocol: random field values (floats in every form graphiteValue
// makes, integers with i and u, booleans), converted as the Converter
// does (numbers where graphiteNumber allows) and as text, written into
// series of either data model: identical results and dumps.
func TestInfluxNumericMatchesText(t *testing.T) {
	t.Parallel()
	for _, typ := range []store.DSType{store.Gauge, store.Counter, store.Derive, store.Absolute} {
		t.Run(fmt.Sprint(typ), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(uint64(typ), 1515))
			c := &Converter{Precision: Second}
			var num []Point
			const series, steps = 8, 60
			for i := range steps {
				for k := range series {
					v := graphiteValue(r)
					switch r.IntN(8) {
					case 0:
						v = strconv.Itoa(r.IntN(1<<20)-1<<19) + "i"
					case 1:
						v = strconv.FormatUint(r.Uint64()>>r.IntN(64), 10) + "u"
					case 2:
						v = []string{"t", "F", "true", "FALSE", "-0i", "0u", "007i", "9223372036854775807i", "18446744073709551615u"}[r.IntN(9)]
					}
					if (typ == store.Counter || typ == store.Derive) && r.IntN(2) == 0 {
						v = strconv.Itoa(i*1000 + r.IntN(1000)) // mostly counting up
					}
					line := fmt.Sprintf("num,host=h v=%s %d", v, 1700000000+i*60+r.IntN(60))
					pts, err := c.ParseLineProtocol([]byte(line), nil)
					if err != nil {
						continue // out of range: refused by the parser on both paths
					}
					p := pts[0]
					if p.Series != "num.v;host=h" {
						t.Fatalf("%q: series %q", line, p.Series)
					}
					// (its writer handle, kept for "num.v;host=h", now
					// names another series: the Writer must look it up)
					p.Series = fmt.Sprintf("num.s%d", k)
					num = append(num, p)
				}
			}
			numericMatchesText(t, typ, series, num, func(k int) bool { return k%2 == 0 })
		})
	}
}
