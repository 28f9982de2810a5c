package attime

import (
	"testing"
	"time"
)

func TestParseRange(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 3, 31, 12, 0, 0, 0, time.UTC)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip(err)
	}
	cases := []struct {
		start, end string
		loc        *time.Location
		ws, we     int64
	}{
		{"", "", time.UTC, now.Unix() - 86400, now.Unix()},
		{"-2h", "", time.UTC, now.Unix() - 7200, now.Unix()},
		{"1700000000", "start+1h30min", time.UTC, 1_700_000_000, 1_700_005_400},
		{"end-1w", "1700000000", time.UTC, 1_700_000_000 - 7*86400, 1_700_000_000},
		{"now-1mon", "now", time.UTC, time.Date(2024, 2, 31, 12, 0, 0, 0, time.UTC).Unix(), now.Unix()},
		{"now-3m", "now-30m", time.UTC, time.Date(2023, 12, 31, 12, 0, 0, 0, time.UTC).Unix(), now.Unix() - 1800},
		{"now-5m", "now-6m", time.UTC, time.Date(2023, 10, 31, 12, 0, 0, 0, time.UTC).Unix(), now.Unix() - 360},
		{"epoch+1700000000s", "-3600", time.UTC, 1_700_000_000, now.Unix() - 3600},
		// The DST day has 23 hours, but rrdtool (mktime keeping the DST flag) goes back 24.
		{"end-1d", "now", berlin, now.Unix() - 86400, now.Unix()},
		{"e-1y", "now", time.UTC, time.Date(2023, 3, 31, 12, 0, 0, 0, time.UTC).Unix(), now.Unix()},
		{"noon yesterday", "now", time.UTC, now.Unix() - 86400, now.Unix()},
		{"midnight", "teatime", time.UTC, now.Unix() - 12*3600, now.Unix() + 4*3600},
		{"23:58 31.12.1999", "12/31/99 11:59pm", time.UTC, 946684740 - 60, 946684740},
		{"19970703 12:45", "12am 01/01/01", time.UTC, 867933900, 978307200},
		{"Oct 12", "start+1d", time.UTC, time.Date(2024, 10, 12, 12, 0, 0, 0, time.UTC).Unix(), time.Date(2024, 10, 13, 12, 0, 0, 0, time.UTC).Unix()},
		{"-5+3h", "now", time.UTC, now.Unix() - 3*3600 - 5, now.Unix()},
		{"-1y6m", "-1h45min", time.UTC, time.Date(2022, 9, 31, 12, 0, 0, 0, time.UTC).Unix(), now.Unix() - 6300},
		// 02:30 on the day clocks go forward does not exist: read as standard time.
		{"02:30 31.03.2024", "start+1h", berlin, time.Date(2024, 3, 31, 1, 30, 0, 0, time.UTC).Unix(), time.Date(2024, 3, 31, 2, 30, 0, 0, time.UTC).Unix()},
	}
	for _, c := range cases {
		s, e, err := ParseRange(c.start, c.end, now, c.loc)
		if err != nil || s != c.ws || e != c.we {
			t.Errorf("%q %q: %d %d %v, want %d %d", c.start, c.end, s, e, err, c.ws, c.we)
		}
	}
	for _, bad := range [][2]string{{"start-1h", ""}, {"end-1h", "start+1h"}, {"teatime", ""}, {"yesterday", ""}, {"12:00 13/01/2020", ""}, {"now-", ""}, {"10:00 1.1.1969", ""}, {"noon+1h x", ""}, {"now", "now-1h"}} {
		if _, _, err := ParseRange(bad[0], bad[1], now, time.UTC); err == nil {
			t.Errorf("%q %q: no error", bad[0], bad[1])
		}
	}
}

// FuzzParseRange parses arbitrary --start/--end pairs.
func FuzzParseRange(f *testing.F) {
	for _, s := range [][2]string{{"", ""}, {"end-1d", "now"}, {"-3h", "start+1h30m"}, {"1700000000", "e"},
		{"now-1mon", "now-2w"}, {"s", "e"}, {"end-1y2m", "now-5min"}, {"noon yesterday", "teatime tomorrow"},
		{"20:30 22.11.2026", "12/31/99 11:59pm"}, {"Oct 12", "-5+3h"}, {"19970703 12:45", "midnight_Thu"}, {"12/31", "s+1h"}} {
		f.Add(s[0], s[1])
	}
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, start, end string) {
		s, e, err := ParseRange(start, end, now, time.UTC)
		if err == nil && s > e {
			t.Fatalf("%q %q: start %d after end %d", start, end, s, e)
		}
	})
}
