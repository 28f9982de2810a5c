package push

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// render prints a parsed line canonically: m|tags|fields|ts.
func render(l *Line) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|", l.Measurement)
	for i, t := range l.Tags {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%s", t.Key, t.Value)
	}
	b.WriteByte('|')
	for i, f := range l.Fields {
		if i > 0 {
			b.WriteByte(',')
		}
		switch f.Kind {
		case KindString:
			fmt.Fprintf(&b, "%s:string:%s", f.Key, f.Str)
		case KindBool:
			fmt.Fprintf(&b, "%s:boolean:%v", f.Key, f.Bool)
		default:
			fmt.Fprintf(&b, "%s:%v:%s", f.Key, f.Kind, f.Num)
		}
	}
	if l.HasTime {
		fmt.Fprintf(&b, "|%d", l.Time)
	}
	return b.String()
}

// The examples of the InfluxDB line-protocol reference (v1 and v2 docs),
// with what they must parse to.
func TestParseSpecExamples(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`myMeasurement,tag1=value1,tag2=value2 fieldKey="fieldValue" 1556813561098000000`, `myMeasurement|tag1=value1,tag2=value2|fieldKey:string:fieldValue|1556813561098000000`},
		{`weather,location=us-midwest temperature=82 1465839830100400200`, `weather|location=us-midwest|temperature:float:82|1465839830100400200`},
		{`weather,location=us-midwest temperature=82`, `weather|location=us-midwest|temperature:float:82`},
		{`weather temperature=82 1465839830100400200`, `weather||temperature:float:82|1465839830100400200`},
		{`weather,location=us-midwest,season=summer temperature=82 1465839830100400200`, `weather|location=us-midwest,season=summer|temperature:float:82|1465839830100400200`},
		{`weather,location=us-midwest temperature=82,bug_concentration=98 1465839830100400200`, `weather|location=us-midwest|temperature:float:82,bug_concentration:float:98|1465839830100400200`},
		// Data types.
		{`myMeasurement fieldKey=1.0`, `myMeasurement||fieldKey:float:1.0`},
		{`myMeasurement fieldKey=1`, `myMeasurement||fieldKey:float:1`},
		{`myMeasurement fieldKey=-1.234456e+78`, `myMeasurement||fieldKey:float:-1.234456e+78`},
		{`myMeasurement fieldKey=1.5E-3`, `myMeasurement||fieldKey:float:1.5E-3`},
		{`myMeasurement fieldKey=.5`, `myMeasurement||fieldKey:float:.5`},
		{`myMeasurement fieldKey=1i`, `myMeasurement||fieldKey:integer:1`},
		{`myMeasurement fieldKey=12485903i`, `myMeasurement||fieldKey:integer:12485903`},
		{`myMeasurement fieldKey=-12485903i`, `myMeasurement||fieldKey:integer:-12485903`},
		{`myMeasurement fieldKey=9223372036854775807i`, `myMeasurement||fieldKey:integer:9223372036854775807`},
		{`myMeasurement fieldKey=1u`, `myMeasurement||fieldKey:unsigned:1`},
		{`myMeasurement fieldKey=12485903u`, `myMeasurement||fieldKey:unsigned:12485903`},
		{`myMeasurement fieldKey=18446744073709551615u`, `myMeasurement||fieldKey:unsigned:18446744073709551615`},
		{`myMeasurement fieldKey="this is a string"`, `myMeasurement||fieldKey:string:this is a string`},
		{`myMeasurement a=t,b=T,c=true,d=True,e=TRUE`, `myMeasurement||a:boolean:true,b:boolean:true,c:boolean:true,d:boolean:true,e:boolean:true`},
		{`myMeasurement a=f,b=F,c=false,d=False,e=FALSE`, `myMeasurement||a:boolean:false,b:boolean:false,c:boolean:false,d:boolean:false,e:boolean:false`},
		// Escapes: measurement (comma, space), tags and field keys (comma, equals, space).
		{`my\ Measurement fieldKey="string value"`, `my Measurement||fieldKey:string:string value`},
		{`wea\,ther,location=us-midwest temperature=82 1465839830100400200`, `wea,ther|location=us-midwest|temperature:float:82|1465839830100400200`},
		{`wea\ ther,location=us-midwest temperature=82 1465839830100400200`, `wea ther|location=us-midwest|temperature:float:82|1465839830100400200`},
		{`wea=ther,location=us-midwest temperature=82`, `wea=ther|location=us-midwest|temperature:float:82`},
		{`weather,location=us\,midwest temperature=82 1465839830100400200`, `weather|location=us,midwest|temperature:float:82|1465839830100400200`},
		{`weather,location=us-midwest temp\=rature=82 1465839830100400200`, `weather|location=us-midwest|temp=rature:float:82|1465839830100400200`},
		{`weather,location\ place=us-midwest temperature=82 1465839830100400200`, `weather|location place=us-midwest|temperature:float:82|1465839830100400200`},
		{`myMeasurement,tag\ Key1=tag\ Value1,tag\ Key2=tag\ Value2 fieldKey=100`, `myMeasurement|tag Key1=tag Value1,tag Key2=tag Value2|fieldKey:float:100`},
		{`myMeasurement,tagKey=🍭 fieldKey="Launch 🚀" 1556813561098000000`, `myMeasurement|tagKey=🍭|fieldKey:string:Launch 🚀|1556813561098000000`},
		{`my\Measurement fieldKey="string value"`, `my\Measurement||fieldKey:string:string value`},
		{`my\\Measurement fieldKey="string value"`, `my\Measurement||fieldKey:string:string value`},
		{`myMeasurement,k=a\b f=1`, `myMeasurement|k=a\b|f:float:1`},
		// Quoted strings: \" and \\ are escapes; any other backslash is literal.
		{`weather,location=us-midwest temperature="too\"hot\""`, `weather|location=us-midwest|temperature:string:too"hot"`},
		{`myMeasurement fieldKey="\"string\" within a string"`, `myMeasurement||fieldKey:string:"string" within a string`},
		{`weather temperature_str="too hot/cold"`, `weather||temperature_str:string:too hot/cold`},
		{`weather temperature_str="too hot\cold"`, `weather||temperature_str:string:too hot\cold`},
		{`weather temperature_str="too hot\\cold"`, `weather||temperature_str:string:too hot\cold`},
		{`weather temperature_str="too hot\\\cold"`, `weather||temperature_str:string:too hot\\cold`},
		{`weather temperature_str="too hot\\\\cold"`, `weather||temperature_str:string:too hot\\cold`},
		{`weather temperature_str="too hot\\\\\cold"`, `weather||temperature_str:string:too hot\\\cold`},
		{`weather s="a,b c=d",x=1`, `weather||s:string:a,b c=d,x:float:1`},
		{`weather s=""`, `weather||s:string:`},
		// Whitespace, negative and zero timestamps, CRLF.
		{"  weather t=1   -1465839830  ", `weather||t:float:1|-1465839830`},
		{"weather t=1 0\r", `weather||t:float:1|0`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			p := NewParser([]byte(tc.in))
			l, err := p.Next()
			if err != nil || l == nil {
				t.Fatalf("Next: %v, %v", l, err)
			}
			if got := render(l); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if l, err := p.Next(); l != nil || err != nil {
				t.Errorf("second Next: %v, %v", l, err)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		line   int
		reason string
	}{
		{"cpu", 1, "missing fields"},
		{"cpu ", 1, "missing fields"},
		{"cpu,host=a", 1, "missing fields"},
		{",host=a v=1", 1, "missing measurement"},
		{"cpu,=a v=1", 1, "missing tag key"},
		{"cpu,host v=1", 1, "missing tag value"},
		{"cpu,host= v=1", 1, "missing tag value"},
		{"cpu,host=a=b v=1", 1, "unescaped '='"},
		{"cpu value", 1, "missing field value"},
		{"cpu value=", 1, "missing field value"},
		{"cpu =1", 1, "missing field key"},
		{"cpu v=1,", 1, "missing field key"},
		{"cpu v=abc", 1, "invalid field value"},
		{"cpu v=1.2.3", 1, "invalid field value"},
		{"cpu v=NaN", 1, "invalid field value"},
		{"cpu v=Inf", 1, "invalid field value"},
		{"cpu v=+1", 1, "invalid field value"},
		{"cpu v=0x10", 1, "invalid field value"},
		{"cpu v=1e", 1, "invalid field value"},
		{"cpu v=1e999", 1, "out of range"},
		{"cpu v=1.5i", 1, "invalid integer"},
		{"cpu v=9223372036854775808i", 1, "invalid integer"},
		{"cpu v=+1i", 1, "invalid integer"},
		{"cpu v=-1u", 1, "invalid unsigned"},
		{"cpu v=18446744073709551616u", 1, "invalid unsigned"},
		{`cpu v="abc`, 1, "unterminated string"},
		{`cpu v="abc\"`, 1, "unterminated string"},
		{`cpu v="a"b`, 1, "unexpected 'b' after field value"},
		{"cpu v=1 abc", 1, "bad timestamp"},
		{"cpu v=1 1.5", 1, "bad timestamp"},
		{"cpu v=1 99999999999999999999", 1, "bad timestamp"},
		{"cpu v=1 1 2", 1, "unexpected text"},
		{"cpu,host=a,v=1", 1, "missing fields"},
		{"cpu v=1\nmem v=1\n\n# comment\ndisk free", 5, "missing field value"},
		{"cpu v=1\n\xff v=1", 2, "not valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			p := NewParser([]byte(tc.in))
			var err error
			for {
				var l *Line
				l, err = p.Next()
				if err != nil || l == nil {
					break
				}
			}
			se, ok := err.(*SyntaxError)
			if !ok {
				t.Fatalf("err = %v, want a *SyntaxError", err)
			}
			if se.Line != tc.line || !strings.Contains(se.Reason, tc.reason) {
				t.Errorf("got line %d %q, want line %d containing %q", se.Line, se.Reason, tc.line, tc.reason)
			}
		})
	}
}

// After an error the parser goes on at the next line.
func TestParseContinuesAfterError(t *testing.T) {
	t.Parallel()
	p := NewParser([]byte("a v=1\nbad\n# c\n\nb v=2 5\nc v=\n"))
	var got []string
	for {
		l, err := p.Next()
		if err != nil {
			got = append(got, fmt.Sprintf("err line %d", err.(*SyntaxError).Line))
			continue
		}
		if l == nil {
			break
		}
		got = append(got, fmt.Sprintf("%d:%s", l.Num, render(l)))
	}
	want := "1:a||v:float:1;err line 2;5:b||v:float:2|5;err line 6"
	if s := strings.Join(got, ";"); s != want {
		t.Errorf("got %s\nwant %s", s, want)
	}
}

func TestPrecision(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prec      string
		ts        int64
		sec, usec int64
	}{
		{"", 1465839830100400200, 1465839830, 100400},
		{"ns", -1, -1, 999999},
		{"n", 1500000001, 1, 500000},
		{"us", 1465839830100400, 1465839830, 100400},
		{"u", -1, -1, 999999},
		{"ms", 1465839830100, 1465839830, 100000},
		{"s", 1465839830, 1465839830, 0},
		{"m", 2, 120, 0},
		{"h", -1, -3600, 0},
	}
	for _, tc := range tests {
		p, err := ParsePrecision(tc.prec)
		if err != nil {
			t.Fatal(err)
		}
		sec, usec, ok := p.split(tc.ts)
		if !ok || sec != tc.sec || usec != tc.usec {
			t.Errorf("%q %d: got %d %d %v, want %d %d", tc.prec, tc.ts, sec, usec, ok, tc.sec, tc.usec)
		}
	}
	if _, err := ParsePrecision("d"); err == nil {
		t.Error(`precision "d" accepted`)
	}
	if _, _, ok := Hour.split(1 << 62); ok {
		t.Error("overflowing hour timestamp accepted")
	}
}

// TestTimestampDigits: the fast timestamp reading gives what
// strconv.ParseInt gives wherever it answers, and answers for the usual
// forms.
func TestTimestampDigits(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(15, 9))
	cases := []string{"", "-", "0", "-0", "1465839830100400200", "-1465839830100400200", "999999999999999999", "-999999999999999999",
		"9223372036854775807", "9223372036854775808", "-9223372036854775808", "+5", "1_0", "01", "1a", "--1", "12345678901234567890"}
	for range 20000 {
		b := make([]byte, r.IntN(22))
		for i := range b {
			b[i] = "0123456789-+_a:/?@ \x00\xff\xb0\xb9"[r.IntN(23)] // the bytes beside the digits too
			if r.IntN(4) > 0 {
				b[i] = byte('0' + r.IntN(10))
			}
		}
		cases = append(cases, string(b))
	}
	fast := 0
	for _, s := range cases {
		got, ok := timestampDigits([]byte(s))
		want, err := strconv.ParseInt(s, 10, 64)
		if ok && (err != nil || got != want) {
			t.Fatalf("%q: %d, strconv %d, %v", s, got, want, err)
		}
		if ok {
			fast++
		}
	}
	if _, ok := timestampDigits([]byte("1465839830100400200")); !ok || fast < 1000 {
		t.Fatalf("the usual form goes to strconv (%d of %d fast)", fast, len(cases))
	}
}

// TestValidUTF8 holds validUTF8 to utf8.Valid: random ASCII with a
// non-ASCII byte or sequence (valid or not) at every offset.
func TestValidUTF8(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(15, 8))
	tails := []string{"", "é", "\xff", "\xc3", "€", "\xe2\x82", "𝄞", "\xed\xa0\x80", "\x80", "\u00a0"}
	for n := range 40 {
		for _, tail := range tails {
			for at := 0; at <= n; at++ {
				b := make([]byte, n)
				for i := range b {
					b[i] = byte(0x20 + r.IntN(0x5f))
				}
				b = append(b[:at:at], append([]byte(tail), b[at:]...)...)
				if validUTF8(b) != utf8.Valid(b) {
					t.Fatalf("%q: %v, utf8.Valid %v", b, validUTF8(b), utf8.Valid(b))
				}
			}
		}
	}
}
