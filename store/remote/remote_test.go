package remote

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"rrdash/store"
)

func TestParseAddress(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, network, address string }{
		{"unix:/run/rrdcached.sock", "unix", "/run/rrdcached.sock"},
		{"/run/rrdcached.sock", "unix", "/run/rrdcached.sock"},
		{"localhost", "tcp", "localhost:42217"},
		{"127.0.0.1:4000", "tcp", "127.0.0.1:4000"},
		{"[::1]:4000", "tcp", "[::1]:4000"},
		{"[::1]", "tcp", "[::1]:42217"},
		{"unix:", "", ""},
		{"", "", ""},
		{"[::1", "", ""},
		{"[::1]x", "", ""},
		{"[::1]:", "", ""},
		{"host:", "", ""},
		{":42217", "", ""},
	} {
		n, a, err := ParseAddress(tc.in)
		if n != tc.network || a != tc.address || (err != nil) != (tc.network == "") {
			t.Errorf("ParseAddress(%q) = %q, %q, %v; want %q, %q", tc.in, n, a, err, tc.network, tc.address)
		}
	}
}

// exchange answers one extension command as a server would and reads
// the answer as the client does.
func exchange(t *testing.T, st Store, cmd string, args ...string) (*response, error) {
	t.Helper()
	r, ok := ServeExt(context.Background(), st, cmd, args)
	if !ok {
		t.Fatalf("%s is not an extension command", cmd)
	}
	if r.Wait != nil {
		if err := r.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	c := &Client{addr: "test", r: bufio.NewReader(bytes.NewReader(WriteReply(nil, r)))}
	res, err := c.readResponse()
	if err != nil {
		t.Fatalf("%s: reading the answer: %v", cmd, err)
	}
	if res.status < 0 {
		return res, storeError(&ServerError{Status: res.status, Msg: res.msg})
	}
	return res, nil
}

// The extension commands carry exactly what the store returns: values
// bit for bit (NaN, infinities, 17 digits), names with any bytes, the
// store's error texts.
func TestExtensionRoundTrip(t *testing.T) {
	t.Parallel()
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	name := "we ird\\name\n;k=v"
	spec, err := store.ParseSpecArgs(10, 1000000000, []string{"DS:a:GAUGE:30:U:U", "DS:b:COUNTER:30:0:1e20", "RRA:AVERAGE:0.5:1:10", "RRA:MAX:0.3:2:10"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateWithMeta(name, spec, map[string]string{"units": "req/s", "note": "a \"b\"\nc"}, false); err != nil {
		t.Fatal(err)
	}
	ups := []store.Update{{Series: name, Time: 1000000010, Values: []string{"0.1", "1"}}, {Series: name, Time: 1000000021, Usec: 500000, Values: []string{"inf", "3"}},
		{Series: name, Time: 1000000030, Values: []string{"0.3333333333333333", "7"}}}
	fields := []string{name}
	for _, u := range ups {
		fields = append(fields, string(formatSent(nil, u)))
	}
	if _, err := exchange(t, db, "XUPDATE", fields...); err != nil {
		t.Fatal(err)
	}
	_, err = exchange(t, db, "xupdate", name, "1000000020:1:1", "1000000040:1:1")
	var se *ServerError
	// a status line cannot hold a line break: it travels as \n
	if err == nil || !strings.HasPrefix(err.Error(), "0 "+oneLine(name)+": illegal attempt") {
		t.Errorf("a refused update: %v", err)
	} else if !asServerError(err, &se) {
		t.Errorf("a refused update is not a *ServerError: %T", err)
	} else if !errors.Is(err, store.ErrTooOld) {
		t.Errorf("a refused update is not store.ErrTooOld: %v", err)
	}

	for _, req := range []store.FetchRequest{{CF: store.Average, Start: 1000000000, End: 1000000040, Resolution: 1},
		{CF: store.Max, Start: 1000000000, End: 1000000040, Resolution: 20}, {CF: store.Average, Start: 1000000005, End: 1000000040, Resolution: 20, AlignStart: true}} {
		want, err := db.Fetch(name, req)
		if err != nil {
			t.Fatal(err)
		}
		res, err := exchange(t, db, "XFETCH", name, req.CF.String(), fmt.Sprint(req.Start), fmt.Sprint(req.End), fmt.Sprint(req.Resolution), map[bool]string{false: "0", true: "1"}[req.AlignStart])
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseFetch(res.lines)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(bitsOf(got)) != fmt.Sprint(bitsOf(want)) {
			t.Errorf("XFETCH %+v:\n%+v\nwant\n%+v", req, got, want)
		}
	}
	want, err := db.Info(name)
	if err != nil {
		t.Fatal(err)
	}
	res, err := exchange(t, db, "XINFO", name)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseInfo(res.lines)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%#v", infoBits(got)) != fmt.Sprintf("%#v", infoBits(want)) {
		t.Errorf("XINFO:\n%#v\nwant\n%#v", got, want)
	}
	res, err = exchange(t, db, "XLIST")
	if err != nil || len(res.lines) != 1 || res.lines[0] != fmt.Sprintf("%q", name) {
		t.Errorf("XLIST: %v %v", res, err)
	}
	_, err = exchange(t, db, "XINFO", "nope")
	if err == nil || err.Error() != "series not found: nope" || !isNotFound(err) {
		t.Errorf("XINFO of a missing series: %v", err)
	}
	_, err = exchange(t, db, "XLIST", "[")
	if _, lerr := db.List("["); err == nil || err.Error() != lerr.Error() {
		t.Errorf("XLIST of a bad glob: %v, want %v", err, lerr)
	}
	_, err = exchange(t, db, "XCREATE", name, "10", "1000000000", "0", "DS:a:GAUGE:30:U:U", "RRA:AVERAGE:0.5:1:10")
	if err == nil || err.Error() != "series "+oneLine(name)+" already exists" {
		t.Errorf("XCREATE of an existing series: %v", err)
	}
}

func asServerError(err error, se **ServerError) bool {
	return errors.As(err, se)
}

func isNotFound(err error) bool {
	return strings.HasPrefix(err.Error(), store.ErrNotFound.Error()) && fmt.Sprintf("%v", err) != ""
}

// bitsOf makes NaNs comparable.
func bitsOf(r *store.FetchResult) any {
	vals := make([][]uint64, len(r.Values))
	for d, col := range r.Values {
		for _, v := range col {
			vals[d] = append(vals[d], math.Float64bits(v))
		}
	}
	return []any{r.Start, r.End, r.Step, r.DS, r.CF, r.RRA, vals}
}

func infoBits(in *store.Info) *store.Info {
	c := *in
	c.DS = append([]store.DSInfo(nil), in.DS...)
	for i := range c.DS {
		d := &c.DS[i]
		d.JMin, d.JMax, d.JValue = nil, nil, nil
		for _, p := range []*float64{&d.Min, &d.Max, &d.Value} {
			if math.IsNaN(*p) {
				*p = -1234.5
			}
		}
	}
	c.RRA = append([]store.RRAInfo(nil), in.RRA...)
	for i := range c.RRA {
		c.RRA[i].CDP = append([]store.CDPInfo(nil), c.RRA[i].CDP...)
		for k := range c.RRA[i].CDP {
			p := &c.RRA[i].CDP[k]
			p.JValue = nil
			if math.IsNaN(p.Value) {
				p.Value = -1234.5
			}
		}
	}
	return &c
}

func TestAppendField(t *testing.T) {
	t.Parallel()
	b, err := appendField([]byte("X"), `a b\c`)
	if err != nil || string(b) != `X a\ b\\c` {
		t.Errorf("appendField = %q, %v", b, err)
	}
	if _, err := appendField(nil, "a\nb"); err == nil {
		t.Error("a line break was sent")
	}
}

func FuzzParseFetch(f *testing.F) {
	f.Add("Start: 10\nEnd: 30\nStep: 10\nCF: AVERAGE\nRRA: 0\nDSName: a b\n20: 1 NaN\n30: +Inf 0.1")
	f.Add("Start: 10\nEnd: 10\nStep: 10\nCF: MAX\nRRA: 1\nDSName: ")
	f.Fuzz(func(t *testing.T, s string) {
		res, err := parseFetch(strings.Split(s, "\n"))
		if err == nil && (res.Rows() != len(strings.Split(s, "\n"))-6 || len(res.Values) != len(res.DS)) {
			t.Fatalf("inconsistent result %+v", res)
		}
	})
}

func FuzzParseInfo(f *testing.F) {
	f.Add("name \"s\"\nstep 10\nlast_update 5\nds a GAUGE 30 NaN +Inf 0.5 3 \"U\"\nrra AVERAGE 10 2 1 0.5\ncdp NaN 1\nmeta \"k\" \"v w\"")
	f.Add("cdp 1 1")
	f.Fuzz(func(t *testing.T, s string) {
		parseInfo(strings.Split(s, "\n"))
	})
}

func FuzzParseSent(f *testing.F) {
	f.Add("1000000000:1:U")
	f.Add("1000000000.000001:1e3")
	f.Add(":")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := parseSent(s)
		if err != nil {
			return
		}
		again, err := parseSent(string(formatSent(nil, u)))
		if err != nil || !reflect.DeepEqual(again, u) {
			t.Fatalf("%q: %+v, sent again %+v, %v", s, u, again, err)
		}
	})
}

func FuzzReadResponse(f *testing.F) {
	f.Add("2 Two\na\nb\n")
	f.Add("-1 No such file\n")
	f.Add("0 PONG\n")
	f.Add("99999999999 x\n")
	f.Fuzz(func(t *testing.T, s string) {
		c := &Client{addr: "fuzz", r: bufio.NewReader(strings.NewReader(s))}
		res, err := c.readResponse()
		if err == nil && res.status > 0 && len(res.lines) != res.status {
			t.Fatalf("%d lines for status %d", len(res.lines), res.status)
		}
	})
}
