package graph

import (
	"strings"
	"testing"
)

// TestCheckUTF8Names: an invalid string is reported with the field it is
// in (its line or item number formatted only then), a valid spec passes.
func TestCheckUTF8Names(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		spec Spec
		want string
	}{
		{"valid", Spec{Title: "ok", Defs: []Def{{Name: "v"}}, Items: []Item{{Type: "LINE1", Legend: "é"}}}, ""},
		{"title", Spec{Title: "a\xffb"}, `title "a\xffb" is not valid UTF-8`},
		{"def", Spec{Defs: []Def{{Name: "v"}, {Name: "w", Expr: "\xfe"}}}, `line 2 "\xfe" is not valid UTF-8`},
		{"item", Spec{Items: []Item{{Type: "LINE1"}, {Type: "AREA"}, {Type: "GPRINT", Format: "%\xc3"}}}, `item 3 "%\xc3" is not valid UTF-8`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.spec.checkUTF8()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("checkUTF8 = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("checkUTF8 = %v, want %q", err, tc.want)
			}
		})
	}
}
