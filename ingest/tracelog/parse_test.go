package tracelog

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	us := func(s string, loc *time.Location) int64 {
		tm, err := time.ParseInLocation("2006-01-02 15:04:05.999999", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMicro()
	}
	tests := []struct {
		name, line           string
		loc                  *time.Location
		code                 byte
		id, data, host, prog string
		pid                  string
		time                 string
		noFrac, tsep         bool
		err                  string // substring of the error; "" = success
	}{
		{name: "zservertracelog", line: "B 0.-1451819092 2009-07-30 15:47:21.560343 GET /columns/t-jansen",
			code: 'B', id: "0.-1451819092", data: "GET /columns/t-jansen", time: "2009-07-30 15:47:21.560343"},
		{name: "T separated", line: "B -1214390740 2007-04-27T20:16:55.582940 GET /",
			code: 'B', id: "-1214390740", data: "GET /", time: "2007-04-27 20:16:55.58294", tsep: true},
		{name: "no fraction", line: "E 0.1 2009-07-30 15:47:21",
			code: 'E', id: "0.1", time: "2009-07-30 15:47:21", noFrac: true},
		{name: "short fraction", line: "C 0.1 2009-07-30 15:47:21.5",
			code: 'C', id: "0.1", time: "2009-07-30 15:47:21.5"},
		{name: "nanoseconds truncated", line: "C 0.1 2009-07-30 15:47:21.123456789",
			code: 'C', id: "0.1", time: "2009-07-30 15:47:21.123456"},
		{name: "Zope 2 -M, E with trailing space", line: "E 140234 2009-07-30T15:47:21 ",
			code: 'E', id: "140234", time: "2009-07-30 15:47:21", noFrac: true, tsep: true},
		{name: "resumelb answer", line: "A lb.7 2012-03-01 10:00:00.000100 200 OK 1234",
			code: 'A', id: "lb.7", data: "200 OK 1234", time: "2012-03-01 10:00:00.0001"},
		{name: "application error", line: "A 9 2012-03-01 10:00:00.1 Error: ConflictError",
			code: 'A', id: "9", data: "Error: ConflictError", time: "2012-03-01 10:00:00.1"},
		{name: "local time", line: "S 0 2026-07-01 12:00:00.000001", loc: berlin,
			code: 'S', id: "0", time: "2026-07-01 12:00:00.000001"},
		{name: "local time, winter", line: "X 0 2026-01-01 12:00:00.000001", loc: berlin,
			code: 'X', id: "0", time: "2026-01-01 12:00:00.000001"},
		{name: "BSD prefix", line: "Nov 22 12:24:32 web1 zope[4711]: B 1 2026-11-22 12:24:32.692547 GET /",
			host: "web1", prog: "zope", pid: "4711", code: 'B', id: "1", data: "GET /", time: "2026-11-22 12:24:32.692547"},
		{name: "BSD prefix, padded day", line: "Nov  2 12:24:32 web1 zope[4711]: E 1 2026-11-02 12:24:32.692547",
			host: "web1", prog: "zope", pid: "4711", code: 'E', id: "1", time: "2026-11-02 12:24:32.692547"},
		{name: "BSD prefix, fraction", line: "Nov 22 12:24:32.000123 web1 zope[4711]: E 1 2026-11-22 12:24:32.692547",
			host: "web1", prog: "zope", pid: "4711", code: 'E', id: "1", time: "2026-11-22 12:24:32.692547"},
		{name: "BSD prefix, empty fraction", line: "Nov 22 12:24:32. web1 zope[4711]: E 1 2026-11-22 12:24:32.692547", err: "BSD syslog timestamp"},
		{name: "BSD prefix, no pid", line: "Nov 22 12:24:32 web1.example.com zope: I 1 2026-11-22 12:24:32.1 0",
			host: "web1.example.com", prog: "zope", code: 'I', id: "1", data: "0", time: "2026-11-22 12:24:32.1"},
		{name: "ISO prefix", line: "2026-11-22T12:24:32.692547+00:00 web2 resumelb[9]: C lb.1 2026-11-22 12:24:32.692547",
			host: "web2", prog: "resumelb", pid: "9", code: 'C', id: "lb.1", time: "2026-11-22 12:24:32.692547"},
		{name: "ISO prefix Z", line: "2026-11-22T12:24:32Z web2 zope: C 1 2026-11-22 12:24:32",
			host: "web2", prog: "zope", code: 'C', id: "1", time: "2026-11-22 12:24:32", noFrac: true},
		{name: "custom dash", line: "- 0.1 2009-07-30 15:47:21.1 anything at all", code: '-'},
		{name: "database", line: "D 0.1 2009-07-30 15:47:21.349080 302 0", code: 'D'},
		{name: "custom letter", line: "Q whatever", code: 'Q'},
		{name: "CRLF", line: "E 1 2009-07-30 15:47:21\r", code: 'E', id: "1", time: "2009-07-30 15:47:21", noFrac: true},

		{name: "empty", line: "", err: "empty line"},
		{name: "garbage", line: "hello world", err: "not a trace record"},
		{name: "unknown code", line: "# 1 2009-07-30 15:47:21", err: "unknown record code"},
		{name: "long code", line: "BB 1 2009-07-30 15:47:21", err: "not a trace record"},
		{name: "no id", line: "B  2009-07-30 15:47:21", err: "missing request id"},
		{name: "no time", line: "B 1", err: "missing timestamp"},
		{name: "bad month", line: "B 1 2009-13-30 15:47:21", err: "month out of range"},
		{name: "bad day", line: "B 1 2009-02-29 15:47:21", err: "day out of range"},
		{name: "bad hour", line: "B 1 2009-02-28 24:47:21", err: "hour out of range"},
		{name: "bad minute", line: "B 1 2009-02-28 23:60:21", err: "out of range"},
		{name: "bad separator", line: "B 1 2009-02-28_23:47:21", err: "separated by a space or T"},
		{name: "letters in time", line: "B 1 2009-02-28 23:4x:21", err: "digit expected"},
		{name: "empty fraction", line: "B 1 2009-02-28 23:47:21. GET /", err: "fractional seconds"},
		{name: "junk after time", line: "B 1 2009-02-28 23:47:21x GET /", err: "unexpected character"},
		{name: "bad BSD stamp", line: "Nov 22 12:2x:32 web1 zope[1]: B 1 2009-02-28 23:47:21", err: "BSD syslog timestamp"},
		{name: "bad tag", line: "Nov 22 12:24:32 web1 zope[1: B 1 2009-02-28 23:47:21", err: "program[pid]"},
		{name: "prefix only", line: "Nov 22 12:24:32 web1 zope[1]:", err: "missing trace record"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			loc := tc.loc
			if loc == nil {
				loc = time.UTC
			}
			var r Record
			err := NewParser(loc).Parse([]byte(tc.line), &r)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Code != tc.code || string(r.Host) != tc.host || string(r.Program) != tc.prog || string(r.PID) != tc.pid {
				t.Errorf("code %q host %q prog %q pid %q", r.Code, r.Host, r.Program, r.PID)
			}
			if !IsRequestCode(tc.code) {
				return
			}
			if string(r.ID) != tc.id || string(r.Data) != tc.data {
				t.Errorf("id %q data %q", r.ID, r.Data)
			}
			if want := us(tc.time, loc); r.Time != want {
				t.Errorf("time %d (%s), want %d", r.Time, time.UnixMicro(r.Time).In(loc), want)
			}
			if r.NoFraction != tc.noFrac || r.TSeparated != tc.tsep {
				t.Errorf("noFraction %v tSeparated %v", r.NoFraction, r.TSeparated)
			}
		})
	}
}

// The hour cache must not leak a date into the next line.
func TestParseHourCache(t *testing.T) {
	t.Parallel()
	p := NewParser(time.UTC)
	var r Record
	for _, c := range []struct{ line, want string }{
		{"B 1 2009-07-30 15:59:59.9", "2009-07-30T15:59:59.9Z"},
		{"B 1 2009-07-30 16:00:00.1", "2009-07-30T16:00:00.1Z"},
		{"B 1 2009-07-31 16:00:00.1", "2009-07-31T16:00:00.1Z"},
		{"B 1 2010-07-31T16:00:00.1", "2010-07-31T16:00:00.1Z"},
	} {
		if err := p.Parse([]byte(c.line), &r); err != nil {
			t.Fatal(err)
		}
		if got := time.UnixMicro(r.Time).UTC().Format(time.RFC3339Nano); got != c.want {
			t.Errorf("%s: %s, want %s", c.line, got, c.want)
		}
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"200 1234": 200, "500 OK 1": 500, "302": 302, "?": 0, "2000 1": 0, "20x 1": 0, "": 0, "Error: x": 0} {
		if got := Status([]byte(in)); got != want {
			t.Errorf("Status(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestNaming(t *testing.T) {
	t.Parallel()
	r := &Record{Host: []byte("web1"), Program: []byte("zope"), PID: []byte("42")}
	for tmpl, want := range map[Naming]string{"": "web1.zope", "{host}.{program}.{pid}": "web1.zope.42", "{host}": "web1", "x-{pid}": "x-42"} {
		if got := tmpl.Instance(r); got != want {
			t.Errorf("%q: %q, want %q", tmpl, got, want)
		}
	}
	if err := Naming("{host}.{prog}").Validate(); err == nil {
		t.Error("unknown placeholder accepted")
	}
	if got := DefaultNaming.Instance(&Record{Host: []byte("h")}); got != "h" {
		t.Errorf("no program: %q", got)
	}
	if got := FileInstance("/var/log/web1.trace.log"); got != "web1" {
		t.Errorf("FileInstance: %q", got)
	}
}
