package rrdfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// Mark, in the first word of the header's parameters (unused by rrdtool,
// which neither reads nor keeps it), tells the files rrdash writes from
// its own series from files another program made.
const Mark uint64 = 0x0001687361647272 // "rrdash" and a format number

// Marked reports whether rrdash wrote the file (Mark).
func (f *File) Marked() bool { return f.Params[0] == Mark }

// Encode writes f in rrdtool 1.7.2's x86-64 layout, the inverse of Decode
// (every NaN written as rrdtool's own unknown value, as rrdtool does):
// the named fields (Heartbeat, Min, Max, XFF, LastDS, Value, UnknownSec,
// the CDP values) are written over the raw words they come from, the rest
// of each word array as it is (zero for a File built by hand, which is
// what rrdtool's create leaves there). f.Version picks the layout; 0 means
// 0003, or 0005 when a data source is DCOUNTER or DDERIVE, as rrdtool
// 1.7.2's create chooses (0004 is for MHWPREDICT archives, which rrdash
// does not write).
func Encode(f *File) ([]byte, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	v := f.Version
	if v == 0 {
		v = 3
		for _, ds := range f.DS {
			if ds.Type == "DCOUNTER" || ds.Type == "DDERIVE" {
				v = 5
			}
		}
	}
	if v < 3 || v > 5 {
		return nil, fmt.Errorf("rrdfile: version %d: only 0003 to 0005 are written", v)
	}
	nds := len(f.DS)
	size := statHeadSize + nds*dsDefSize + len(f.RRA)*rraDefSize + 16 + nds*pdpPrepSize +
		len(f.RRA)*nds*cdpPrepSize + len(f.RRA)*rraPtrSize
	for _, x := range f.RRA {
		size += int(x.Rows) * nds * valueSize
	}
	e := encoder{b: make([]byte, 0, size)}
	e.b = append(e.b, Magic...)
	e.b = append(e.b, fmt.Sprintf("%04d\x00", v)...)
	e.b = append(e.b, make([]byte, 7)...) // padding before the float cookie
	e.f64(floatCookie)
	e.u64(uint64(nds))
	e.u64(uint64(len(f.RRA)))
	e.u64(uint64(f.Step))
	e.words(f.Params)
	for _, ds := range f.DS {
		e.str(ds.Name, 20)
		e.str(ds.Type, 20)
		w := ds.Params
		w[dsHeartbeat] = uint64(ds.Heartbeat)
		w[dsMin], w[dsMax] = f64bits(ds.Min), f64bits(ds.Max)
		e.words(w)
	}
	for _, x := range f.RRA {
		e.str(x.CF, 20)
		e.b = append(e.b, 0, 0, 0, 0) // padding before row_cnt
		e.u64(uint64(x.Rows))
		e.u64(uint64(x.Steps))
		w := x.Params
		w[rraXFF] = f64bits(x.XFF)
		e.words(w)
	}
	e.u64(uint64(f.LastUpdate))
	if v >= 3 {
		e.u64(uint64(f.LastUpdateUsec))
	}
	for _, ds := range f.DS {
		e.str(ds.LastDS, 30)
		e.b = append(e.b, 0, 0) // padding before scratch
		w := ds.Scratch
		w[pdpUnknownSec] = uint64(ds.UnknownSec)
		w[pdpValue] = f64bits(ds.Value)
		e.words(w)
	}
	for _, x := range f.RRA {
		for _, c := range x.CDP {
			w := c.Scratch
			w[cdpValue] = f64bits(c.Value)
			w[cdpUnknown] = uint64(c.UnknownPDP)
			w[cdpPrimary], w[cdpSecondary] = f64bits(c.Primary), f64bits(c.Secondary)
			e.words(w)
		}
	}
	for _, x := range f.RRA {
		e.u64(uint64(x.CurRow))
	}
	for _, x := range f.RRA {
		for _, v := range x.Ring {
			e.f64(v)
		}
	}
	return e.b, nil
}

// check refuses what Encode can't write as rrdtool would read it.
func (f *File) check() error {
	switch {
	case len(f.DS) == 0 || len(f.RRA) == 0:
		return fmt.Errorf("rrdfile: %d data sources and %d archives: at least one of each", len(f.DS), len(f.RRA))
	case f.Step <= 0:
		return fmt.Errorf("rrdfile: step %d is not positive", f.Step)
	}
	for i, ds := range f.DS {
		if ds.Name == "" || len(ds.Name) > 19 || len(ds.Type) > 19 || len(ds.LastDS) > 29 {
			return fmt.Errorf("rrdfile: ds[%d] %q: name (1 to 19 bytes), type (19) or last_ds %q (29) too long", i, ds.Name, ds.LastDS)
		}
	}
	for i, x := range f.RRA {
		switch {
		case len(x.CF) > 19:
			return fmt.Errorf("rrdfile: rra[%d]: CF %q over 19 bytes", i, x.CF)
		case x.Rows <= 0 || x.Steps <= 0:
			return fmt.Errorf("rrdfile: rra[%d]: %d rows of %d steps: both must be positive", i, x.Rows, x.Steps)
		case x.CurRow < 0 || x.CurRow >= x.Rows:
			return fmt.Errorf("rrdfile: rra[%d]: cur_row %d outside its %d rows", i, x.CurRow, x.Rows)
		case len(x.CDP) != len(f.DS):
			return fmt.Errorf("rrdfile: rra[%d]: %d CDP states for %d data sources", i, len(x.CDP), len(f.DS))
		case int64(len(x.Ring)) != x.Rows*int64(len(f.DS)):
			return fmt.Errorf("rrdfile: rra[%d]: %d values for %d rows of %d data sources", i, len(x.Ring), x.Rows, len(f.DS))
		}
	}
	return nil
}

type encoder struct{ b []byte }

func (e *encoder) u64(v uint64)  { e.b = binary.LittleEndian.AppendUint64(e.b, v) }
func (e *encoder) f64(v float64) { e.u64(f64bits(v)) }

// dnan is rrdtool's unknown value on x86-64 (0.0/0.0: the sign bit set),
// which rrdtool fetch prints "-nan".
const dnan = 0xfff8000000000000

// f64bits is v's bits with every NaN written as rrdtool writes unknown.
func f64bits(v float64) uint64 {
	if v != v {
		return dnan
	}
	return math.Float64bits(v)
}

func (e *encoder) words(w Words) {
	for _, v := range w {
		e.u64(v)
	}
}

// str writes s NUL-padded to n bytes (check made sure it fits with its
// NUL).
func (e *encoder) str(s string, n int) {
	e.b = append(e.b, s...)
	e.b = append(e.b, make([]byte, n-len(s))...)
}

// WriteFile encodes f and replaces path with it atomically: the bytes go
// to a temporary file in the same directory, synced, then renamed over
// path, so a reader (rrdtool run at any moment) sees the old file or the
// new one, never a part.
func WriteFile(path string, f *File, perm os.FileMode) error {
	b, err := Encode(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(b)
	if werr == nil {
		werr = tmp.Chmod(perm)
	}
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		return errors.Join(fmt.Errorf("%s: %w", path, werr), os.Remove(tmp.Name()))
	}
	return nil
}
