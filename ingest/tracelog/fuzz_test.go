package tracelog

import (
	"bytes"
	"math"
	"strconv"
	"testing"
	"time"
)

// FuzzParse: no input panics, and what parses is consistent with the line.
func FuzzParse(f *testing.F) {
	f.Add([]byte("B 0.-1451819092 2009-07-30 15:47:21.560343 GET /columns/t-jansen"))
	f.Add([]byte("Nov 22 12:24:32 web1 zope[4711]: A 1 2026-11-22 12:24:32.692547 500 OK 12"))
	f.Add([]byte("2026-11-22T12:24:32.692547+00:00 web2 zope: E 1 2026-11-22T12:24:32 "))
	p := NewParser(time.UTC)
	f.Fuzz(func(t *testing.T, line []byte) {
		var r Record
		err := p.Parse(line, &r)
		if err != nil {
			return
		}
		if !IsRequestCode(r.Code) {
			return
		}
		if len(r.ID) == 0 || bytes.IndexByte(r.ID, ' ') >= 0 {
			t.Fatalf("id %q", r.ID)
		}
		if !bytes.Contains(line, r.ID) || !bytes.Contains(line, r.Data) {
			t.Fatal("slices do not come from the line")
		}
		if r.Time < 0 {
			t.Fatalf("time %d", r.Time)
		}
	})
}

// FuzzDerive: any text through the parser and deriver gives rows whose
// values are unknown or finite and non-negative.
func FuzzDerive(f *testing.F) {
	f.Add([]byte("B 1 2009-07-30 15:47:21.1 GET /\nI 1 2009-07-30 15:47:21.2 0\nC 1 2009-07-30 15:47:21.3\nA 1 2009-07-30 15:47:22.3 500 1\nE 1 2009-07-30 15:47:22.4\n"))
	f.Add([]byte("E 1 2009-07-30 15:47:21\nA 2 2009-07-30 15:49:21 200 ?\nS 0 2009-07-30 15:50:21\nB 3 2009-07-30T15:50:21 GET /\nE 3 2009-07-30T15:50:22 \n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDeriver(DeriverConfig{Step: 60, Grace: 5}, nil)
		fd := &feeder{d: d, now: func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }, future: 24 * time.Hour}
		fd.begin()
		src := newSource(0, "fuzz", time.UTC, "", DefaultNaming, true)
		var off int64
		for _, l := range bytes.Split(data, []byte("\n")) {
			if err := fd.line(src, off, l); err != nil {
				t.Fatal(err)
			}
			off += int64(len(l) + 1)
		}
		d.Flush()
		for _, r := range d.Rows() {
			for i, v := range r.Values {
				if v == "U" {
					continue
				}
				x, err := strconv.ParseFloat(v, 64)
				if err != nil || math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
					t.Fatalf("%s = %q", DSNames[i], v)
				}
			}
		}
	})
}
