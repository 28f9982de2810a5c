// Package rrdbin reads rrdtool's binary RRD file format (version 0003, the
// native x86-64 layout). It exists for the differential tests: rrdtool's
// text output rounds to 11 digits, the file holds the exact doubles.
package rrdbin

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
)

// File is a decoded RRD.
type File struct {
	Step       int64
	DS         []DS
	RRA        []RRA
	LastUp     int64
	LastUpUsec int64
}

// DS is one data source with its PDP preparation state.
type DS struct {
	Name, Type string
	Heartbeat  int64
	Min, Max   float64
	LastDS     string
	Value      float64 // PDP_val
	UnknownSec int64
}

// CDP is the consolidation state of one data source in one archive.
type CDP struct {
	Value, Primary, Secondary float64
	UnknownPDP                int64
}

// RRA is one archive; Rows are ordered oldest first, Times[i] is the end of row i.
type RRA struct {
	CF     string
	Steps  int64
	XFF    float64
	CurRow int64
	CDP    []CDP
	Rows   [][]float64
	Times  []int64
}

const (
	statHeadSize = 128
	dsDefSize    = 120
	rraDefSize   = 120
	liveHeadSize = 16
	pdpPrepSize  = 112
	cdpPrepSize  = 80
)

func cstr(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		return string(b[:i])
	}
	return string(b)
}

// Read decodes the file at path.
func Read(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	u64 := func(off int) int64 { return int64(le.Uint64(b[off:])) }
	f64 := func(off int) float64 { return math.Float64frombits(le.Uint64(b[off:])) }
	if len(b) < statHeadSize || cstr(b[0:4]) != "RRD" {
		return nil, errors.New("rrdbin: not an RRD file")
	}
	if v := cstr(b[4:9]); v != "0003" && v != "0005" { // 0005: DCOUNTER/DDERIVE, same layout
		return nil, fmt.Errorf("rrdbin: unsupported version %q", v)
	}
	dsCnt, rraCnt := int(u64(24)), int(u64(32))
	f := &File{Step: u64(40)}
	off := statHeadSize
	for i := 0; i < dsCnt; i++ {
		f.DS = append(f.DS, DS{Name: cstr(b[off : off+20]), Type: cstr(b[off+20 : off+40]),
			Heartbeat: u64(off + 40), Min: f64(off + 48), Max: f64(off + 56)})
		off += dsDefSize
	}
	for i := 0; i < rraCnt; i++ {
		f.RRA = append(f.RRA, RRA{CF: cstr(b[off : off+20]), Steps: u64(off + 32), XFF: f64(off + 40)})
		rows := u64(off + 24)
		f.RRA[i].Rows = make([][]float64, rows)
		off += rraDefSize
	}
	f.LastUp, f.LastUpUsec = u64(off), u64(off+8)
	off += liveHeadSize
	for i := range f.DS {
		f.DS[i].LastDS = cstr(b[off : off+30])
		f.DS[i].UnknownSec = u64(off + 32) // PDP_unkn_sec_cnt
		f.DS[i].Value = f64(off + 40)      // PDP_val
		off += pdpPrepSize
	}
	for a := range f.RRA {
		for d := 0; d < dsCnt; d++ {
			// scratch: CDP_val, CDP_unkn_pdp_cnt, (hw...), CDP_primary_val=8, CDP_secondary_val=9
			f.RRA[a].CDP = append(f.RRA[a].CDP, CDP{Value: f64(off), UnknownPDP: u64(off + 8),
				Primary: f64(off + 64), Secondary: f64(off + 72)})
			off += cdpPrepSize
		}
	}
	for a := range f.RRA {
		f.RRA[a].CurRow = u64(off)
		off += 8
	}
	for a := range f.RRA {
		r := &f.RRA[a]
		n := len(r.Rows)
		raw := make([][]float64, n)
		for i := 0; i < n; i++ {
			raw[i] = make([]float64, dsCnt)
			for d := 0; d < dsCnt; d++ {
				if off+8 > len(b) {
					return nil, errors.New("rrdbin: truncated file")
				}
				raw[i][d] = f64(off)
				off += 8
			}
		}
		span := r.Steps * f.Step
		end := f.LastUp - f.LastUp%span
		r.Times = make([]int64, n)
		for i := 0; i < n; i++ {
			// oldest first: the row after cur_row is the oldest
			src := (int(r.CurRow) + 1 + i) % n
			r.Rows[i] = raw[src]
			r.Times[i] = end - int64(n-1-i)*span
		}
	}
	return f, nil
}
