// Package rrdfile decodes rrdtool's binary RRD files as rrdtool 1.7.2
// writes them on x86-64 Linux: little-endian, 8-byte longs and time_t,
// doubles aligned to 8 bytes. Versions 0003 (what rrdtool 1.7.2 writes),
// 0004 (MHWPREDICT archives) and 0005 (a DS is DCOUNTER or DDERIVE) are
// read, and the older 0001 and 0002 (no microseconds in the live head).
// Encode and WriteFile write the same layout (0003, or 0005). Files of other
// architectures (32-bit, big-endian) are refused by their float cookie,
// as rrdtool refuses them.
//
// The decoder keeps every field, including the raw parameter and scratch
// words of Holt-Winters archives and COMPUTE data sources, so that a
// caller decides what it supports.
package rrdfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// Magic is how every RRD file starts ("RRD" and a NUL).
const Magic = "RRD\x00"

// floatCookie is rrdtool's FLOAT_COOKIE, stored in the header to detect a
// foreign double layout.
const floatCookie = 8.642135e130

// Sizes of rrdtool's structs in the x86-64 layout.
const (
	statHeadSize = 128 // cookie[4] version[5] pad[7] float_cookie ds_cnt rra_cnt pdp_step par[10]
	dsDefSize    = 120 // ds_nam[20] dst[20] par[10]
	rraDefSize   = 120 // cf_nam[20] pad[4] row_cnt pdp_cnt par[10]
	pdpPrepSize  = 112 // last_ds[30] pad[2] scratch[10]
	cdpPrepSize  = 80  // scratch[10]
	rraPtrSize   = 8   // cur_row
	valueSize    = 8
)

// Indexes into the parameter and scratch arrays (rrd_format.h).
const (
	dsHeartbeat = 0 // DS_mrhb_cnt
	dsMin       = 1 // DS_min_val
	dsMax       = 2 // DS_max_val

	rraXFF = 0 // RRA_cdp_xff_val

	pdpUnknownSec = 0 // PDP_unkn_sec_cnt
	pdpValue      = 1 // PDP_val

	cdpValue     = 0 // CDP_val
	cdpUnknown   = 1 // CDP_unkn_pdp_cnt
	cdpPrimary   = 8 // CDP_primary_val
	cdpSecondary = 9 // CDP_secondary_val
)

// Words are ten of rrdtool's unival words (unsigned long or double), raw.
type Words [10]uint64

// Float reads word i as a double.
func (w Words) Float(i int) float64 { return math.Float64frombits(w[i]) }

// File is a decoded RRD file.
type File struct {
	Version        int // 1 to 5
	Step           int64
	Params         Words // stat_head par[] (unused by rrdtool 1.7.2)
	DS             []DS
	RRA            []RRA
	LastUpdate     int64 // live_head last_up
	LastUpdateUsec int64 // live_head last_up_usec (0 before version 3)
}

// DS is a data source: its definition and PDP preparation state.
type DS struct {
	Name, Type string
	Heartbeat  int64   // par[DS_mrhb_cnt]
	Min, Max   float64 // par[DS_min_val], par[DS_max_val]
	Params     Words   // all of par[] (a COMPUTE DS keeps its RPN here)
	LastDS     string  // pdp_prep last_ds
	Value      float64 // scratch[PDP_val]
	UnknownSec int64   // scratch[PDP_unkn_sec_cnt]
	Scratch    Words   // all of pdp_prep scratch[]
}

// RRA is an archive: its definition, consolidation state and ring.
type RRA struct {
	CF     string
	Rows   int64   // row_cnt
	Steps  int64   // pdp_cnt
	XFF    float64 // par[RRA_cdp_xff_val]
	Params Words   // all of par[] (Holt-Winters parameters)
	CDP    []CDP   // one per data source
	CurRow int64   // rra_ptr cur_row: the row written last
	// Ring holds Rows×len(DS) values in file order: row r, data source d
	// at r*len(DS)+d. The oldest row is the one after CurRow.
	Ring []float64
}

// CDP is the consolidation state of one data source in one archive.
type CDP struct {
	Value      float64 // scratch[CDP_val]
	UnknownPDP int64   // scratch[CDP_unkn_pdp_cnt]
	Primary    float64 // scratch[CDP_primary_val]
	Secondary  float64 // scratch[CDP_secondary_val]
	Scratch    Words   // all of scratch[]
}

// IsRRD reports whether b starts like an RRD file.
func IsRRD(b []byte) bool { return len(b) >= len(Magic) && string(b[:len(Magic)]) == Magic }

// ReadFile reads and decodes the file at path; errors name the path.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// ErrForeignArchitecture matches (errors.Is) files written by rrdtool on
// another architecture (32-bit or big-endian).
var ErrForeignArchitecture = errors.New("This RRD was created on another architecture")

// decoder reads the file front to back; every read is bounds-checked so a
// short or damaged file is an error naming the offset, never a panic.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) need(n int, what string) bool {
	if d.err != nil {
		return false
	}
	if n < 0 || d.off > len(d.b)-n {
		d.err = fmt.Errorf("%s at offset %d: file ends at %d: %w", what, d.off, len(d.b), io.ErrUnexpectedEOF)
		return false
	}
	return true
}

func (d *decoder) u64(what string) uint64 {
	if !d.need(8, what) {
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b[d.off:])
	d.off += 8
	return v
}

func (d *decoder) words(what string) (w Words) {
	for i := range w {
		w[i] = d.u64(what)
	}
	return w
}

func (d *decoder) str(n int, what string) string {
	if !d.need(n, what) {
		return ""
	}
	s := d.b[d.off : d.off+n]
	d.off += n
	for i, c := range s {
		if c == 0 {
			return string(s[:i])
		}
	}
	return string(s)
}

// Decode decodes an RRD file held in b.
func Decode(b []byte) (*File, error) {
	if !IsRRD(b) {
		return nil, errors.New(`not an RRD file (no "RRD" magic)`)
	}
	if len(b) < statHeadSize {
		return nil, fmt.Errorf("header: %d bytes, want %d: %w", len(b), statHeadSize, io.ErrUnexpectedEOF)
	}
	f := &File{}
	switch v := string(b[4:9]); v {
	case "0001\x00", "0002\x00", "0003\x00", "0004\x00", "0005\x00":
		f.Version = int(v[3] - '0')
	default:
		return nil, fmt.Errorf("unsupported RRD version %q (rrdtool 1.7.2 reads 0001 to 0005)", trimNUL(v))
	}
	if err := checkCookie(b); err != nil {
		return nil, err
	}
	d := &decoder{b: b, off: 24}
	dsCnt, rraCnt := d.u64("ds_cnt"), d.u64("rra_cnt")
	f.Step = int64(d.u64("pdp_step"))
	f.Params = d.words("stat_head par")
	// Counts bounded by what the file can hold, so a damaged count cannot
	// make a huge allocation.
	if dsCnt == 0 || dsCnt > uint64(len(b))/dsDefSize {
		return nil, fmt.Errorf("header: ds_cnt %d does not fit a file of %d bytes", dsCnt, len(b))
	}
	if rraCnt == 0 || rraCnt > uint64(len(b))/rraDefSize {
		return nil, fmt.Errorf("header: rra_cnt %d does not fit a file of %d bytes", rraCnt, len(b))
	}
	if f.Step <= 0 {
		return nil, fmt.Errorf("header: pdp_step %d is not positive", f.Step)
	}
	nds := int(dsCnt)
	f.DS = make([]DS, nds)
	for i := range f.DS {
		what := fmt.Sprintf("ds_def[%d]", i)
		x := &f.DS[i]
		x.Name = d.str(20, what)
		x.Type = d.str(20, what)
		x.Params = d.words(what)
		x.Heartbeat = int64(x.Params[dsHeartbeat])
		x.Min, x.Max = x.Params.Float(dsMin), x.Params.Float(dsMax)
	}
	f.RRA = make([]RRA, int(rraCnt))
	for i := range f.RRA {
		what := fmt.Sprintf("rra_def[%d]", i)
		x := &f.RRA[i]
		x.CF = d.str(20, what)
		d.off += 4 // padding before row_cnt
		rows, steps := d.u64(what), d.u64(what)
		x.Params = d.words(what)
		x.XFF = x.Params.Float(rraXFF)
		if d.err == nil && (rows == 0 || rows > uint64(len(b))/(valueSize*dsCnt)) {
			return nil, fmt.Errorf("%s: row_cnt %d does not fit a file of %d bytes", what, rows, len(b))
		}
		if d.err == nil && (steps == 0 || steps > math.MaxInt32) {
			return nil, fmt.Errorf("%s: pdp_cnt %d out of range", what, steps)
		}
		x.Rows, x.Steps = int64(rows), int64(steps)
	}
	f.LastUpdate = int64(d.u64("live_head"))
	if f.Version >= 3 {
		f.LastUpdateUsec = int64(d.u64("live_head"))
	}
	for i := range f.DS {
		what := fmt.Sprintf("pdp_prep[%d]", i)
		x := &f.DS[i]
		x.LastDS = d.str(30, what)
		d.off += 2 // padding before scratch
		x.Scratch = d.words(what)
		x.UnknownSec = int64(x.Scratch[pdpUnknownSec])
		x.Value = x.Scratch.Float(pdpValue)
	}
	for a := range f.RRA {
		x := &f.RRA[a]
		x.CDP = make([]CDP, nds)
		for i := range x.CDP {
			w := d.words(fmt.Sprintf("cdp_prep[%d] of rra %d", i, a))
			x.CDP[i] = CDP{Value: w.Float(cdpValue), UnknownPDP: int64(w[cdpUnknown]),
				Primary: w.Float(cdpPrimary), Secondary: w.Float(cdpSecondary), Scratch: w}
		}
	}
	for a := range f.RRA {
		x := &f.RRA[a]
		cur := d.u64(fmt.Sprintf("rra_ptr[%d]", a))
		if d.err == nil && cur >= uint64(x.Rows) {
			return nil, fmt.Errorf("rra_ptr[%d]: cur_row %d beyond the archive's %d rows", a, cur, x.Rows)
		}
		x.CurRow = int64(cur)
	}
	if d.err != nil {
		return nil, d.err
	}
	var want int64 = int64(d.off)
	for _, x := range f.RRA {
		want += x.Rows * int64(nds) * valueSize
	}
	if int64(len(b)) < want {
		// rrd_open's own words
		return nil, fmt.Errorf("RRD file is too small (should be %d bytes, is %d)", want, len(b))
	}
	for a := range f.RRA {
		x := &f.RRA[a]
		n := int(x.Rows) * nds
		x.Ring = make([]float64, n)
		for i := range x.Ring {
			x.Ring[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[d.off:]))
			d.off += valueSize
		}
	}
	return f, nil
}

// checkCookie tells a foreign layout from a damaged file: the float cookie
// of an x86-64 file is the little-endian double at offset 16; a 32-bit
// file has it at offset 12, a big-endian one byte-swapped.
func checkCookie(b []byte) error {
	le, be := binary.LittleEndian, binary.BigEndian
	switch {
	case math.Float64frombits(le.Uint64(b[16:])) == floatCookie:
		return nil
	case math.Float64frombits(le.Uint64(b[12:])) == floatCookie:
		return fmt.Errorf("%w: a 32-bit layout; dump it with rrdtool there and import the XML", ErrForeignArchitecture)
	case math.Float64frombits(be.Uint64(b[16:])) == floatCookie, math.Float64frombits(be.Uint64(b[12:])) == floatCookie:
		return fmt.Errorf("%w: a big-endian layout; dump it with rrdtool there and import the XML", ErrForeignArchitecture)
	}
	return fmt.Errorf("%w: float cookie %v at offset 16 is not rrdtool's", ErrForeignArchitecture, math.Float64frombits(le.Uint64(b[16:])))
}

func trimNUL(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return s[:i]
		}
	}
	return s
}

// Times returns the end time of every row of archive a, oldest first, as
// rrdtool dump and fetch place them: the newest row ends at the last
// update rounded down to the archive's row length.
func (f *File) Times(a int) []int64 {
	x := f.RRA[a]
	span := x.Steps * f.Step
	end := f.LastUpdate - f.LastUpdate%span
	t := make([]int64, x.Rows)
	for i := range t {
		t[i] = end - (x.Rows-1-int64(i))*span
	}
	return t
}

// Row returns the values of archive a's i-th oldest row.
func (f *File) Row(a int, i int64) []float64 {
	x := f.RRA[a]
	nds := int64(len(f.DS))
	r := (x.CurRow + 1 + i) % x.Rows
	return x.Ring[r*nds : (r+1)*nds]
}
