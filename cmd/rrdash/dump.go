package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"rrdash/store"
)

// runDump is `rrdtool dump [--header|-h dtd|xsd|none] [--no-header|-n]
// NAME [FILE]`: the series as rrdtool dump's XML, byte for byte what
// rrdtool writes for the same data (times in the local time zone), to
// FILE or stdout.
func runDump(db seriesStore, args []string, stdout io.Writer) error {
	opts, pos, err := options(args, map[string]string{"--header": "h", "-h": "h"}, map[string]string{"--no-header": "n", "-n": "n"})
	if err != nil {
		return err
	}
	for _, p := range pos {
		if strings.HasPrefix(p, "-") && p != "-" {
			return usageError{fmt.Sprintf("unknown option %s", p)}
		}
	}
	if len(pos) < 1 || len(pos) > 2 {
		return usageError{"usage: rrdash dump [--header|-h {none,xsd,dtd}] [--no-header|-n] NAME [FILE.xml]"}
	}
	header := "dtd"
	if v, ok := opts["h"]; ok {
		switch v {
		case "dtd", "xsd", "none":
			header = v
		default:
			// rrdtool keeps the default for an unknown value; rrdash says so
			return usageError{fmt.Sprintf("dump --header %q: none, xsd or dtd", v)}
		}
	}
	if opts["n"] != "" {
		header = "none"
	}
	d, err := db.Dump(pos[0])
	if err != nil {
		return err
	}
	out := stdout
	var f *os.File
	if len(pos) == 2 {
		if f, err = os.Create(pos[1]); err != nil {
			return err
		}
		out = f
	}
	w := bufio.NewWriter(out)
	writeDump(w, d, header)
	err = w.Flush()
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("error writing output file: %w", err)
	}
	return nil
}

// dumpNum prints as rrdtool dump: %0.10e, NaN as "NaN".
func dumpNum(v float64) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	return formatC(v)
}

// dumpTime is strftime's "%Y-%m-%d %H:%M:%S %Z" in the local time zone.
func dumpTime(t int64) string {
	return time.Unix(t, 0).In(time.Local).Format("2006-01-02 15:04:05 MST")
}

func writeDump(w *bufio.Writer, d *store.DumpData, header string) {
	switch header {
	case "dtd":
		w.WriteString("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!DOCTYPE rrd SYSTEM \"https://oss.oetiker.ch/rrdtool/rrdtool.dtd\">\n<!-- Round Robin Database Dump -->\n<rrd>\n")
	case "xsd":
		w.WriteString("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- Round Robin Database Dump -->\n" +
			"<rrd xmlns=\"https://oss.oetiker.ch/rrdtool/rrdtool-dump.xml\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"\n" +
			"\txsi:schemaLocation=\"https://oss.oetiker.ch/rrdtool/rrdtool-dump.xml https://oss.oetiker.ch/rrdtool/rrdtool-dump.xsd\">\n")
	default:
		w.WriteString("<!-- Round Robin Database Dump -->\n<rrd>\n")
	}
	step := d.Spec.Step
	// rrdtool 1.7.2 writes version 0005 when a DS is DCOUNTER or DDERIVE,
	// 0004 with MHWPREDICT or an explicit smoothing window
	rrdVersion := d.Spec.RRDVersion()
	version := fmt.Sprintf("%04d", rrdVersion)
	fmt.Fprintf(w, "\t<version>%s</version>\n\t<step>%d</step> <!-- Seconds -->\n", version, step)
	fmt.Fprintf(w, "\t<lastupdate>%d</lastupdate> <!-- %s -->\n\n", d.LastUpdate, dumpTime(d.LastUpdate))
	for i, ds := range d.Spec.DS {
		s := d.DS[i]
		fmt.Fprintf(w, "\t<ds>\n\t\t<name> %s </name>\n\t\t<type> %s </type>\n", ds.Name, ds.Type)
		if ds.Type == store.Compute {
			fmt.Fprintf(w, "\t\t<cdef> %s </cdef>\n", ds.CDEF())
		} else {
			fmt.Fprintf(w, "\t\t<minimal_heartbeat>%d</minimal_heartbeat>\n\t\t<min>%s</min>\n\t\t<max>%s</max>\n",
				ds.Heartbeat, dumpNum(ds.Min), dumpNum(ds.Max))
		}
		fmt.Fprintf(w, "\n\t\t<!-- PDP Status -->\n\t\t<last_ds>%s</last_ds>\n\t\t<value>%s</value>\n\t\t<unknown_sec> %d </unknown_sec>\n\t</ds>\n\n",
			s.LastDS, dumpNum(s.Value), s.UnknownSec)
	}
	w.WriteString("\t<!-- Round Robin Archives -->\n")
	for i, r := range d.Spec.RRA {
		a := d.RRA[i]
		fmt.Fprintf(w, "\t<rra>\n\t\t<cf>%s</cf>\n\t\t<pdp_per_row>%d</pdp_per_row> <!-- %d seconds -->\n\n", r.CF, r.Steps, r.Steps*step)
		if r.CF.IsHW() {
			writeHWParams(w, r, rrdVersion)
		} else {
			fmt.Fprintf(w, "\t\t<params>\n\t\t<xff>%s</xff>\n\t\t</params>\n\t\t<cdp_prep>\n", dumpNum(r.XFF))
		}
		rowLen := r.Steps * step
		for _, c := range a.CDP {
			if r.CF.IsHW() {
				writeHWCDP(w, r, c)
				continue
			}
			fmt.Fprintf(w, "\t\t\t<ds>\n\t\t\t<primary_value>%s</primary_value>\n\t\t\t<secondary_value>%s</secondary_value>\n\t\t\t<value>%s</value>\n\t\t\t<unknown_datapoints>%d</unknown_datapoints>\n\t\t\t</ds>\n",
				dumpNum(c.Primary), dumpNum(c.Secondary), dumpNum(c.Value), c.UnknownPDP)
		}
		w.WriteString("\t\t</cdp_prep>\n\t\t<database>\n")
		base := d.LastUpdate - d.LastUpdate%rowLen
		for k := int64(0); k < r.Rows; k++ {
			row := (a.CurRow + 1 + k) % r.Rows
			now := base - (r.Rows-1-k)*rowLen
			fmt.Fprintf(w, "\t\t\t<!-- %s / %d --> <row>", dumpTime(now), now)
			for _, v := range a.Rows[row] {
				w.WriteString("<v>" + dumpNum(v) + "</v>")
			}
			w.WriteString("</row>\n")
		}
		w.WriteString("\t\t</database>\n\t</rra>\n")
	}
	w.WriteString("</rrd>\n")
}
