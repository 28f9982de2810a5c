package rrdcached

import (
	"bytes"
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
	v := string(val)
	if !plainStamp(val) {
		if t, ok := stamp(v); !ok || t <= 0 {
			return false
		}
	}
	k := len(c.vals)
	c.vals = append(c.vals, make([]string, fi.nds)...)
	u, err := store.ParseUpdateArgInto(v, fi.tmpl, fi.nds, time.Time{}, c.vals[k:k+fi.nds]) // tmpl: a COMPUTE DS takes no value
	if err != nil {
		c.vals = c.vals[:k]
		return false // handle answers the error
	}
	u.Series = fi.name
	if c.batch {
		c.batchCmd++
		c.chunkCmds = append(c.chunkCmds, c.batchCmd)
	}
	c.s.updatesRx.Add(1)
	c.chunk = append(c.chunk, u)
	c.chunkLen += len(line) + 1
	if len(c.chunk) >= maxChunk {
		c.flushChunk()
	}
	return true
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

// plainStamp reports whether v starts with a whole number of seconds after
// the epoch ("1700000000:…", no sign, 10 to 18 digits, not led by 0): a
// time stamp (rrdcached's check, stamp) needs no float parse then.
func plainStamp(v []byte) bool {
	i := bytes.IndexByte(v, ':')
	if i < 10 || i > 18 || v[0] == '0' {
		return false
	}
	for _, c := range v[:i] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
