package rpn

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"rrdash/store"

	"rrdash/store/rrdtooltest"
)

// TestErrorParity checks that statements rrdtool 1.7.2 refuses are refused
// here too, with a message naming the statement and, where one token is to
// blame, the token and its position.
func TestErrorParity(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	dir := t.TempDir()
	files := map[string]string{"m": makeMinuteRRD(t, bin, dir, 90)}
	f := &rrdFetcher{bin: bin, tz: "UTC", files: files, cache: map[string]*store.FetchResult{}}
	start, end := int64(minuteT0+600), int64(minuteT0+600+60*60)
	cases := []struct {
		stmts []string
		want  string // in our message
	}{
		{[]string{"CDEF:x=a,b,+,*"}, "CDEF:x=a,b,+,*: unknown variable or operator at token 2 'b'"},
		{[]string{"CDEF:x=a,a,+,*"}, "CDEF:x=a,a,+,*: stack underflow at token 4 '*'"},
		{[]string{"CDEF:x=a,a"}, "final stack holds 2 values, want exactly 1 at token 2 'a'"},
		{[]string{"CDEF:x=a,3,+,5"}, "a number must be followed by a comma"},
		{[]string{"CDEF:x=a,,+"}, "empty token at token 2"},
		{[]string{"CDEF:x=1,2,+"}, "without DEF or CDEF variables"},
		{[]string{"CDEF:x=a,5E3,+"}, "at token 2 '5E3'"},
		{[]string{"CDEF:x=a,0x10,+"}, "at token 2 '0x10'"},
		{[]string{"CDEF:x=a,inf,+"}, "at token 2 'inf'"},
		{[]string{"CDEF:x=a,1.5.5,+"}, "unknown token at token 2 '1.5.5'"},
		{[]string{"CDEF:x=a,1e2000,+"}, "at token 2 '1e2000'"},
		{[]string{"CDEF:x=PREV(zz),a,+"}, "unknown variable 'zz' at token 1"},
		{[]string{"CDEF:x=1,a,TREND"}, "malformed trend arguments: want variable,duration,TREND at token 3 'TREND'"},
		{[]string{"CDEF:x=x,1,+"}, "CDEF:x=x,1,+: variable defined by this or a later statement (statements are evaluated in order: no forward references or cycles) at token 1 'x'"},
		{[]string{"CDEF:x=a,y,+", "CDEF:y=a,x,+"}, "CDEF:x=a,y,+: variable defined by this or a later statement"},
		{[]string{"CDEF:x=a,1,+", "CDEF:y=a,x,+,+"}, "CDEF:y=a,x,+,+: stack underflow at token 4 '+'"},
		{[]string{"CDEF:x=a,SORT"}, "stack underflow at token 2 'SORT'"},
		{[]string{"CDEF:x=a,a,a,4,AVG"}, "stack underflow at token 5 'AVG'"},
		{[]string{"CDEF:x=a,a,5,INDEX"}, "index 5 out of range 1..2 at token 4 'INDEX'"},
		{[]string{"CDEF:x=a,a,a,101,3,PERCENT"}, "percentile 101 outside 0..100 at token 6 'PERCENT'"},
		{[]string{"CDEF:x=60,1,60,101,a,PREDICTPERC"}, "unsupported percentile: 101 at token 6 'PREDICTPERC'"},
		{[]string{"CDEF:x=-60,1,60,a,PREDICT"}, "negative shift step not allowed: -60 at token 5 'PREDICT'"},
		{[]string{"DEF:d=m:a:AVERAGE:end=end-1h", "CDEF:x=d"}, "the end time cannot be relative to itself"},
		{[]string{"VDEF:v=a,FOO"}, "unknown VDEF function at token 2 'FOO'"},
		{[]string{"VDEF:v=zz,MAXIMUM"}, "VDEF:v=zz,MAXIMUM: unknown variable at token 1 'zz'"},
		{[]string{"VDEF:v=a,101,PERCENT"}, "percentile must be between 0 and 100 at token 2 '101'"},
		{[]string{"VDEF:v=a,MAXIMUM", "VDEF:w=v,MINIMUM"}, "a VDEF needs a DEF or CDEF, not another VDEF"},
	}
	for _, c := range cases {
		args := []string{"xport", "--start", strconv.FormatInt(start, 10), "--end", strconv.FormatInt(end, 10),
			"DEF:a=" + files["m"] + ":a:AVERAGE"}
		args = append(args, c.stmts...)
		last := c.stmts[len(c.stmts)-1]
		name := last[strings.Index(last, ":")+1 : strings.Index(last, "=")]
		xp := "XPORT:" + name
		if strings.HasPrefix(last, "VDEF") {
			xp = "XPORT:a"
		}
		if _, err := runRRDTool(bin, "UTC", append(args, xp)...); err == nil {
			t.Errorf("%v: rrdtool accepts it", c.stmts)
		}
		ours := append([]string{"DEF:a=m:a:AVERAGE"}, c.stmts...)
		sc, err := ParseScript(append(ours, xp))
		if err == nil {
			_, err = sc.Xport(context.Background(), f, Request{Start: start, End: end, Env: Env{Loc: time.UTC}})
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want it to contain %q", c.stmts, err, c.want)
		}
	}
}
