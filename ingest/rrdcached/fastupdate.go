package rrdcached

import (
	"bytes"
	"strings"
	"time"

	"rrdash/store"
)

// fastUpdate takes the common request line "UPDATE <file> <time>:<value>…"
// (one set of values, a whole-number-or-fraction time after the epoch, a
// file this connection has used before, no escapes) straight into the
// chunk without splitting the line into fields; it reports false for any
// other line, which handle parses in full. The answer is the one
// handleUpdate gives the same line.
func (c *conn) fastUpdate(line []byte) bool {
	const verb = "UPDATE "
	if len(line) <= len(verb) || !asciiEqualFold(line[:len(verb)], verb) || bytes.IndexByte(line, '\\') >= 0 {
		return false
	}
	if line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	rest := line[len(verb):]
	sp := bytes.IndexByte(rest, ' ')
	if sp <= 0 || sp == len(rest)-1 || bytes.IndexByte(rest[sp+1:], ' ') >= 0 {
		return false
	}
	file, val := rest[:sp], rest[sp+1:]
	fi, cached := c.names[string(file)] // no allocation for the lookup
	if !cached || !c.mayUpdate || c.s.slowOnly {
		return false
	}
	if t, ok := plainStampValue(val); ok && bytes.IndexByte(val, '@') < 0 {
		// the values' text joins the chunk's arena: their strings are made
		// when the chunk is handed over (fillValues), one allocation a chunk
		rest := val[bytes.IndexByte(val, ':')+1:]
		want := fi.nds
		if fi.tmpl != nil {
			want = len(fi.tmpl)
		}
		if bytes.Count(rest, colon)+1 != want {
			return false // handle answers the error
		}
		off := c.arena.Len()
		c.arena.Write(rest)
		c.pendVals = append(c.pendVals, pendVal{at: len(c.chunk), off: off, end: c.arena.Len(), nds: fi.nds, tmpl: fi.tmpl})
		c.appendUpdate(store.Update{Series: fi.name, Time: t}, len(line))
		return true
	}
	v := string(val)
	if t, ok := stamp(v); !ok || t <= 0 {
		return false
	}
	k := len(c.vals)
	c.vals = append(c.vals, make([]string, fi.nds)...)
	u, err := store.ParseUpdateArgInto(v, fi.tmpl, fi.nds, time.Time{}, c.vals[k:k+fi.nds]) // tmpl: a COMPUTE DS takes no value
	if err != nil {
		c.vals = c.vals[:k]
		return false // handle answers the error
	}
	u.Series = fi.name
	c.appendUpdate(u, len(line))
	return true
}

var colon = []byte{':'}

// appendUpdate adds a fast-path update (its request line n bytes long,
// without the newline) to the chunk.
func (c *conn) appendUpdate(u store.Update, n int) {
	if c.batch {
		c.batchCmd++
		c.chunkCmds = append(c.chunkCmds, c.batchCmd)
	}
	c.rx++
	c.chunk = append(c.chunk, u)
	c.chunkLen += n + 1
	if len(c.chunk) >= maxChunk {
		c.flushChunk()
	}
}

// pendVal is a chunk update whose values are still text in the arena:
// arena[off:end] is "v1:v2:…", the update gives tmpl's data sources (nil:
// all nds).
type pendVal struct {
	at, off, end, nds int
	tmpl              []int
}

// fillValues gives the chunk's arena updates their values, as
// store.ParseUpdateArgInto splits them (a data source the update does not
// give is "U"), out of one string.
func (c *conn) fillValues() {
	if len(c.pendVals) == 0 {
		return
	}
	text := c.arena.String()
	n := 0
	for _, p := range c.pendVals {
		n += p.nds
	}
	vals := make([]string, n)
	for _, p := range c.pendVals {
		v := vals[:p.nds:p.nds]
		vals = vals[p.nds:]
		rest := text[p.off:p.end]
		if p.tmpl != nil {
			for k := range v {
				v[k] = "U"
			}
		}
		for k := 0; ; k++ {
			f := rest
			j := strings.IndexByte(rest, ':')
			if j >= 0 {
				f, rest = rest[:j], rest[j+1:]
			}
			if p.tmpl != nil {
				v[p.tmpl[k]] = f
			} else {
				v[k] = f
			}
			if j < 0 {
				break
			}
		}
		c.chunk[p.at].Values = v
	}
	// the strings now belong to the chunk: the next chunk starts a new
	// arena
	c.arena = strings.Builder{}
	c.pendVals = c.pendVals[:0]
}

// asciiEqualFold compares b with an upper-case ASCII word, ignoring case.
func asciiEqualFold(b []byte, upper string) bool {
	for i := range len(upper) {
		x := b[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if x != upper[i] {
			return false
		}
	}
	return true
}

// plainStampValue parses the time of v when it is a whole number of
// seconds after the epoch ("1700000000:…", no sign, 10 to 18 digits, not
// led by 0): a time stamp (rrdcached's check, stamp) then needs no float
// parse, and store.ParseUpdateArgInto would read the same number.
func plainStampValue(v []byte) (int64, bool) {
	i := bytes.IndexByte(v, ':')
	if i < 10 || i > 18 || v[0] == '0' {
		return 0, false
	}
	var t int64
	for _, c := range v[:i] {
		if c < '0' || c > '9' {
			return 0, false
		}
		t = t*10 + int64(c-'0')
	}
	return t, true
}
