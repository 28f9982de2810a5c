package store

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestUpdateArena: plain ARGs are taken, with the time and values
// ParseUpdateArgInto reads; every other form is left to it.
func TestUpdateArena(t *testing.T) {
	t.Parallel()
	tests := []struct {
		arg  string
		tmpl []int
		nds  int
		ok   bool
		time int64
		vals []string
	}{
		{"1700000000:1", nil, 1, true, 1700000000, []string{"1"}},
		{"1700000000:1:U:-2.5e3", nil, 3, true, 1700000000, []string{"1", "U", "-2.5e3"}},
		{"1700000000:7", []int{1}, 2, true, 1700000000, []string{"U", "7"}}, // a COMPUTE DS 0
		{"1700000000::", nil, 2, true, 1700000000, []string{"", ""}},
		{"999999999999999999:1", nil, 1, true, 999999999999999999, []string{"1"}},
		{"1700000000:1:2", nil, 1, false, 0, nil},        // too many values
		{"1700000000:1", nil, 2, false, 0, nil},          // too few
		{"N:1", nil, 1, false, 0, nil},                   // the clock
		{"1700000000.5:1", nil, 1, false, 0, nil},        // a fraction
		{"0170000000:1", nil, 1, false, 0, nil},          // led by 0
		{"170000000:1", nil, 1, false, 0, nil},           // 9 digits
		{"1700000000@x:1", nil, 1, false, 0, nil},        // AT-time
		{"1700000000:1@2", nil, 1, false, 0, nil},        // '@' anywhere
		{"-1700000000:1", nil, 1, false, 0, nil},         // relative
		{"17000000x0:1", nil, 1, false, 0, nil},          // not a number
		{"1234567890123456789:1", nil, 1, false, 0, nil}, // 19 digits
		{"1700000000:1 2", nil, 1, false, 0, nil},        // a space
		{"1700000000:1\\ ", nil, 1, false, 0, nil},       // an escape
		{"1700000000", nil, 1, false, 0, nil},            // no values
	}
	var a UpdateArena
	ups := make([]Update, len(tests))
	for i, tc := range tests {
		got, ok := a.Add([]byte(tc.arg), tc.tmpl, tc.nds, i)
		if ok != tc.ok || got != tc.time {
			t.Errorf("%q: %d %v, want %d %v", tc.arg, got, ok, tc.time, tc.ok)
		}
	}
	a.Fill(ups)
	if a.Len() != 0 {
		t.Errorf("%d updates left after Fill", a.Len())
	}
	// the strings outlive the arena's next updates (a new buffer)
	for range 3 {
		more := make([]Update, 100)
		for i := range more {
			if _, ok := a.Add([]byte("1700000000:99999999"), nil, 1, i); !ok {
				t.Fatal("refused")
			}
		}
		a.Fill(more)
	}
	for i, tc := range tests {
		if tc.ok && !slices.Equal(ups[i].Values, tc.vals) {
			t.Errorf("%q: values %q, want %q", tc.arg, ups[i].Values, tc.vals)
		}
		if !tc.ok && ups[i].Values != nil {
			t.Errorf("%q: values %q set for an ARG not taken", tc.arg, ups[i].Values)
		}
	}
}

// FuzzUpdateArena: an ARG the arena takes gives the time and values
// ParseUpdateArgInto gives, several updates sharing one arena.
func FuzzUpdateArena(f *testing.F) {
	for _, s := range []string{"1700000000:1", "1700000000:1:2", "1700000000::", "N:1", "1700000000.5:1", "1700000000:1@2", "0170000000:1",
		"999999999999999999:1:U", "1700000000:-1e3:nan",
		// a non-digit within the first 8 bytes (EightDigits)
		"1700:00000:1", "1700000:00:1", "17000/0000:1", "1700000;00:1", "12345678:1", "123456789:1", "1234567890", "99999999:1"} {
		f.Add(s, uint8(1), false)
		f.Add(s, uint8(2), true)
	}
	f.Fuzz(func(t *testing.T, arg string, nds uint8, compute bool) {
		n := int(nds%4) + 1
		var tmpl []int
		if compute && n > 1 { // data source 0 is a COMPUTE one
			for k := 1; k < n; k++ {
				tmpl = append(tmpl, k)
			}
		}
		var a UpdateArena
		ups := make([]Update, 3)
		for i := range ups {
			tm, ok := a.Add([]byte(arg), tmpl, n, i)
			want, err := ParseUpdateArgInto(arg, tmpl, n, time.Unix(1700000000, 0), make([]string, n))
			if !ok {
				if a.Len() != i {
					t.Fatalf("%q: kept although refused", arg)
				}
				return
			}
			if err != nil || want.Time != tm || want.Usec != 0 {
				t.Fatalf("%q: arena time %d, ParseUpdateArgInto %d.%06d (%v)", arg, tm, want.Time, want.Usec, err)
			}
			ups[i].Values = want.Values // compared after Fill
		}
		wants := make([][]string, len(ups))
		for i := range ups {
			wants[i] = ups[i].Values
		}
		a.Fill(ups)
		for i := range ups {
			if !slices.Equal(ups[i].Values, wants[i]) {
				t.Fatalf("%q: values %q, ParseUpdateArgInto %q", arg, ups[i].Values, wants[i])
			}
		}
	})
}

// TestEightDigits: EightDigits reads 8 digits as strconv does and refuses
// every other byte in every position.
func TestEightDigits(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(b []byte) {
		t.Helper()
		got, ok := EightDigits(binary.LittleEndian.Uint64(b))
		want, err := strconv.ParseUint(string(b), 10, 64)
		if wantOK := err == nil && b[0] != '+'; ok != wantOK || ok && got != want {
			t.Fatalf("%q: %d %v, want %d %v", b, got, ok, want, wantOK)
		}
	}
	for range 100000 {
		b := make([]byte, 8)
		for k := range b {
			b[k] = byte('0' + rng.IntN(10))
		}
		check(b)
		// one byte, any value, at any position
		b[rng.IntN(8)] = byte(rng.IntN(256))
		check(b)
	}
	for pos := range 8 {
		for c := range 256 {
			b := []byte("12345678")
			b[pos] = byte(c)
			check(b)
		}
	}
}

// TestUpdateArenaTemplates: updates of several templates (each kept once
// while repeated, arenaUpdate.tmpl) and none, in one Fill, get the values
// ParseUpdateArgInto gives, and a second Fill starts afresh.
func TestUpdateArenaTemplates(t *testing.T) {
	t1, t2 := []int{2, 0}, []int{1}
	t1b := append([]int(nil), t1...) // equal, another array
	cases := []struct {
		arg  string
		tmpl []int
	}{{"1700000000:5:6", t1}, {"1700000001:7:8", t1}, {"1700000002:9", t2}, {"1700000003:1:2:3", nil}, {"1700000004:3:4", t1b}, {"1700000005:4", t2[:1]}, {"1700000006:5:6", t1}}
	var a UpdateArena
	for round := range 2 {
		ups := make([]Update, len(cases))
		for i, c := range cases {
			if _, ok := a.Add([]byte(c.arg), c.tmpl, 3, i); !ok {
				t.Fatalf("%q refused", c.arg)
			}
		}
		a.Fill(ups)
		for i, c := range cases {
			want, err := ParseUpdateArgInto(c.arg, c.tmpl, 3, time.Unix(1700000000, 0), make([]string, 3))
			if err != nil || !slices.Equal(ups[i].Values, want.Values) {
				t.Fatalf("round %d %q %v: values %q, ParseUpdateArgInto %q (%v)", round, c.arg, c.tmpl, ups[i].Values, want.Values, err)
			}
		}
	}
}
