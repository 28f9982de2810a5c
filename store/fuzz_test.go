package store

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

// FuzzUpdate parses arbitrary rrdupdate arguments and applies them to a
// series of every DS type: errors are fine, panics and state corruption
// (time going backwards) are not.
func FuzzUpdate(f *testing.F) {
	for _, s := range []string{"1000000010:1:2:3:4", "N:U:U:U:U", "1000000010.5:1e3:18446744073709551615:-5:inf",
		"1000000010:nan:1.5:--1:x", "::::", "1000000010:1:2:3", "1e400:1:1:1:1", "-5:1:1:1:1",
		"now-1h@1:2:3:4", "noon yesterday@U:1:2:3", "start-1h@1:1:1:1"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		spec := Spec{Step: 10, Start: 1000000000, DS: []DS{
			{Name: "g", Type: Gauge, Heartbeat: 20, Min: math.NaN(), Max: math.NaN()},
			{Name: "c", Type: Counter, Heartbeat: 20, Min: 0, Max: math.NaN()},
			{Name: "d", Type: Derive, Heartbeat: 20, Min: math.NaN(), Max: 100},
			{Name: "a", Type: Absolute, Heartbeat: 20, Min: math.NaN(), Max: math.NaN()}},
			RRA: []RRA{{CF: Average, XFF: 0.5, Steps: 1, Rows: 5}, {CF: Last, XFF: 0.9, Steps: 3, Rows: 4}}}
		r, err := NewRRD(spec)
		if err != nil {
			t.Fatal(err)
		}
		for _, arg := range []string{a, b} {
			u, err := ParseUpdateArg(arg, nil, 4)
			if err != nil {
				continue
			}
			before, _ := r.LastUpdate()
			if err := r.Update(u.Time, u.Usec, u.Values); err == nil {
				if after, _ := r.LastUpdate(); after < before {
					t.Fatalf("time went back from %d to %d", before, after)
				}
			}
			r.Fetch(FetchRequest{CF: Average, Start: 1000000000, End: 1000000300})
		}
	})
}

// FuzzSpec parses DS and RRA definitions.
func FuzzSpec(f *testing.F) {
	for _, s := range []string{"DS:a:GAUGE:10:U:U", "DS:a:COUNTER:5m:0:1e9", "RRA:AVERAGE:0.5:1:10", "RRA:MAX:0.99:1h:13M", "RRA:LAST:0:0:0", "DS::::::",
		"DS:c:COMPUTE:x,2,*", "DS:c:COMPUTE:x,2.0,*,", "DS:c:COMPUTE:x,POP,3,", "DS:c:COMPUTE:x,x,2,SORT,MEDIAN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := ParseSpecArgs(60, 1000000000, []string{"DS:x:GAUGE:120:U:U", "RRA:LAST:0:1:2", s})
		if err != nil {
			return
		}
		// a spec that parses must round-trip through its own formatting
		args := spec.args()
		again, err := ParseSpecArgs(60, 1000000000, args)
		if err != nil {
			t.Fatalf("%q formats as %q which does not parse: %v", s, args, err)
		}
		if len(again.DS) != len(spec.DS) || len(again.RRA) != len(spec.RRA) {
			t.Fatalf("round trip changed %q", s)
		}
	})
}

// FuzzJournalRecord decodes arbitrary journal payloads.
func FuzzJournalRecord(f *testing.F) {
	f.Add(encodeRecord(&journalRecord{updates: []journalUpdate{{Update: Update{Series: "a", Time: 5, Values: []string{"1", "U"}}}},
		positions: map[string][]byte{"k": []byte("v")}, stopOnError: true}))
	f.Add([]byte{0, 255, 255, 255, 255, 15})
	f.Add(encodeRecord(&journalRecord{creates: []journalCreate{{name: "new", step: 60, start: 1700000000,
		args: []string{"DS:value:GAUGE:600:U:U", "RRA:AVERAGE:0.5:1:1440"}, meta: map[string]string{"units": "B"}}}}))
	f.Add(encodeRecord(&journalRecord{updates: []journalUpdate{{Update: Update{Series: "a", Time: 5, Values: []string{"1"}}}},
		creates: []journalCreate{{name: "a", step: 10, args: []string{"DS:v:GAUGE:20:U:U"}}, {name: "b", step: 1}}}))
	f.Add([]byte{2, 0, 0, 1, 1, 'x', 2, 0, 0, 0})
	f.Add(encodeRecord(&journalRecord{updates: []journalUpdate{{Update: Update{Series: "n", Time: 5, Nums: []float64{1, math.NaN()}}},
		{Update: Update{Series: "t", Time: 6, Values: []string{"2"}}, failed: true}, {Update: Update{Series: "n", Time: 7, Nums: []float64{-1e300}}, failed: true}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeRecord(b)
		if recordShape(b) && err != nil {
			t.Fatalf("the shape test passes a record that does not decode: %v", err)
		}
		if err != nil {
			return
		}
		again, err := decodeRecord(encodeRecord(&rec))
		if err != nil || len(again.updates) != len(rec.updates) || len(again.creates) != len(rec.creates) {
			t.Fatalf("re-encoding a decoded record fails: %v", err)
		}
		if !sameBits(reflect.ValueOf(again.updates), reflect.ValueOf(rec.updates)) {
			t.Fatalf("updates re-encoded as %+v, were %+v", again.updates, rec.updates)
		}
		for i, c := range rec.creates {
			if d := again.creates[i]; d.name != c.name || d.step != c.step || d.start != c.start || !slices.Equal(d.args, c.args) || len(d.meta) != len(c.meta) {
				t.Fatalf("creation %d re-encoded as %+v, was %+v", i, d, c)
			}
		}
	})
}

// FuzzImport feeds arbitrary XML to the dump importer.
func FuzzImport(f *testing.F) {
	f.Add([]byte(`<rrd><step>10</step><lastupdate>1000000000</lastupdate><ds><name>a</name><type>GAUGE</type><minimal_heartbeat>20</minimal_heartbeat><min>NaN</min><max>NaN</max><last_ds>U</last_ds><value>NaN</value><unknown_sec>0</unknown_sec></ds><rra><cf>AVERAGE</cf><pdp_per_row>1</pdp_per_row><params><xff>0.5</xff></params><cdp_prep><ds><primary_value>NaN</primary_value><secondary_value>NaN</secondary_value><value>NaN</value><unknown_datapoints>0</unknown_datapoints></ds></cdp_prep><database><row><v>1.0</v></row></database></rra></rrd>`))
	f.Add([]byte(`<rrd><step>0</step>`))
	dir := f.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		db.Import(bytes.NewReader(b), "fz", true, nil)
	})
}

// FuzzArchiveFile opens arbitrary archive file contents (seeded with valid
// files of both versions): an error or a usable archive, never a panic.
func FuzzArchiveFile(f *testing.F) {
	spec, err := ParseSpecArgs(10, 1000000000, []string{"DS:g:GAUGE:30:U:U", "RRA:AVERAGE:0.5:1:4"})
	if err != nil {
		f.Fatal(err)
	}
	seedDir := f.TempDir()
	for v := 1; v <= fileVersion; v++ {
		p := filepath.Join(seedDir, fmt.Sprintf("v%d.rrd", v))
		if err := createArchiveVersion(p, "s", &spec, nil, initialState(&spec), nil, v); err != nil {
			f.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		f.Add(b, v == 2)
	}
	f.Fuzz(func(t *testing.T, b []byte, unmapped bool) {
		a := updateFuzzedArchive(t, b, unmapped, 1)
		if a == nil {
			return
		}
		if err := a.mapRows(); err != nil {
			t.Fatalf("opened, but rows cannot be mapped: %v", err)
		}
		if _, err := fetch(&a.spec, a.st, a, FetchRequest{CF: a.spec.RRA[0].CF, Start: a.st.lastUp - 100, End: a.st.lastUp, Resolution: 1}); err != nil {
			t.Logf("fetch: %v", err)
		}
	})
}

// updateFuzzedArchive opens the archive file contents b (nil when they
// are refused, as they may be), gives it n readings of 1, a step apart
// after its last update, in one update call, and writes its rows: what
// opened must take updates.
func updateFuzzedArchive(t *testing.T, b []byte, unmapped bool, n int64) *archive {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.rrd")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := openArchive(p, trust{ckpt: 1}, unmapped, nil)
	if err != nil {
		return nil
	}
	t.Cleanup(func() { a.close() })
	vals := make([]string, len(a.spec.DS))
	for i := range vals {
		vals[i] = "1"
	}
	for i := int64(1); i <= n; i++ {
		a.eng.update(a.st.lastUp+a.spec.Step*i, 0, vals)
	}
	a.eng.endCall()
	if err := a.flushRows(true); err != nil {
		t.Fatalf("opened, but rows cannot be written: %v", err)
	}
	return a
}

// FuzzJournalFile opens a data directory whose journal holds arbitrary
// bytes: an error or a working store, never a panic.
func FuzzJournalFile(f *testing.F) {
	dir := f.TempDir()
	db, err := Open(dir, Options{BootID: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	db.Create("s", testSpec(f), false)
	db.Apply(context.Background(), Batch{Updates: []Update{{Series: "s", Time: 1000000010, Values: []string{"1", "1"}}}})
	db.Close()
	good, _ := os.ReadFile(filepath.Join(dir, "journal.wal"))
	f.Add(good)
	f.Add(good[:100])
	f.Add([]byte{})
	f.Add(append(make([]byte, 4096), 9, 0, 0, 0, 1, 2, 3, 4))
	archive := readArchiveBytes(f, dir, "s") // a place of a pack is a file's layout
	f.Fuzz(func(t *testing.T, b []byte) {
		d := t.TempDir()
		os.MkdirAll(filepath.Join(d, "series"), 0o755)
		os.WriteFile(filepath.Join(d, "series", "s.rrd"), archive, 0o644)
		os.WriteFile(filepath.Join(d, "journal.wal"), b, 0o644)
		db, err := Open(d, Options{BootID: "fuzz"})
		if err != nil {
			return
		}
		if _, err := db.Apply(context.Background(), Batch{Updates: []Update{{Series: "s", Time: 2000000000, Values: []string{"2", "2"}}}}); err != nil {
			t.Fatalf("a store that opened refuses an update: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
	})
}
