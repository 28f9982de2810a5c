package remote

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"rrdash/store"
)

// hwWordsLine is XDUMP's line of a Holt-Winters archive's cdp_prep words.
func hwWordsLine(w store.HWWords) string {
	var b strings.Builder
	b.WriteString("hw")
	for _, x := range w {
		fmt.Fprintf(&b, " %x", x)
	}
	return b.String()
}

// parseHWDumpLine reads an "hwdef" line (the last archive's definition)
// or an "hw" line (the words of its last cdp_prep entry).
func parseHWDumpLine(d *store.DumpData, key, rest string) error {
	if len(d.RRA) == 0 {
		return errors.New("no archive")
	}
	a := len(d.RRA) - 1
	r := &d.Spec.RRA[a]
	if !r.CF.IsHW() {
		return errors.New("not a Holt-Winters archive")
	}
	if key == "hwdef" {
		def, err := store.ParseRRA(rest, d.Spec.Step)
		if err != nil || def.CF != r.CF || def.Rows != r.Rows || len(d.RRA[a].CDP) > 0 {
			return errors.New("bad definition")
		}
		r.HW = def.HW
		return nil
	}
	cdp := d.RRA[a].CDP
	f := strings.Fields(rest)
	if len(cdp) == 0 || len(f) != len(store.HWWords{}) {
		return errors.New("bad words")
	}
	w := &cdp[len(cdp)-1].HW
	for i, s := range f {
		v, err := strconv.ParseUint(s, 16, 64)
		if err != nil {
			return err
		}
		w[i] = v
	}
	return nil
}

// parseHWInfoLine reads XINFO's "rrd_version" line and the "hwdef" and
// "hw" lines of a Holt-Winters archive.
func parseHWInfoLine(in *store.Info, key, rest string) error {
	if key == "rrd_version" {
		v, err := strconv.Atoi(rest)
		if err != nil || v < 1 {
			return errors.New("bad version")
		}
		in.RRDVersion = v
		return nil
	}
	if len(in.RRA) == 0 {
		return errors.New("no archive")
	}
	r := &in.RRA[len(in.RRA)-1]
	if key == "hwdef" {
		def, err := store.ParseRRA(rest, in.Step)
		if err != nil || def.CF.String() != r.CF || !def.CF.IsHW() || len(r.CDP) > 0 {
			return errors.New("bad definition")
		}
		r.HW = &def.HW
		return nil
	}
	if r.HW == nil || len(r.CDP) == 0 {
		return errors.New("words without a Holt-Winters archive")
	}
	var d store.DumpData
	d.Spec.RRA = []store.RRA{{CF: store.Failures}}
	d.RRA = []store.DumpRRA{{CDP: []store.DumpCDP{{}}}}
	if err := parseHWDumpLine(&d, "hw", rest); err != nil {
		return err
	}
	w := d.RRA[0].CDP[0].HW
	r.CDP[len(r.CDP)-1].HW = &w
	return nil
}
