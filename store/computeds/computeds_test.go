package computeds

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
	"time"
)

func lookup(names ...string) func(string) (int, bool) {
	return func(n string) (int, bool) {
		for i, m := range names {
			if m == n {
				return i, true
			}
		}
		return 0, false
	}
}

func fixedNow() time.Time { return time.Unix(1700000000, 0) }

func TestParseFormat(t *testing.T) {
	t.Parallel()
	names := []string{"a", "b", "MINX"}
	for _, c := range []struct{ in, want, err string }{
		{in: "a,b,+", want: "a,b,+"},
		{in: "a,2.0,*", want: "a,2,*"},
		{in: "a,-0,+", want: "a,0,+"},
		{in: "MINX,a,MIN", want: "MINX,a,MIN"},
		{in: "a,b,+,", want: "a,b,+"},
		{in: "a,2", err: "don't understand '2'"},
		{in: "a,1.5,+", err: "constants must be integers in the interval (-32768, 32767)"},
		{in: "a,40000,+", err: "constants must be integers"},
		{in: "a,TIME,+", err: "not supported with DS COMPUTE"},
		{in: "PREV(a)", err: "not supported with DS COMPUTE"},
		{in: "a,c,+", err: "don't understand 'c,+'"},
		{in: "", err: "empty rpn expression"},
		{in: "a,,+", err: "don't understand"},
		{in: strings.Repeat("a,", 19) + "+", err: "Maximum 19 RPN nodes permitted. Got 20"},
	} {
		p, err := Parse(c.in, lookup(names...))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Parse(%q) = %v, want error %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if got := p.Format(func(i int) string { return names[i] }); got != c.want {
			t.Errorf("Parse(%q).Format() = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestEval(t *testing.T) {
	t.Parallel()
	nan, inf := math.NaN(), math.Inf(1)
	row := []float64{3, nan, -2, inf}
	deg, rad := 0.0174532952, 57.29577951 // variables: a product of constants would be exact
	names := []string{"a", "n", "m", "i"}
	for _, c := range []struct {
		expr string
		want float64
		err  string
	}{
		{expr: "a,m,+", want: 1},
		{expr: "a,n,+", want: nan},
		{expr: "a,n,ADDNAN", want: 3},
		{expr: "n,n,ADDNAN", want: nan},
		{expr: "a,m,%", want: 1},
		{expr: "m,a,%", want: -2},
		{expr: "a,n,LT", want: nan},
		{expr: "i,a,GT", want: 1},
		{expr: "n,a,m,IF", want: -2},
		{expr: "0,a,m,IF", want: -2},
		{expr: "1,a,m,IF", want: 3},
		{expr: "a,0,2,LIMIT", want: nan},
		{expr: "a,0,i,LIMIT", want: 3},
		{expr: "a,n,MIN", want: nan},
		{expr: "a,n,MINNAN", want: 3},
		{expr: "n,m,MAXNAN", want: -2},
		{expr: "a,m,n,i,4,SMAX", want: inf},
		{expr: "a,m,n,3,AVG", want: 0.5},
		{expr: "a,m,n,3,MEDIAN", want: 0.5},
		{expr: "a,m,5,3,MEDIAN", want: 3},
		{expr: "a,m,2,STDEV", want: math.Sqrt(12.5)},
		{expr: "a,2,STDEV", err: "underflow"},
		{expr: "a,STDEV", err: "underflow"},
		{expr: "a,1,STDEV", want: nan},
		{expr: "a,m,5,3,SORT,POP,EXC,POP", want: 3}, // sorted -2 3 5; unsorted would give -2
		{expr: "7,a,m,5,50,3,PERCENT,EXC,POP", want: 3},
		{expr: "7,a,m,5,0,3,PERCENT,EXC,POP", want: 7},
		{expr: "7,a,m,5,100,3,PERCENT,EXC,POP", want: 5},
		{expr: "a,m,5,101,3,PERCENT", err: "between 0 and 100"},
		{expr: "1,2,3,4,3,1,ROLL,+,+,+", want: 1 + 4 + 1 + 3},
		{expr: "a,m,DEPTH,+,+", want: 3},
		{expr: "a,m,2,COPY,+,+,+", want: 2},
		{expr: "a,m,5,2,INDEX,+,+,+", want: 3 - 2 + 5 - 2},
		{expr: "a,m,EXC,-", want: -5},
		{expr: "a,DUP,*", want: 9},
		{expr: "NOW", want: 1700000000},
		{expr: "a,UN,n,UN,+", want: 1},
		{expr: "i,ISINF,NEGINF,ISINF,+", want: 2},
		{expr: "90,DEG2RAD", want: deg * 90},
		{expr: "a,RAD2DEG", want: rad * 3},
		{expr: "a,m", err: "final stack size != 1"},
		{expr: "a,+", err: "underflow"},
		{expr: "a,POP,POP", err: "underflow"},
	} {
		p, err := Parse(c.expr, lookup(names...))
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.expr, err)
		}
		got, err := p.Eval(row, fixedNow)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s = %v, %v; want error %q", c.expr, got, err, c.err)
			}
			continue
		}
		if err != nil || !(got == c.want || math.IsNaN(got) && math.IsNaN(c.want)) {
			t.Errorf("%s = %v, %v; want %v", c.expr, got, err, c.want)
		}
	}
}

// compact encodes an expression as rrdtool's file holds it.
func compact(nodes ...[2]int) []byte {
	var b []byte
	for _, n := range nodes {
		b = append(b, byte(n[0]), 0)
		b = binary.LittleEndian.AppendUint16(b, uint16(int16(n[1])))
	}
	for len(b) < 80 {
		b = append(b, 0)
	}
	return b
}

func TestFromCompact(t *testing.T) {
	t.Parallel()
	names := []string{"a", "b"}
	for _, c := range []struct {
		raw       []byte
		want, err string
	}{
		{raw: compact([2]int{1, 0}, [2]int{1, 1}, [2]int{8, 0}, [2]int{0, -3}, [2]int{11, 0}, [2]int{32, 0}), want: "a,b,+,-3,*"},
		{raw: compact([2]int{1, 1}, [2]int{69, 0}, [2]int{32, 0}), want: "b,POW"},
		{raw: compact([2]int{1, 5}, [2]int{32, 0}), err: "names data source #5"},
		{raw: compact([2]int{99, 0}, [2]int{32, 0}), err: "unknown operator 99"},
		{raw: compact([2]int{32, 0}), err: "empty"},
		{raw: compact([2]int{1, 0})[:4], err: "no end"},
	} {
		got, err := FromCompact(c.raw, names)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("FromCompact = %q, %v; want error %q", got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("FromCompact = %q, %v; want %q", got, err, c.want)
		}
	}
}

// FuzzParseEval: no expression panics the parser or the evaluator, and a
// parsed expression's Text parses to the same Text.
func FuzzParseEval(f *testing.F) {
	for _, s := range []string{"a,b,+", "a,2,*", "1,2,3,4,3,1,ROLL,+,+,+", "a,b,5,2,INDEX", "7,a,b,0,2,PERCENT", "a,99,COPY", "a,-3,SORT", "a,b,2,1,ROLL", "a,NAN,COPY"} {
		f.Add(s, 1.5, math.NaN())
	}
	f.Fuzz(func(t *testing.T, expr string, x, y float64) {
		names := []string{"a", "b"}
		p, err := Parse(expr, lookup(names...))
		if err != nil {
			return
		}
		text := p.Text(func(i int) string { return names[i] })
		q, err := Parse(text, lookup(names...))
		if err != nil {
			t.Fatalf("%q prints as %q, which does not parse: %v", expr, text, err)
		}
		if q.Text(func(i int) string { return names[i] }) != text {
			t.Fatalf("%q: text %q does not round-trip", expr, text)
		}
		_, _ = p.Eval([]float64{x, y}, fixedNow)
	})
}
