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
