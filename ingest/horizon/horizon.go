// Package horizon refuses points stamped too far ahead of the clock.
//
// The store keeps each series in time order and refuses a point at or
// before the series' last update, so one point from the far future (a
// client clock off by years, `253402300799`) would make every real point
// after it late. Every ingest path therefore checks point times against
// one horizon: the clock plus a margin (DefaultMaxFuture unless
// configured). Kinesis measures against a record's arrival time instead of
// the clock so that re-reading a record after a restart decides the same.
//
// The rrdtool-compatible CLI (`rrdash update`) does not use it: rrdtool
// accepts any future time, and so does that command.
package horizon

import (
	"errors"
	"fmt"
	"time"
)

// DefaultMaxFuture is the margin ahead of the clock that ingest accepts.
const DefaultMaxFuture = 10 * time.Minute

// ErrFuture is wrapped by every refusal of a point from the future.
var ErrFuture = errors.New("timestamp in the future")

// FutureError is a point time beyond the horizon.
type FutureError struct {
	Sec, Usec int64
	Now       time.Time     // the clock (or arrival time) it was measured against
	Max       time.Duration // the margin
}

func (e *FutureError) Error() string {
	return fmt.Sprintf("timestamp %s is in the future: more than %v ahead of the server clock (%s)",
		fmtTime(e.Sec, e.Usec), e.Max, e.Now.UTC().Format("2006-01-02T15:04:05Z"))
}

// Unwrap makes errors.Is(err, ErrFuture) hold.
func (e *FutureError) Unwrap() error { return ErrFuture }

func fmtTime(sec, usec int64) string {
	t := time.Unix(sec, usec*1000).UTC()
	if t.Year() > 9999 || t.Year() < 0 {
		return fmt.Sprintf("%d.%06d (epoch seconds)", sec, usec)
	}
	if usec == 0 {
		return t.Format("2006-01-02T15:04:05Z") + fmt.Sprintf(" (%d)", sec)
	}
	return t.Format("2006-01-02T15:04:05.000000Z") + fmt.Sprintf(" (%d.%06d)", sec, usec)
}

// Horizon checks point times against a clock. The zero value uses
// time.Now and DefaultMaxFuture.
type Horizon struct {
	// MaxFuture is how far ahead of Now a point may be; 0 means
	// DefaultMaxFuture. Negative values are refused by Validate.
	MaxFuture time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// New returns a horizon of max ahead of time.Now (0: DefaultMaxFuture).
func New(max time.Duration) (Horizon, error) {
	h := Horizon{MaxFuture: max}
	return h, h.Validate()
}

// Validate refuses a negative margin.
func (h Horizon) Validate() error {
	if h.MaxFuture < 0 {
		return fmt.Errorf("max_future %v: must not be negative", h.MaxFuture)
	}
	return nil
}

// Max is the margin in force.
func (h Horizon) Max() time.Duration {
	if h.MaxFuture <= 0 {
		return DefaultMaxFuture
	}
	return h.MaxFuture
}

// Check returns a *FutureError if sec.usec is more than the margin ahead
// of the clock.
func (h Horizon) Check(sec, usec int64) error {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	return CheckAt(now(), h.Max(), sec, usec)
}

// CheckAt returns a *FutureError if sec.usec is more than max after now.
func CheckAt(now time.Time, max time.Duration, sec, usec int64) error {
	limit := now.Add(max)
	ls, lu := limit.Unix(), int64(limit.Nanosecond()/1000)
	if sec > ls || sec == ls && usec > lu {
		return &FutureError{Sec: sec, Usec: usec, Now: now, Max: max}
	}
	return nil
}

// Limit is the horizon read once: a request's points are checked against
// one reading of the clock rather than one each.
type Limit struct {
	now       time.Time
	max       time.Duration
	sec, usec int64
}

// Limit reads the clock now.
func (h Horizon) Limit() Limit {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	l := Limit{now: now(), max: h.Max()}
	end := l.now.Add(l.max)
	l.sec, l.usec = end.Unix(), int64(end.Nanosecond()/1000)
	return l
}

// MaxMillis is the latest time within the limit in milliseconds since the
// epoch: Check of a time ms milliseconds since the epoch fails exactly when
// ms > MaxMillis (one comparison where a protocol counts milliseconds).
func (l Limit) MaxMillis() int64 {
	us := l.sec*1_000_000 + l.usec
	ms := us / 1000
	if us%1000 < 0 {
		ms-- // floor, for a clock before 1970
	}
	return ms
}

// Check returns a *FutureError if sec.usec is beyond the limit, as
// Horizon.Check does at the time the limit was read.
func (l Limit) Check(sec, usec int64) error {
	if sec > l.sec || sec == l.sec && usec > l.usec {
		return &FutureError{Sec: sec, Usec: usec, Now: l.now, Max: l.max}
	}
	return nil
}
