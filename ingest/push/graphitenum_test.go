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
	"unsafe"

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

// TestGraphiteNumberOnePass holds graphiteNumber's one pass to the
// functions before it (graphiteInt, then graphiteDecimal, then the
// shortest-text check): the same answer and the same bits for random
// values of every form graphiteValue makes and the edges of the short forms.
func TestGraphiteNumberOnePass(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(9, 15))
	vals := []string{"", "-", ".", "-.", "0", "-0", "00", "0.", ".0", "1.", "-1.", "1..2", "1.2.3", "123456789012345", "1234567890123456",
		"-123456789012345", "999999.5", "1000000.5", "99999.99999999", "0.00000001", "0.00010001", "0.0001", "0.00001", "12345678901234567",
		"1.5", "-0.5", "0.50", "10.25", "3.125", "1.00000001", "123456.12345678", "1234567.1"}
	for range 200000 {
		vals = append(vals, graphiteValue(r))
	}
	for _, v := range vals {
		gotV, gotOK := graphiteNumber([]byte(v))
		wantV, wantOK := graphiteNumberBefore([]byte(v))
		if gotOK != wantOK || math.Float64bits(gotV) != math.Float64bits(wantV) {
			t.Fatalf("%q: %v %v, before %v %v", v, gotV, gotOK, wantV, wantOK)
		}
	}
}

// graphiteNumberBefore is graphiteNumber before its one pass (session 9).
func graphiteNumberBefore(b []byte) (float64, bool) {
	if n, ok := graphiteInt(b); ok {
		return float64(n), true
	}
	if v, ok := graphiteDecimal(b); ok {
		return v, true
	}
	if len(b) > 24 { // longer than any shortest text of a double
		return 0, false
	}
	s := unsafe.String(unsafe.SliceData(b), len(b)) // not kept
	v, n := store.ParseFloatPrefix(s)
	if n != len(s) || math.IsInf(v, 0) || v == math.Trunc(v) {
		return 0, false
	}
	var buf [32]byte
	if string(strconv.AppendFloat(buf[:0], v, 'g', -1, 64)) != s {
		return 0, false
	}
	return v, true
}

// graphiteDecimal reads the common `-?(0|[1-9][0-9]{0,5})\.[0-9]*[1-9]`
// with 1, 2, 4 or 8 decimals, from 1e-4 (at most 14 digits),
// without formatting it back: the digits are an exact integer and
// rrd_strtod divides it once by an exact power of ten, so the number is
// correctly rounded, and a decimal of at most 15 digits is the shortest
// text of its double (DBL_DIG), which %g writes without an exponent from
// 1e-4 to below 1e6: store.AppendReading gives the text back.
func graphiteDecimal(b []byte) (float64, bool) {
	i := 0
	if len(b) > 0 && b[0] == '-' {
		i = 1
	}
	if len(b)-i > 16 || len(b)-i < 3 || b[i] == '0' && b[i+1] != '.' {
		return 0, false
	}
	var n int64
	dot := -1
	for j := i; j < len(b); j++ {
		c := b[j]
		switch {
		case c >= '0' && c <= '9':
			n = n*10 + int64(c-'0')
		case c == '.' && dot < 0:
			dot = j
		default:
			return 0, false
		}
	}
	if dot <= i || dot-i > 6 || b[len(b)-1] == '0' { // from 1e6 on %g writes an exponent
		return 0, false
	}
	var p10 float64
	switch len(b) - 1 - dot {
	case 1:
		p10 = 10
	case 2:
		p10 = 100
	case 4:
		p10 = 1e4
	case 8:
		p10 = 1e8
		if b[dot-1] == '0' && dot-i == 1 && b[dot+1] == '0' && b[dot+2] == '0' && b[dot+3] == '0' && b[dot+4] == '0' {
			return 0, false // below 1e-4: %g writes an exponent
		}
	default:
		return 0, false
	}
	v := float64(n) / p10
	if i == 1 {
		v = -v
	}
	return v, true
}

// graphiteInt reads `-?(0|[1-9][0-9]{0,14})` other than "-0": exact in a
// double, and written back the same by store.AppendReading.
func graphiteInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	d := b
	if neg {
		d = b[1:]
	}
	if len(d) == 0 || len(d) > 15 || d[0] == '0' && (len(d) > 1 || neg) {
		return 0, false
	}
	var n int64
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}
