package rpn

import (
	"strings"
	"testing"
)

// TestDEFTaggedNames: Graphite-tagged series names work in DEF; ':' inside
// a name (route=GET:/g/{id}) is written '\:' as rrdtool escapes it in file
// names, while ';', '=', '{' and '/' need no escape.
func TestDEFTaggedNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		def, series, ds, err string
	}{
		{`DEF:x=rrdash.requests;route=GET\:/;status_code=200:count:AVERAGE`, "rrdash.requests;route=GET:/;status_code=200", "count", ""},
		{`DEF:x=rrdash.requests;route=GET\:/g/{id};status_code=200:p99:MAX`, "rrdash.requests;route=GET:/g/{id};status_code=200", "p99", ""},
		{`DEF:x=cpu.usage;dc=x;host=b:value:AVERAGE:step=300`, "cpu.usage;dc=x;host=b", "value", ""},
		{`DEF:x=rrdash.errors;error_code=not_found;route=unmatched;status_code=404:count:LAST`, "rrdash.errors;error_code=not_found;route=unmatched;status_code=404", "count", ""},
		// Unescaped, the route's ':' splits the DEF: "/;status_code=200" is taken as the DS and "count" as the CF.
		{`DEF:x=rrdash.requests;route=GET:/;status_code=200:count:AVERAGE`, "", "", "count"},
	}
	for _, tc := range tests {
		sc, err := ParseScript([]string{tc.def})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want one about %q", tc.def, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.def, err)
			continue
		}
		d := sc.Stmts[0].Def
		if d.Series != tc.series || d.DS != tc.ds {
			t.Errorf("%s: series %q ds %q, want %q %q", tc.def, d.Series, d.DS, tc.series, tc.ds)
		}
	}
}
