package rrdcached

import (
	"math"

	"rrdash/store"
)

// hotArena holds the values of the chunk's updates hotLines (and
// fastUpdate's one-value form) took until the chunk is handed over: like
// store.UpdateArena for the one form, with no template, count or time to
// keep. A canonical integer is kept as a number (store.Update.Nums), the
// rest as text.
type hotArena struct {
	text []byte
	at   []int32 // the update's index in the chunk
	end  []int32 // the end of its value in text (it starts where the previous ended)

	nums  []float64 // the canonical integers
	numAt []int32   // the update's index in the chunk
}

// fill sets the Values or Nums of the updates taken, in ups: one string
// for all the text, one slice for all the values, and the numbers in
// room (the chunk's, recycled with it), which it returns.
func (a *hotArena) fill(ups []store.Update, room []float64) []float64 {
	if len(a.numAt) > 0 {
		room = append(room[:0], a.nums...) // the chunk owns it from now on
		for i, at := range a.numAt {
			ups[at].Nums = room[i : i+1 : i+1]
		}
		a.nums, a.numAt = a.nums[:0], a.numAt[:0]
	}
	if len(a.at) == 0 {
		return room
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
	return room
}

// addText keeps the value text v of the chunk's next update.
func (a *hotArena) addText(v []byte, at int) {
	a.text = append(a.text, v...)
	a.at = append(a.at, int32(at))
	a.end = append(a.end, int32(len(a.text)))
}

// addNum keeps the number x of the chunk's next update.
func (a *hotArena) addNum(x float64, at int) {
	a.nums = append(a.nums, x)
	a.numAt = append(a.numAt, int32(at))
}

// canonicalInt reads the reading at the start of v when it is a
// canonical decimal integer: "0", or an optional '-' then 1 to 15 digits
// without a leading zero. It returns the number and the bytes read; n is
// 0 for any other form ("-0", "+1", "007", 16 digits, "1.5", "1e3",
// "U"…), which keeps the text path; the caller checks what follows
// (not a digit: the digits are read to their end). On exactly these
// texts the store's numeric path is its text path (store/numupdate.go;
// hotnum_test.go checks it for every DS type): each is a double exactly,
// below 2^53, its text is store.AppendReading's, and -0 (whose last_ds
// would read "0") is out.
func canonicalInt(v []byte) (x float64, n int) {
	i := 0
	if len(v) > 0 && v[0] == '-' {
		i = 1
	}
	var u int64
	j := i
	for ; j < len(v); j++ {
		d := v[j] - '0'
		if d > 9 {
			break
		}
		u = u*10 + int64(d) // wraps past 19 digits: refused below
	}
	if d := j - i; d == 0 || d > 15 || v[i] == '0' && (d > 1 || i == 1) {
		return 0, 0
	}
	if i == 1 {
		u = -u
	}
	return float64(u), j
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
		t, ok := tenDigitTime(p)
		if !ok {
			return taken
		}
		val := p[11:]
		// the commonest value, an integer, is read here as a number:
		// the store's numeric path spares its goroutine the parse
		if x, n := canonicalInt(val); n > 0 && n < len(val) && val[n] == '\n' {
			if len(c.chunk) >= math.MaxInt32 {
				return taken
			}
			c.hot.addNum(x, len(c.chunk))
			size := pre + 11 + n
			c.appendPlain(fi.name, t, fi.key, size)
			taken += size + 1
			continue
		}
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
		c.hot.addText(val[:n], len(c.chunk))
		size := pre + 11 + n // the line without its '\n'
		c.appendPlain(fi.name, t, fi.key, size)
		taken += size + 1
	}
}
