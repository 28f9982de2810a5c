package horizon

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 500_000_000)
	h := Horizon{Now: func() time.Time { return now }}
	for _, tc := range []struct {
		sec, usec int64
		future    bool
	}{
		{1_700_000_000, 0, false},
		{1_700_000_600, 500_000, false}, // exactly at the margin
		{1_700_000_600, 500_001, true},
		{1_700_000_601, 0, true},
		{253402300799, 0, true},
		{1 << 43, 0, true},
		{-1 << 43, 0, false},
	} {
		err := h.Check(tc.sec, tc.usec)
		if (err != nil) != tc.future {
			t.Errorf("Check(%d.%06d) = %v, want future %v", tc.sec, tc.usec, err, tc.future)
		}
		if lerr := h.Limit().Check(tc.sec, tc.usec); (lerr == nil) != (err == nil) || lerr != nil && lerr.Error() != err.Error() {
			t.Errorf("Limit().Check(%d.%06d) = %v, Check gave %v", tc.sec, tc.usec, lerr, err)
		}
		if err != nil && (!errors.Is(err, ErrFuture) || !strings.Contains(err.Error(), "ahead of the server clock")) {
			t.Errorf("Check(%d.%06d): error %q", tc.sec, tc.usec, err)
		}
	}
	if err := (Horizon{MaxFuture: time.Hour, Now: h.Now}).Check(1_700_003_000, 0); err != nil {
		t.Errorf("1h margin: %v", err)
	}
	if _, err := New(-time.Second); err == nil {
		t.Error("negative margin accepted")
	}
	if got := (Horizon{}).Max(); got != DefaultMaxFuture {
		t.Errorf("default margin %v", got)
	}
}

// TestMaxMillis: a time in milliseconds passes Limit.Check exactly when
// it is at most MaxMillis, around the limit, on either side of 1970 and
// for limits within a millisecond.
func TestMaxMillis(t *testing.T) {
	for _, now := range []time.Time{time.Unix(1795356000, 123456789), time.Unix(1795356000, 0), time.Unix(-5, 999_999_999), time.Unix(-1, 500_000), time.Unix(0, 0)} {
		for _, max := range []time.Duration{time.Minute, time.Millisecond, 1500 * time.Microsecond, 999 * time.Nanosecond} {
			l := Horizon{MaxFuture: max, Now: func() time.Time { return now }}.Limit()
			m := l.MaxMillis()
			for ms := m - 3; ms <= m+3; ms++ {
				sec, rem := ms/1000, ms%1000
				if rem < 0 {
					sec, rem = sec-1, rem+1000
				}
				if failed := l.Check(sec, rem*1000) != nil; failed != (ms > m) {
					t.Errorf("now %v, max %v: %d ms (max %d): Check failed %v", now, max, ms, m, failed)
				}
			}
		}
	}
}
