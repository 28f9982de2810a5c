package store

// Update is one rrdupdate-style reading of a series: a time and one value
// per data source, in DS order. Values are strings as rrdtool takes them
// ("U" for unknown) because COUNTER and DERIVE differences are computed
// exactly on the decimal digits.
type Update struct {
	Series string
	Time   int64 // seconds since the epoch
	Usec   int64 // microseconds within Time, 0 ≤ Usec < 1e6
	Values []string
	// Nums, when not nil, holds the readings as numbers instead of Values
	// (which must then be nil), for protocols that carry binary values:
	// no text is formatted, journaled or parsed. NaN is unknown ("U") and
	// −0 is 0. GAUGE, ABSOLUTE, DCOUNTER and DDERIVE take the number
	// itself; COUNTER and DERIVE read it exactly as the text
	// AppendReading gives (its decimal digits when it is integral), so
	// a non-integer is refused as that text is (numupdate.go).
	Nums []float64
}

// Batch is what one call to DB.Apply makes durable: updates, in order, and
// the positions every source had reached once they were read. Positions are
// journaled with the updates, so a source that resumes from DB.Position
// after a crash neither loses nor repeats a record.
type Batch struct {
	Updates []Update
	// Positions maps a source id (e.g. "tracelog:/var/log/web1.log") to an
	// opaque resume token. Nil means no change.
	Positions map[string][]byte
	// StopOnError makes the batch stop at the first update that fails, as
	// `rrdtool update` does; otherwise failed updates are reported and the
	// rest applied.
	StopOnError bool
}

// UpdateError reports one update of a batch that was refused.
type UpdateError struct {
	Index int // index in Batch.Updates
	Err   error
}

func (e *UpdateError) Error() string { return e.Err.Error() }
func (e *UpdateError) Unwrap() error { return e.Err }

// Result tells what Apply did.
type Result struct {
	Applied int
	Errors  []*UpdateError
}

// FetchRequest asks for consolidated rows as `rrdtool fetch` does.
type FetchRequest struct {
	CF         CF
	Start, End int64
	Resolution int64 // seconds; 0 or 1 means the finest archive that covers Start
	AlignStart bool  // --align-start
	// DS, when it names a data source of the series, reads that one
	// only: the other columns of the result are nil (a graph's DEF needs
	// one column of what may be a year of rows).
	DS string
}

// FetchResult holds rows as rrd_fetch returns them: row i covers
// (Start+i·Step, Start+(i+1)·Step] and is printed with time Start+(i+1)·Step.
// Values[d][i] is data source d in row i; unknown is NaN.
type FetchResult struct {
	Start, End, Step int64
	DS               []string
	Values           [][]float64
	CF               CF  // the consolidation function of the archive used
	RRA              int // index of the archive used
}

// Rows is the number of rows.
func (r *FetchResult) Rows() int {
	if r.Step == 0 {
		return 0
	}
	return int((r.End - r.Start) / r.Step)
}

// Column returns the values of the named data source, or nil.
func (r *FetchResult) Column(ds string) []float64 {
	for i, n := range r.DS {
		if n == ds {
			return r.Values[i]
		}
	}
	return nil
}
