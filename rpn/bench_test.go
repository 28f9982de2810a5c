package rpn

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"rrdash/store"

	"rrdash/store/rrdtooltest"
)

const benchRows = 1_000_000

func benchInputs() func(ref int) Input {
	mk := func(seed float64) *Series {
		s := &Series{Start: 1_700_000_000, Step: 60, Values: make([]float64, benchRows)}
		for i := range s.Values {
			s.Values[i] = math.Mod(float64(i)*seed, 97) - 20
			if i%50 == 0 {
				s.Values[i] = math.NaN()
			}
		}
		return s
	}
	a, b, c := mk(1.5), mk(2.25), mk(0.75)
	return func(ref int) Input {
		switch ref {
		case 0:
			return Input{Series: a}
		case 1:
			return Input{Series: b}
		case 2:
			return Input{Series: c}
		}
		return Input{Value: 3}
	}
}

// benchOps counts the operators of an expression (tokens that are neither
// variables nor numbers), the unit of the ns/row/op figure.
func benchOps(expr string) int {
	n := 0
	for _, t := range strings.Split(expr, ",") {
		if _, ok := opNames[t]; ok {
			n++
		}
	}
	return n
}

func benchExpr(b *testing.B, expr string) {
	p, err := Compile("CDEF:x="+expr, expr, fuzzResolve)
	if err != nil {
		b.Fatal(err)
	}
	in := benchInputs()
	env := Env{Loc: time.UTC, Now: 1}
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.Eval(context.Background(), in, env); err != nil {
			b.Fatal(err)
		}
	}
	perRow := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / benchRows
	b.ReportMetric(perRow, "ns/row")
	if ops := benchOps(expr); ops > 0 {
		b.ReportMetric(perRow/float64(ops), "ns/row/op")
	}
}

// BenchmarkEval10Arith is the target: a 10-operator arithmetic CDEF
// over 1,000,000 rows.
func BenchmarkEval10Arith(b *testing.B) {
	benchExpr(b, "a,b,+,c,*,a,-,b,/,2,*,c,+,a,MAX,b,MIN,3,-,c,ADDNAN")
}

func BenchmarkEvalOp(b *testing.B) {
	for _, c := range []struct{ name, expr string }{
		{"add", "a,b,+"},
		{"mul-const", "a,2,*"},
		{"div", "a,b,/"},
		{"mod", "a,b,%"},
		{"min", "a,b,MIN"},
		{"addnan", "a,b,ADDNAN"},
		{"lt", "a,b,LT"},
		{"if", "a,b,c,IF"},
		{"limit", "a,0,50,LIMIT"},
		{"un", "a,UN"},
		{"sin", "a,SIN"},
		{"sqrt", "a,SQRT"},
		{"exc-dup-pop", "a,b,EXC,DUP,POP,-"},
		{"sort3", "a,b,c,3,SORT,+,+"},
		{"avg3", "a,b,c,3,AVG"},
		{"median3", "a,b,c,3,MEDIAN"},
		{"percent3", "a,b,c,50,3,PERCENT"},
		{"trend600", "a,600,TREND"},
		{"predict", "600,1200,2,300,a,PREDICT"},
		{"prev", "a,PREV,ADDNAN"},
		{"time", "a,TIME,+"},
		{"newday", "a,NEWDAY,*"},
	} {
		b.Run(c.name, func(b *testing.B) { benchExpr(b, c.expr) })
	}
}

// BenchmarkXport1M times `rrdtool xport` (the whole process) and rrdash's
// xport in process (evaluation and XML, the rows already fetched) of a
// 10-operator CDEF over an RRD of 1,000,000 rows. The whole-process
// comparison with the store is `make bench`.
func BenchmarkXport1M(b *testing.B) {
	bin := rrdtooltest.Bin(b)
	dir := b.TempDir()
	const rows = 1_000_000
	const t0 = 1_599_999_960
	var x strings.Builder
	fmt.Fprintf(&x, "<rrd><version>0003</version><step>60</step><lastupdate>%d</lastupdate>"+
		"<ds><name>a</name><type>GAUGE</type><minimal_heartbeat>120</minimal_heartbeat><min>NaN</min><max>NaN</max>"+
		"<last_ds>1</last_ds><value>0</value><unknown_sec>0</unknown_sec></ds>"+
		"<rra><cf>AVERAGE</cf><pdp_per_row>1</pdp_per_row><params><xff>0.5</xff></params><cdp_prep><ds>"+
		"<primary_value>0</primary_value><secondary_value>0</secondary_value><value>NaN</value>"+
		"<unknown_datapoints>0</unknown_datapoints></ds></cdp_prep><database>\n", t0+rows*60)
	for i := range rows {
		fmt.Fprintf(&x, "<row><v>%d.5</v></row>\n", (i*7)%101-30)
	}
	x.WriteString("</database></rra></rrd>\n")
	xml := writeFile(b, dir, "big.xml", x.String())
	rrd := dir + "/big.rrd"
	if _, err := runRRDTool(bin, "UTC", "restore", xml, rrd); err != nil {
		b.Fatal(err)
	}
	cdef := "CDEF:c=a,2,*,a,+,3,-,a,/,1.5,*,a,MAX,0,MIN,a,ADDNAN,10,+,a,-"
	opts := []string{"--start", strconv.Itoa(t0), "--end", strconv.Itoa(t0 + rows*60), "--maxrows", "1000000"}
	b.Run("rrdtool-process", func(b *testing.B) {
		for b.Loop() {
			if _, err := runRRDTool(bin, "UTC", append(append([]string{"xport"}, opts...), "DEF:a="+rrd+":a:AVERAGE", cdef, "XPORT:c")...); err != nil {
				b.Fatal(err)
			}
		}
	})
	f := &rrdFetcher{bin: bin, tz: "UTC", files: map[string]string{"big": rrd}, cache: map[string]*store.FetchResult{}}
	args := append(opts, "DEF:a=big:a:AVERAGE", cdef, "XPORT:c")
	if err := RunXport(context.Background(), f, args, io.Discard, time.Unix(t0, 0), time.UTC); err != nil {
		b.Fatal(err) // also warms the fetch cache
	}
	db, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	dump, err := runRRDTool(bin, "UTC", "dump", rrd)
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Import(bytes.NewReader(dump), "big", false, nil); err != nil {
		b.Fatal(err)
	}
	// The outputs must be identical before their times mean anything.
	want, err := runRRDTool(bin, "UTC", append(append([]string{"xport"}, opts...), "DEF:a="+rrd+":a:AVERAGE", cdef, "XPORT:c")...)
	if err != nil {
		b.Fatal(err)
	}
	var got bytes.Buffer
	if err := RunXport(context.Background(), db, args, &got, time.Unix(t0, 0), time.UTC); err != nil {
		b.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		b.Fatal("rrdash xport output differs from rrdtool's")
	}
	b.Run("rrdash-store-eval-xml", func(b *testing.B) {
		for b.Loop() {
			if err := RunXport(context.Background(), db, args, io.Discard, time.Unix(t0, 0), time.UTC); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rrdash-eval-xml", func(b *testing.B) {
		for b.Loop() {
			if err := RunXport(context.Background(), f, args, io.Discard, time.Unix(t0, 0), time.UTC); err != nil {
				b.Fatal(err)
			}
		}
	})
}
