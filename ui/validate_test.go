package ui

import (
	"strings"
	"testing"
)

// TestValidateOneLinePosition: a bad line is named once, by its editor
// line (and the column of a bad RPN token), whatever check finds it.
func TestValidateOneLinePosition(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	const def = "DEF:a=tracelog.web1:requests:AVERAGE"
	tests := []struct {
		lines []string
		want  string
		line  int
	}{
		{[]string{def, "", "LINE1:a#zzz:x"}, `line 3: invalid color "#zzz"`, 2},
		{[]string{def, "", "", "CDEF:b=a,+", "LINE1:b#123456:x"}, "line 4:10: stack underflow (token 2 ‘+’)", 3},
		{[]string{def, "VDEF:m=a,NOPE", "LINE1:a#123456:x"}, "line 2:", 1},
		{[]string{def, "BOGUS:b"}, "line 2: not a graph element", 1},
		{[]string{"", "DEF:a=tracelog.web1:requests"}, "line 2: want DEF:vname=series:ds:CF", 1},
		{[]string{def, "COMMENT:hi", "LINE1:zz#123456:x"}, `line 3: unknown name "zz"`, 2},
		{[]string{def, "", "GPRINT:a:%d"}, `line 3: "a" is a DEF, want VDEF`, 2},
	}
	for _, tt := range tests {
		r := ts.do(t, "POST", "/api/v1/validate", "", validateRequest{Lines: tt.lines})
		v := decode[validateResponse](t, r)
		if v.OK || v.Error == nil {
			t.Errorf("%q: valid", tt.lines)
			continue
		}
		msg := v.Error.Error
		if !strings.HasPrefix(msg, tt.want) || strings.Contains(msg, "argument") || strings.Contains(msg, "item ") || strings.Count(msg, "line ") != 1 {
			t.Errorf("%q: %q, want one position, %q", tt.lines, msg, tt.want)
		}
		if v.Error.Line == nil || *v.Error.Line != tt.line {
			t.Errorf("%q: line %v, want %d", tt.lines, v.Error.Line, tt.line)
		}
	}
}
