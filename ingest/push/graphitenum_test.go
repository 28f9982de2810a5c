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
	ctx := context.Background()
	for _, typ := range []store.DSType{store.Gauge, store.Counter, store.Derive, store.Absolute} {
		t.Run(fmt.Sprint(typ), func(t *testing.T) {
			t.Parallel()
			spec := store.GraphiteTemplate()
			spec.DS[0].Type = typ
			r := rand.New(rand.NewPCG(uint64(typ), 15))
			var num, txt []Point
			numeric := 0
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
					if p.Numeric {
						numeric++
					}
					num = append(num, p)
					p = asText(p)
					if p.Value != v {
						t.Fatalf("%q: the numeric path stands for %q", v, p.Value)
					}
					txt = append(txt, p)
				}
			}
			if numeric == 0 || numeric == len(num) {
				t.Fatalf("%d of %d values numeric: want both paths exercised", numeric, len(num))
			}
			write := func(pts []Point) (*store.DB, string) {
				db := openStore(t)
				for k := range series { // existing series of this type
					spec := spec
					spec.Start = 1700000000 - 60
					if err := db.CreateWithMeta(fmt.Sprintf("num.s%d", k), spec, map[string]string{store.MetaModel: store.ModelGraphite}, false); err != nil {
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
			dbn, rn := write(num)
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
		})
	}
}
