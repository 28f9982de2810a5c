package store

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// FuzzHWSpec parses Holt-Winters archive definitions: an error, or a
// definition that formats and parses back to the same archives and that
// an update runs through without a panic (dependencies are followed).
func FuzzHWSpec(f *testing.F) {
	for _, s := range [][2]string{
		{"RRA:HWPREDICT:100:0.1:0.0035:24", ""},
		{"RRA:MHWPREDICT:1h:0.5:0.5:10", "RRA:AVERAGE:0.5:1:10"},
		{"RRA:SEASONAL:24:0.2:2:smoothing-window=0.2", "RRA:HWPREDICT:48:0.3:0.1:24:1"},
		{"RRA:DEVSEASONAL:24:0.3:2:smooth-idx=3:implied-window=0", "RRA:MHWPREDICT:48:0.3:0.1:0:1"},
		{"RRA:FAILURES:24:3:5:2:delta-pos=3:delta-neg=1.5", "RRA:DEVPREDICT:10:1"},
		{"RRA:HWPREDICT:10:0.5:0.5:3:7", "RRA:SEASONAL:3:0.5:1:foo"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		args := []string{"DS:x:GAUGE:120:U:U", a}
		if b != "" {
			args = append(args, b)
		}
		spec, err := ParseSpecArgs(60, 1_000_000_000, args)
		if err != nil {
			return
		}
		again := spec.args()
		spec2, err := ParseSpecArgs(60, 1_000_000_000, again)
		if err != nil {
			t.Fatalf("%q formats as %q which does not parse: %v", args, again, err)
		}
		for i := range spec.RRA {
			if spec2.RRA[i] != spec.RRA[i] {
				t.Fatalf("%q: archive %d %+v parses back as %+v", args, i, spec.RRA[i], spec2.RRA[i])
			}
		}
		if len(spec.RRA) > 8 || spec.RRA[0].Rows > 1000 {
			return
		}
		for _, r := range spec.RRA {
			if r.Rows > 1000 {
				return
			}
		}
		r, err := NewRRD(spec)
		if err != nil {
			return
		}
		for i := int64(1); i <= 30; i++ {
			gap := i
			if i%7 == 0 {
				gap += 5
			}
			r.Update(1_000_000_000+60*gap*i, 0, []string{strconv.FormatInt(i%5*10, 10)})
			if i%4 == 0 {
				r.EndUpdateCall()
			}
		}
	})
}

// hwDumpSeed is a small Holt-Winters series as rrdtool dump writes it.
const hwDumpSeed = `<rrd><version>0003</version><step>60</step><lastupdate>1000000000</lastupdate>
<ds><name>v</name><type>GAUGE</type><minimal_heartbeat>120</minimal_heartbeat><min>NaN</min><max>NaN</max><last_ds>5</last_ds><value>0</value><unknown_sec>0</unknown_sec></ds>
<rra><cf>HWPREDICT</cf><pdp_per_row>1</pdp_per_row><params><hw_alpha>5e-01</hw_alpha><hw_beta>1e-01</hw_beta><dependent_rra_idx>1</dependent_rra_idx></params>
<cdp_prep><ds><primary_value>NaN</primary_value><secondary_value>NaN</secondary_value><intercept>5</intercept><last_intercept>5</last_intercept><slope>0</slope><last_slope>0</last_slope><nan_count>1</nan_count><last_nan_count>1</last_nan_count></ds></cdp_prep>
<database><row><v>NaN</v></row><row><v>NaN</v></row><row><v>NaN</v></row></database></rra>
<rra><cf>SEASONAL</cf><pdp_per_row>1</pdp_per_row><params><seasonal_gamma>5e-01</seasonal_gamma><seasonal_smooth_idx>1</seasonal_smooth_idx><dependent_rra_idx>0</dependent_rra_idx></params>
<cdp_prep><ds><primary_value>0</primary_value><secondary_value>0</secondary_value><seasonal>NaN</seasonal><last_seasonal>NaN</last_seasonal><init_flag>1</init_flag></ds></cdp_prep>
<database><row><v>1</v></row><row><v>NaN</v></row></database></rra>
<rra><cf>DEVSEASONAL</cf><pdp_per_row>1</pdp_per_row><params><seasonal_gamma>5e-01</seasonal_gamma><seasonal_smooth_idx>1</seasonal_smooth_idx><dependent_rra_idx>0</dependent_rra_idx></params>
<cdp_prep><ds><primary_value>0</primary_value><secondary_value>0</secondary_value><seasonal>NaN</seasonal><last_seasonal>NaN</last_seasonal><init_flag>1</init_flag></ds></cdp_prep>
<database><row><v>NaN</v></row><row><v>NaN</v></row></database></rra>
<rra><cf>FAILURES</cf><pdp_per_row>1</pdp_per_row><params><delta_pos>2</delta_pos><delta_neg>2</delta_neg><window_len>3</window_len><failure_threshold>2</failure_threshold><dependent_rra_idx>2</dependent_rra_idx></params>
<cdp_prep><ds><primary_value>0</primary_value><secondary_value>0</secondary_value><history>010</history></ds></cdp_prep>
<database><row><v>0</v></row><row><v>1</v></row></database></rra></rrd>`

// FuzzHWImport restores arbitrary dumps seeded with a Holt-Winters one,
// and updates what restores: an error or a working series, never a panic.
func FuzzHWImport(f *testing.F) {
	f.Add([]byte(hwDumpSeed))
	f.Add(bytes.Replace([]byte(hwDumpSeed), []byte("<dependent_rra_idx>2</dependent_rra_idx>"), []byte("<dependent_rra_idx>9</dependent_rra_idx>"), 1))
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
		if err := db.Import(bytes.NewReader(b), "fz", true, nil); err != nil {
			return
		}
		spec, err := db.Spec("fz")
		if err != nil {
			t.Fatal(err)
		}
		lu, _ := db.LastUpdate("fz")
		vals := make([]string, len(spec.DS))
		for i := range vals {
			vals[i] = "3"
		}
		var batch Batch
		for i := int64(1); i <= 5; i++ {
			batch.Updates = append(batch.Updates, Update{Series: "fz", Time: lu + i*spec.Step*i, Values: vals})
		}
		db.Apply(t.Context(), batch)
	})
}

// FuzzHWArchiveFile opens arbitrary archive contents seeded with a file
// holding Holt-Winters state (its slots carry the words and the seasonal
// rings): an error or a usable archive, never a panic.
func FuzzHWArchiveFile(f *testing.F) {
	spec, err := ParseSpecArgs(10, 1_000_000_000, []string{"DS:g:GAUGE:30:U:U", "RRA:HWPREDICT:6:0.5:0.5:3"})
	if err != nil {
		f.Fatal(err)
	}
	spec.AssignSmoothIdx("s.rrd")
	p := filepath.Join(f.TempDir(), "s.rrd")
	if err := createArchiveVersion(p, "s", &spec, nil, initialState(&spec), nil, fileVersion); err != nil {
		f.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) { updateFuzzedArchive(t, b, true, 4) })
}
