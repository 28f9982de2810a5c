package store

import (
	"encoding/binary"
	"math"
	"strings"
)

// UpdateArena parses the common update ARG, "T:v1:v2…" with T whole
// seconds after the epoch, from bytes that are only valid during the call
// (a line in a read buffer), for a caller that gathers many updates before
// one ApplyAsync: the value text of every update goes into one buffer,
// and the value strings are made at once (Fill), one allocation for all
// of them instead of one a line (up to 2 GiB of text between Fills). The zero value is ready; not safe for
// concurrent use.
type UpdateArena struct {
	// text is reused from Fill to Fill: Fill copies it into one string
	// (a strings.Builder's Write cost ~70 instructions an update)
	text []byte
	pend []arenaUpdate
	nval int // the values of pend's updates (Fill's allocation)
	// tmpls are the templates pend's updates name (arenaUpdate.tmpl):
	// pend holds no pointer, so Add's append has no write barrier
	tmpls [][]int
}

// arenaUpdate is an update whose values are still text: text[off:end] is
// "v1:v2:…" for ups[at], giving the data sources of tmpls[tmpl] (−1: all
// nds).
type arenaUpdate struct {
	at, off, end, nds, tmpl int32
}

// Add parses arg for the update that is (or will be) at index at of the
// caller's slice and returns its time. It takes only the plain form: T of
// 10 to 18 digits not led by 0, no '@', ' ' or '\\', as many values as
// tmpl (or nds when tmpl is nil) names. For any other arg ok is false and
// nothing is kept: the caller parses it with ParseUpdateArgInto, which
// also words the errors (a caller whose fields may hold ' ' or '\\'
// checks them first). On a plain arg both read the same time and values.
func (a *UpdateArena) Add(arg []byte, tmpl []int, nds, at int) (t int64, ok bool) {
	// one pass over arg: the time's digits up to the first ':', then the
	// values, counting the ':' between them
	i := 0
	if len(arg) > 8 {
		// the first 8 digits at once (SWAR): a time's usual 10 digits
		// took ~15 instructions each one at a time
		if d, ok := EightDigits(binary.LittleEndian.Uint64(arg)); ok {
			t, i = int64(d), 8
		}
	}
	for ; i < len(arg) && i <= 18; i++ {
		c := arg[i]
		if c < '0' || c > '9' {
			break
		}
		t = t*10 + int64(c-'0')
	}
	if i < 10 || i > 18 || i == len(arg) || arg[i] != ':' || arg[0] == '0' {
		return 0, false
	}
	rest := arg[i+1:]
	vals := 1
	for _, c := range rest {
		switch c {
		case ':':
			vals++
		case '@', ' ', '\\':
			return 0, false
		}
	}
	want := nds
	if tmpl != nil {
		want = len(tmpl)
	}
	if vals != want || len(a.text)+len(rest) > math.MaxInt32 || at > math.MaxInt32 {
		return 0, false
	}
	k := int32(-1)
	if tmpl != nil {
		// a connection's template stays: kept once for its updates
		if n := len(a.tmpls); n > 0 && len(a.tmpls[n-1]) == len(tmpl) && &a.tmpls[n-1][0] == &tmpl[0] {
			k = int32(n - 1)
		} else {
			k, a.tmpls = int32(n), append(a.tmpls, tmpl)
		}
	}
	off := len(a.text)
	a.text = append(a.text, rest...)
	a.pend = append(a.pend, arenaUpdate{at: int32(at), off: int32(off), end: int32(len(a.text)), nds: int32(nds), tmpl: k})
	a.nval += nds
	return t, true
}

// EightDigits reads 8 ASCII digits packed little-endian in x (the first
// digit in the low byte) as a number; ok is false when any byte is not a
// digit. (Also the line protocol's timestamp reader's.)
func EightDigits(x uint64) (n uint64, ok bool) {
	const ones = 0x0101010101010101
	// every byte in '0'..'9': its high nibble is 3, and adding 6 keeps
	// it 3 (0x3a..0x3f would carry into 4)
	if x&(0xf0*ones) != 0x30*ones || (x+0x06*ones)&(0xf0*ones) != 0x30*ones {
		return 0, false
	}
	x -= 0x30 * ones
	x = (x*10 + x>>8) & 0x00ff00ff00ff00ff      // pairs
	x = (x*100 + x>>16) & 0x0000ffff0000ffff    // fours
	return (x*10000 + x>>32) & 0xffffffff, true // eight
}

// Len is the number of updates waiting for Fill.
func (a *UpdateArena) Len() int { return len(a.pend) }

// Fill sets the Values of every update Add took, in ups, as
// ParseUpdateArgInto would (a data source the template does not name is
// "U"), and empties the arena: the strings belong to ups from then on.
func (a *UpdateArena) Fill(ups []Update) {
	if len(a.pend) == 0 {
		return
	}
	text := string(a.text)
	vals := make([]string, a.nval)
	for _, p := range a.pend {
		v := vals[:p.nds:p.nds]
		vals = vals[p.nds:]
		if p.nds == 1 && p.tmpl < 0 {
			// Add counted one value: no ':' to look for
			v[0] = text[p.off:p.end]
			ups[p.at].Values = v
			continue
		}
		var tmpl []int
		if p.tmpl >= 0 {
			tmpl = a.tmpls[p.tmpl]
			for k := range v {
				v[k] = "U"
			}
		}
		rest := text[p.off:p.end]
		for k := 0; ; k++ {
			f := rest
			j := strings.IndexByte(rest, ':')
			if j >= 0 {
				f, rest = rest[:j], rest[j+1:]
			}
			if tmpl != nil {
				v[tmpl[k]] = f
			} else {
				v[k] = f
			}
			if j < 0 {
				break
			}
		}
		ups[p.at].Values = v
	}
	// the strings have their own copy: the buffer is reused, unless a
	// rare large one would stay pinned
	a.text = a.text[:0]
	if cap(a.text) > 1<<20 {
		a.text = nil
	}
	clear(a.tmpls)
	a.pend, a.tmpls, a.nval = a.pend[:0], a.tmpls[:0], 0
}
