package remote

import (
	"errors"
	"testing"
)

func TestParseUpdateV(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		lines   []string
		n       int
		rows    []int // rows per update
		refused int   // -1: none
		bad     bool
	}{
		{nil, 2, []int{0, 0}, -1, false},
		{[]string{"row 0 1000000010 0 1 AVERAGE 1 NaN", "row 1 1000000020 1 3 MAX +Inf -Inf"}, 2, []int{1, 1}, -1, false},
		{[]string{"row 0 10 0 1 LAST 1", "refused 1 \"s: illegal attempt to update using time 5\""}, 3, []int{1}, 1, false},
		{[]string{"refused 0 \"series not found: x\""}, 1, []int{}, 0, false},
		{[]string{"row 2 10 0 1 LAST 1"}, 2, nil, 0, true},                        // update index out of range
		{[]string{"row 1 10 0 1 LAST 1", "row 0 10 0 1 LAST 1"}, 2, nil, 0, true}, // out of order
		{[]string{"row 0 10 0 1 NOPE 1"}, 1, nil, 0, true},
		{[]string{"row 0 10 0 1 LAST x"}, 1, nil, 0, true},
		{[]string{"refused 0 \"a\"", "row 0 10 0 1 LAST 1"}, 1, nil, 0, true},
		{[]string{"refused 0 unquoted"}, 1, nil, 0, true},
		{[]string{"row 0 10 0 1 LAST 1", "refused 0 \"x\""}, 1, nil, 0, true}, // rows of a refused update
		{[]string{""}, 1, nil, 0, true},
	} {
		rows, ref, err := parseUpdateV(c.lines, c.n)
		if c.bad {
			if err == nil || !errors.Is(err, errBadAnswer) {
				t.Errorf("%q: %v, want a malformed answer", c.lines, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.lines, err)
			continue
		}
		if len(rows) != len(c.rows) {
			t.Errorf("%q: rows of %d updates, want %d", c.lines, len(rows), len(c.rows))
			continue
		}
		for i, n := range c.rows {
			if len(rows[i]) != n {
				t.Errorf("%q: update %d has %d rows, want %d", c.lines, i, len(rows[i]), n)
			}
		}
		if (ref == nil) != (c.refused < 0) || ref != nil && ref.Index != c.refused {
			t.Errorf("%q: refused %v, want index %d", c.lines, ref, c.refused)
		}
	}
}

func FuzzParseUpdateV(f *testing.F) {
	f.Add("row 0 1000000010 0 1 AVERAGE 1 NaN\nrow 1 1000000020 1 3 MAX +Inf -Inf", 2)
	f.Add("row 0 10 0 1 LAST 1\nrefused 1 \"s: x\"", 3)
	f.Add("refused 0 \"series not found: x\"", 1)
	f.Fuzz(func(t *testing.T, text string, n int) {
		if n < 0 || n > 1000 {
			return
		}
		var lines []string
		start := 0
		for i := 0; i <= len(text); i++ {
			if i == len(text) || text[i] == '\n' {
				lines = append(lines, text[start:i])
				start = i + 1
			}
		}
		rows, ref, err := parseUpdateV(lines, n)
		if err != nil {
			return
		}
		applied := n
		if ref != nil {
			applied = ref.Index
		}
		if len(rows) != applied {
			t.Fatalf("%q: rows of %d updates, %d applied", text, len(rows), applied)
		}
	})
}
