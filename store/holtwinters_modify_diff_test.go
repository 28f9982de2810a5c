package store

import (
	"context"
	"fmt"
	"strconv"
	"testing"
)

// TestTuneModifyHoltWintersDifferential: rrdtool files with Holt-Winters
// archives (every hwLayouts layout, seasonal data with anomalies), then
// random rrd_modify forms (DS:, DEL:, RRA#i:±n/=n on any archive, DELRRA:
// after the last Holt-Winters archive, RRA: of the other types) or resize,
// by rrdtool on the file and by rrdash on the file imported; then the rest
// of the updates on both. Every row, cdp_prep word (Holt-Winters words
// included), parameter and ring position must agree bit for bit.
func TestTuneModifyHoltWintersDifferential(t *testing.T) {
	h := newRRDtoolHarness(t)
	t.Parallel()
	seeds := shortOr(3, 1)
	db := h.openDB(t)
	var st hwStats
	cases := 0
	for l := range hwLayouts {
		for s := 0; s < seeds; s++ {
			r := newRand(uint64(7000 + 100*l + s))
			c := genHWCase(r, l)
			file := h.path("m%d_%d.rrd", l, s)
			h.create(t, file, c.start, c.step, c.args)
			half := len(c.chunks) * 2 / 3
			h.feed(file, c.chunks[:half])
			name := fmt.Sprintf("m%d_%d", l, s)
			importFile(t, db, file, name)
			spec, err := db.Spec(name)
			if err != nil {
				t.Fatal(err)
			}
			nds := len(spec.DS)
			lastHW := -1
			for a, x := range spec.RRA {
				if x.CF.IsHW() {
					lastHW = a
				}
			}
			var ref, what string
			var oerr error
			if r.IntN(3) == 0 {
				// resize any archive
				a := r.IntN(len(spec.RRA))
				op, n := "GROW", 1+r.Int64N(20)
				if r.IntN(2) == 0 && spec.RRA[a].Rows > 1 {
					op, n = "SHRINK", 1+r.Int64N(spec.RRA[a].Rows-1)
				}
				rargs := []string{"resize", file, strconv.Itoa(a), op, strconv.FormatInt(n, 10)}
				h.must(t, rargs...) // writes resize.rrd in rrdtool's working directory
				ref, what = h.path("resize.rrd"), fmt.Sprintf("%q", rargs[2:])
				oerr = db.ResizeArchive(name, a, op == "GROW", n)
			} else {
				var targs []string
				for k := 0; k < 1+r.IntN(3); k++ {
					switch r.IntN(5) {
					case 0:
						a := r.IntN(len(spec.RRA))
						switch r.IntN(3) {
						case 0:
							targs = append(targs, fmt.Sprintf("RRA#%d:+%d", a, 1+r.IntN(30)))
						case 1:
							targs = append(targs, fmt.Sprintf("RRA#%d:-%d", a, 1+r.Int64N(max(1, spec.RRA[a].Rows-1))))
						default:
							targs = append(targs, fmt.Sprintf("RRA#%d:=%d", a, 2+r.IntN(80)))
						}
					case 1:
						if lastHW+1 < len(spec.RRA) {
							targs = append(targs, fmt.Sprintf("DELRRA:%d", lastHW+1+r.IntN(len(spec.RRA)-lastHW-1)))
						}
					case 2:
						if nds > 1 && r.IntN(2) == 0 {
							targs = append(targs, "DEL:"+spec.DS[r.IntN(nds)].Name)
						} else {
							targs = append(targs, fmt.Sprintf("DS:n%d:GAUGE:%d:U:U", k, 4*c.step))
						}
					default:
						cf := []string{"AVERAGE", "MIN", "MAX", "LAST"}[r.IntN(4)]
						targs = append(targs, fmt.Sprintf("RRA:%s:0.5:%d:%d", cf, []int{1, 2, 3, 5}[r.IntN(4)], 5+r.IntN(60)))
					}
				}
				if len(targs) == 0 {
					targs = []string{"RRA#0:+1"}
				}
				out, rerr := h.cmd(append([]string{"tune", file}, targs...)...).CombinedOutput()
				oerr = db.Tune(name, targs)
				if (rerr == nil) != (oerr == nil) {
					t.Fatalf("%s tune %q: rrdtool %v %s; ours %v", name, targs, rerr, out, oerr)
				}
				if rerr != nil {
					continue
				}
				ref, what = file, fmt.Sprintf("tune %q", targs)
			}
			if oerr != nil {
				t.Fatalf("%s %s: %v", name, what, oerr)
			}
			ctx := fmt.Sprintf("%s (%s) %s", name, hwLayouts[l].name, what)
			compareHWDump(t, ctx, ref, dbDump(t, db, name), &st)
			spec, _ = db.Spec(name)
			var rest [][]string
			for _, ch := range c.chunks[half:] {
				rest = append(rest, hwChunkFor(ch, len(spec.DS)))
			}
			h.updateBoth(t, ctx+": update after", ref, rest, func(chunk []string) (int, error) {
				// the readings before one that does not parse are applied,
				// as rrdtool applies them
				var ups []Update
				var perr error
				for _, a := range chunk {
					u, err := ParseUpdateArg(a, nil, len(spec.DS))
					if err != nil {
						perr = err
						break
					}
					u.Series = name
					ups = append(ups, u)
				}
				res, err := db.Apply(context.Background(), Batch{Updates: ups, StopOnError: true})
				if err != nil {
					t.Fatal(err)
				}
				if perr == nil && len(res.Errors) > 0 {
					perr = fmt.Errorf("%v", res.Errors)
				}
				return len(ups), perr
			})
			compareHWDump(t, ctx+" and updates", ref, dbDump(t, db, name), &st)
			cases++
		}
	}
	t.Logf("%d cases: %d values and %d Holt-Winters cdp words bit-identical over %d rows (FAILURES rows %d, %d set)",
		cases, st.values, st.words, st.rows, st.failures, st.failuresSet)
	if cases < len(hwLayouts) {
		t.Errorf("only %d cases ran", cases)
	}
}

// hwChunkFor gives every ARG of an update call nds values: the chunks are
// made for the layout's data sources, and tune may add or delete some.
func hwChunkFor(ch []string, nds int) []string {
	out := make([]string, 0, len(ch))
	for _, a := range ch {
		ts, rest, _ := cutColon(a)
		vals := splitColons(rest)
		for len(vals) < nds {
			vals = append(vals, vals[len(vals)-1])
		}
		out = append(out, ts+":"+joinColons(vals[:nds]))
	}
	return out
}

func cutColon(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func splitColons(s string) []string {
	var out []string
	for {
		a, b, ok := cutColon(s)
		out = append(out, a)
		if !ok {
			return out
		}
		s = b
	}
}

func joinColons(v []string) string {
	s := ""
	for i, x := range v {
		if i > 0 {
			s += ":"
		}
		s += x
	}
	return s
}
