package rrdcached

import (
	"bytes"
	"encoding/binary"
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
	// the usual upper-case verb in one comparison, other cases by byte
	if len(line) <= len(verb) || string(line[:len(verb)]) != verb && !asciiEqualFold(line[:len(verb)], verb) {
		return false
	}
	if line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	rest := line[len(verb):]
	fi := &c.lastFI // not copied: 72 bytes a line
	var val []byte
	// a run of lines naming one file (one series' updates, in order)
	// skips the scans for the file's end and the map look-up: the file
	// was checked (no '\\', no ' ') when it became lastFile, and the
	// value is checked below (Add refuses ' ' and '\\' in it)
	checked := false
	if lf := c.lastFile; lf != "" && len(rest) > len(lf)+1 && rest[len(lf)] == ' ' && string(rest[:len(lf)]) == lf {
		val = rest[len(lf)+1:]
		c.streak = true
	} else {
		c.streak = false
		if bytes.IndexByte(line, '\\') >= 0 {
			return false
		}
		sp := bytes.IndexByte(rest, ' ')
		if sp <= 0 || sp == len(rest)-1 || bytes.IndexByte(rest[sp+1:], ' ') >= 0 {
			return false
		}
		file := rest[:sp]
		val, checked = rest[sp+1:], true
		if !c.mayUpdate || c.s.slowOnly {
			return false
		}
		f, cached := c.names[string(file)] // no allocation for the lookup
		if !cached {
			return false
		}
		c.lastFile, c.lastFI = f.file, f
	}
	if !c.mayUpdate || c.s.slowOnly {
		return false
	}
	// one data source, a 10-digit time and an integer: a number, as
	// hotLines takes it
	if fi.nds == 1 && fi.tmpl == nil {
		if t, x, ok := plainInt(val); ok {
			c.hot.addNum(x, len(c.chunk))
			c.appendPlain(fi.name, t, fi.key, len(line))
			return true
		}
	}
	// the common form's value text joins the chunk's arena: the value
	// strings are made when the chunk is handed over, one allocation a
	// chunk; any other form is parsed on its own
	if t, ok := c.arena.Add(val, fi.tmpl, fi.nds, len(c.chunk)); ok {
		c.appendPlain(fi.name, t, fi.key, len(line))
		return true
	}
	if !checked && (bytes.IndexByte(val, ' ') >= 0 || bytes.IndexByte(val, '\\') >= 0) {
		return false
	}
	if bytes.IndexByte(val, '@') >= 0 {
		// an at-style time ("1:00@…") is read against the clock:
		// handleUpdate's (with no clock it read as year 1, and applied)
		return false
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
	c.appendUpdate(u, fi.key, len(line))
	return true
}

// plainInt reads v when it is "<10-digit time>:<canonical integer>"
// (the time without a leading zero).
func plainInt(v []byte) (t int64, x float64, ok bool) {
	if t, ok = tenDigitTime(v); !ok {
		return 0, 0, false
	}
	x, n := canonicalInt(v[11:])
	if n == 0 || 11+n != len(v) {
		return 0, 0, false
	}
	return t, x, true
}

// tenDigitTime reads "<10-digit time>:" at the start of p, the time
// without a leading zero: the commonest UPDATE's, for plainInt and
// hotLines.
func tenDigitTime(p []byte) (int64, bool) {
	if len(p) < 11 || p[10] != ':' || p[0] == '0' {
		return 0, false
	}
	hi, ok := store.EightDigits(binary.LittleEndian.Uint64(p))
	d8, d9 := p[8]-'0', p[9]-'0'
	if !ok || d8 > 9 || d9 > 9 {
		return 0, false
	}
	return int64(hi)*100 + int64(d8)*10 + int64(d9), true
}

// appendUpdate adds a fast-path update of the series numbered key (its
// request line n bytes long, without the newline) to the chunk.
func (c *conn) appendUpdate(u store.Update, key int32, n int) {
	if c.batch {
		c.batchCmd++
		c.chunkCmds = c.chunkCmds.add(c.batchCmd)
	}
	c.rx++
	c.chunk = append(c.chunk, u)
	c.chunkKeys = append(c.chunkKeys, key)
	c.chunkLen += n + 1
	if len(c.chunk) >= maxChunk {
		c.flushChunk()
	}
}

// appendPlain is appendUpdate of the update at time t of series name
// whose Values the arena fills: the chunk's slot
// is set in place instead of passing and copying an 80-byte Update.
func (c *conn) appendPlain(name string, t int64, key int32, n int) {
	if c.batch {
		c.batchCmd++
		c.chunkCmds = c.chunkCmds.add(c.batchCmd)
	}
	c.rx++
	if k := len(c.chunk); k < cap(c.chunk) {
		c.chunk = c.chunk[:k+1]
		c.chunk[k] = store.Update{Series: name, Time: t}
	} else {
		c.chunk = append(c.chunk, store.Update{Series: name, Time: t})
	}
	c.chunkKeys = append(c.chunkKeys, key)
	c.chunkLen += n + 1
	if len(c.chunk) >= maxChunk {
		c.flushChunk()
	}
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

// forget drops what the connection learnt of a file name.
func (c *conn) forget(file string) {
	delete(c.names, file)
	if file == c.lastFile {
		c.lastFile, c.lastFI = "", fileInfo{}
	}
}
