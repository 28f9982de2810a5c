package remote

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"rrdash/store"
)

// XDUMP <series>
//
//	→ N dump, then "step S", "last_update T", per DS "ds <name> <type>
//	  <heartbeat> <min> <max> <value> <unknown_sec> <quoted last_ds>",
//	  per archive "rra <cf> <xff> <pdp_per_row> <rows> <cur_row>" followed
//	  by "cdp <primary> <secondary> <value> <unknown_datapoints>" per DS
//	  and "r <v>…" per row in ring order: what rrdash dump prints, exact.
//	  A Holt-Winters archive adds "hwdef <its RRA definition>" after its
//	  "rra" line and "hw <8 hex words>" after each "cdp" line (dump_hw.go).

// dumper is what XDUMP needs of a store; *store.DB has it.
type dumper interface {
	Dump(name string) (*store.DumpData, error)
}

var _ dumper = (*store.DB)(nil)

func serveDump(st Store, args []string) Reply {
	d, ok := st.(dumper)
	if !ok {
		return fail(errors.New("XDUMP: this store cannot dump a series"))
	}
	if len(args) != 1 {
		return usage("XDUMP <series>")
	}
	dd, err := d.Dump(args[0])
	if err != nil {
		return fail(err)
	}
	lines := []string{"step " + strconv.FormatInt(dd.Spec.Step, 10), "last_update " + strconv.FormatInt(dd.LastUpdate, 10)}
	for i, ds := range dd.Spec.DS {
		s := dd.DS[i]
		lines = append(lines, fmt.Sprintf("ds %s %s %d %s %s %s %d %s", ds.Name, ds.Type, ds.Heartbeat, num(ds.Min), num(ds.Max),
			num(s.Value), s.UnknownSec, strconv.Quote(s.LastDS)))
	}
	var b []byte
	for i, r := range dd.Spec.RRA {
		a := dd.RRA[i]
		lines = append(lines, fmt.Sprintf("rra %s %s %d %d %d", r.CF, num(r.XFF), r.Steps, r.Rows, a.CurRow))
		if r.CF.IsHW() {
			lines = append(lines, "hwdef "+r.String())
		}
		for _, c := range a.CDP {
			lines = append(lines, fmt.Sprintf("cdp %s %s %s %d", num(c.Primary), num(c.Secondary), num(c.Value), c.UnknownPDP))
			if r.CF.IsHW() {
				lines = append(lines, hwWordsLine(c.HW))
			}
		}
		for _, row := range a.Rows {
			b = append(b[:0], 'r')
			for _, v := range row {
				b = append(append(b, ' '), num(v)...)
			}
			lines = append(lines, string(b))
		}
	}
	return Reply{Msg: "dump", Lines: lines}
}

// Dump returns a series' definition, state and rows as store.DB.Dump does.
func (c *Client) Dump(name string) (*store.DumpData, error) {
	res, err := c.ext("XDUMP", name)
	if err != nil {
		return nil, err
	}
	d, err := parseDump(res.lines)
	if err != nil {
		return nil, fmt.Errorf("rrdcached at %s: XDUMP %s: %w", c.addr, name, err)
	}
	return d, nil
}

func parseDump(lines []string) (*store.DumpData, error) {
	d := &store.DumpData{}
	bad := func(l string) error { return fmt.Errorf("%w: line %q", errBadAnswer, truncate(l)) }
	for _, l := range lines {
		key, rest, _ := strings.Cut(l, " ")
		switch key {
		case "step", "last_update":
			n, err := strconv.ParseInt(rest, 10, 64)
			if err != nil {
				return nil, bad(l)
			}
			if key == "step" {
				d.Spec.Step = n
			} else {
				d.LastUpdate = n
			}
		case "ds":
			f := strings.SplitN(rest, " ", 8)
			if len(f) != 8 || len(d.Spec.RRA) > 0 {
				return nil, bad(l)
			}
			t, terr := store.ParseDSType(f[1])
			ds := store.DS{Name: f[0], Type: t}
			var s store.DumpDS
			var errs [7]error
			errs[0] = terr
			ds.Heartbeat, errs[1] = strconv.ParseInt(f[2], 10, 64)
			ds.Min, errs[2] = parseNum(f[3])
			ds.Max, errs[3] = parseNum(f[4])
			s.Value, errs[4] = parseNum(f[5])
			s.UnknownSec, errs[5] = strconv.ParseInt(f[6], 10, 64)
			s.LastDS, errs[6] = strconv.Unquote(f[7])
			if errors.Join(errs[:]...) != nil {
				return nil, bad(l)
			}
			d.Spec.DS = append(d.Spec.DS, ds)
			d.DS = append(d.DS, s)
		case "rra":
			f := strings.Fields(rest)
			if len(f) != 5 {
				return nil, bad(l)
			}
			cf, cerr := store.ParseCF(f[0])
			r := store.RRA{CF: cf}
			var a store.DumpRRA
			var errs [5]error
			errs[0] = cerr
			r.XFF, errs[1] = parseNum(f[1])
			r.Steps, errs[2] = strconv.ParseInt(f[2], 10, 64)
			r.Rows, errs[3] = strconv.ParseInt(f[3], 10, 64)
			a.CurRow, errs[4] = strconv.ParseInt(f[4], 10, 64)
			if errors.Join(errs[:]...) != nil || r.Rows < 0 {
				return nil, bad(l)
			}
			d.Spec.RRA = append(d.Spec.RRA, r)
			d.RRA = append(d.RRA, a)
		case "hwdef", "hw":
			if err := parseHWDumpLine(d, key, rest); err != nil {
				return nil, bad(l)
			}
		case "cdp", "r":
			if len(d.RRA) == 0 {
				return nil, bad(l)
			}
			a := &d.RRA[len(d.RRA)-1]
			f := strings.Fields(rest)
			if key == "cdp" {
				if len(f) != 4 || len(a.CDP) >= len(d.DS) || len(a.Rows) > 0 {
					return nil, bad(l)
				}
				var c store.DumpCDP
				var errs [4]error
				c.Primary, errs[0] = parseNum(f[0])
				c.Secondary, errs[1] = parseNum(f[1])
				c.Value, errs[2] = parseNum(f[2])
				c.UnknownPDP, errs[3] = strconv.ParseInt(f[3], 10, 64)
				if errors.Join(errs[:]...) != nil {
					return nil, bad(l)
				}
				a.CDP = append(a.CDP, c)
				continue
			}
			if len(f) != len(d.DS) || len(a.CDP) != len(d.DS) || int64(len(a.Rows)) >= d.Spec.RRA[len(d.RRA)-1].Rows {
				return nil, bad(l)
			}
			row := make([]float64, len(f))
			for k, s := range f {
				v, err := parseNum(s)
				if err != nil {
					return nil, err
				}
				row[k] = v
			}
			a.Rows = append(a.Rows, row)
		default:
			return nil, bad(l)
		}
	}
	for i, a := range d.RRA {
		if int64(len(a.Rows)) != d.Spec.RRA[i].Rows || len(a.CDP) != len(d.DS) || a.CurRow < 0 || a.CurRow >= max(1, d.Spec.RRA[i].Rows) {
			return nil, fmt.Errorf("%w: archive %d: %d of %d rows, %d cdp_prep entries, cur_row %d", errBadAnswer, i, len(a.Rows), d.Spec.RRA[i].Rows, len(a.CDP), a.CurRow)
		}
	}
	return d, nil
}
