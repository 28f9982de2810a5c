package store

import "errors"

// TooOldLast returns the last update time (seconds) that refused an update
// with ErrTooOld, as it was at the refusal: in a batch, later updates of
// the series may have moved it since. ok is false for other errors.
func TooOldLast(err error) (last int64, ok bool) {
	var e *tooOldError
	if errors.As(err, &e) {
		return e.last, true
	}
	return 0, false
}
