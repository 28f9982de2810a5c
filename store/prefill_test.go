package store

import "testing"

// FuzzSplitDSMapping: create's DS:new=old[index]:… arguments split into a
// plain DS argument and a mapping, or are left alone; never a panic, and
// the plain argument names the new DS.
func FuzzSplitDSMapping(f *testing.F) {
	for _, s := range []string{"DS:a=b:GAUGE:60:U:U", "DS:a=b[2]:COUNTER:60:0:U", "DS:a=b[]:GAUGE:60:U:U", "DS:a:GAUGE:60:U:U",
		"DS:a=b[99999999999999999999]:GAUGE:1:U:U", "DS:=b:GAUGE:60:U:U", "DS:a=b[1]:COMPUTE:x,2,*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		plain, m, ok, err := SplitDSMapping(s)
		if err != nil || !ok {
			return
		}
		if len(plain) < 4 || plain[:3+len(m.Name)] != "DS:"+m.Name || m.Index < -1 {
			t.Fatalf("%q split into %q %+v", s, plain, m)
		}
	})
}
