package rrdcached

import (
	"encoding/binary"
	"math"

	"rrdash/store"
)

// hotArena holds the value text of the chunk's updates hotLines took
// (one value each) until the chunk is handed over: like store.UpdateArena
// for the one form, with no template, count or time to keep.
type hotArena struct {
	text []byte
	at   []int32 // the update's index in the chunk
	end  []int32 // the end of its value in text (it starts where the previous ended)
}

// fill sets the Values of the updates hotLines took, in ups: one string
// for all the text, one slice for all the values.
func (a *hotArena) fill(ups []store.Update) {
	if len(a.at) == 0 {
		return
	}
	text := string(a.text)
	vals := make([]string, len(a.at))
	off := int32(0)
	for i, at := range a.at {
		end := a.end[i]
		vals[i] = text[off:end]
		ups[at].Values = vals[i : i+1 : i+1]
		off = end
	}
	a.at, a.end = a.at[:0], a.end[:0]
	if cap(a.text) > 1<<20 {
		a.text = nil // a rare large buffer would stay pinned
	} else {
		a.text = a.text[:0]
	}
}

// hotLines takes, from the start of buf (the reader's buffered input),
// the run of request lines of the commonest form: "UPDATE <the
// connection's last file> <10-digit time>:<one value>\n" for a file of
// one data source and no template, the value without ':', '@', ' ', '\\'
// or '\r' and not empty. It returns the bytes taken (whole lines); the
// first line of another form, or an unfinished one, is left for
// fastUpdate and handle. Each line is taken as fastUpdate takes it (the
// same update, answer and counts) without the reader's per-line calls,
// scans and the arena's general form: the line is read once, in place.
func (c *conn) hotLines(buf []byte) int {
	fi := &c.lastFI
	if !c.streak || c.lastFile == "" || fi.nds != 1 || fi.tmpl != nil || !c.mayUpdate || c.s.slowOnly {
		return 0
	}
	const verb = "UPDATE "
	file := c.lastFile
	pre := len(verb) + len(file) + 1
	taken := 0
	for {
		line := buf[taken:]
		// the prefix, 10 digits and ':', and at least a value byte and '\n'
		if len(line) < pre+13 || string(line[:len(verb)]) != verb || string(line[len(verb):pre-1]) != file || line[pre-1] != ' ' {
			return taken
		}
		p := line[pre:]
		hi, ok := store.EightDigits(binary.LittleEndian.Uint64(p))
		d8, d9 := p[8]-'0', p[9]-'0'
		if !ok || d8 > 9 || d9 > 9 || p[10] != ':' || p[0] == '0' {
			return taken
		}
		t := int64(hi)*100 + int64(d8)*10 + int64(d9)
		val := p[11:]
		n := 0
		for ; n < len(val); n++ {
			switch val[n] {
			case '\n', ':', '@', ' ', '\\', '\r':
				goto end
			}
		}
	end:
		if n == 0 || n == len(val) || val[n] != '\n' {
			return taken
		}
		if len(c.hot.text)+n > math.MaxInt32 || len(c.chunk) >= math.MaxInt32 {
			return taken
		}
		c.hot.text = append(c.hot.text, val[:n]...)
		c.hot.at = append(c.hot.at, int32(len(c.chunk)))
		c.hot.end = append(c.hot.end, int32(len(c.hot.text)))
		size := pre + 11 + n // the line without its '\n'
		c.appendPlain(fi.name, t, fi.key, size)
		taken += size + 1
	}
}
