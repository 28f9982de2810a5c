package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"rrdash/store/computeds"
	"slices"
	"strconv"
	"strings"
	"time"

	"rrdash/store"
	"rrdash/store/attime"
)

// options splits rrdtool-style argv into named options and positional args.
// withValue lists the options (long and short) that take a value.
func options(args []string, withValue map[string]string, flags map[string]string) (map[string]string, []string, error) {
	opts := map[string]string{}
	pos := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		name, val, hasVal := strings.Cut(a, "=")
		if canon, ok := withValue[name]; ok && strings.HasPrefix(a, "-") {
			if !hasVal {
				if i+1 >= len(args) {
					return nil, nil, usageError{fmt.Sprintf("option %s needs a value", name)}
				}
				i++
				val = args[i]
			}
			opts[canon] = val
			continue
		}
		if canon, ok := flags[a]; ok {
			opts[canon] = "1"
			continue
		}
		if strings.HasPrefix(a, "--") {
			return nil, nil, usageError{fmt.Sprintf("unknown option %s", a)}
		}
		pos = append(pos, a)
	}
	return opts, pos, nil
}

// parseTime resolves an rrdtool-style AT time (seconds since 1970, N,
// now, -1d, noon yesterday, 20:30 22.11.2026) in the local time zone.
func parseTime(s string, now time.Time) (int64, error) {
	if s == "N" {
		s = "now"
	}
	return attime.Parse(s, now, time.Local)
}

func runCreate(db seriesStore, args []string) error {
	sources, args, err := takeSources(args)
	if err != nil {
		return err
	}
	opts, pos, err := options(args, map[string]string{"--start": "start", "-b": "start", "--step": "step", "-s": "step",
		"--template": "template", "-t": "template"},
		map[string]string{"--no-overwrite": "O", "-O": "O"})
	if err != nil {
		return err
	}
	if len(pos) < 1 {
		return usageError{"create needs a series name"}
	}
	maps, err := takeDSMappings(pos[1:])
	if err != nil {
		return err
	}
	name := pos[0]
	step := int64(300)
	if v, ok := opts["step"]; ok {
		if step, err = store.ParseStep(v); err != nil {
			return err
		}
	}
	start := time.Now().Unix() - 10
	_, startGiven := opts["start"]
	if v, ok := opts["start"]; ok {
		if start, err = parseTime(v, time.Now()); err != nil {
			return fmt.Errorf("start time: %w", err)
		}
	} else if tmpl, ok := opts["template"]; ok && len(sources) == 0 {
		// rrdtool: a template's last update, when neither --start nor
		// --source says otherwise
		if lu, err := db.LastUpdate(tmpl); err == nil && lu > 0 {
			start = lu
		}
	}
	var spec store.Spec
	if tmpl, ok := opts["template"]; ok {
		_, stepGiven := opts["step"]
		spec, err = templateSpec(db, tmpl, step, stepGiven, start, pos[1:])
	} else {
		spec, err = store.ParseSpecArgs(step, start, pos[1:])
	}
	if err != nil {
		return err
	}
	if len(sources) > 0 {
		return createFromSources(db, name, spec, startGiven, sources, maps, opts["O"] == "")
	}
	return db.Create(name, spec, opts["O"] == "")
}

func runUpdate(ctx context.Context, db seriesStore, args []string, stdin io.Reader, stdout io.Writer) error {
	c, err := parseUpdateCommand(db, args)
	if err != nil {
		return err
	}
	if len(c.args) == 1 && c.args[0] == "-" {
		return updateStream(ctx, db, c, stdin, stdout)
	}
	wait, err := c.apply(ctx, db, nil)
	if err != nil {
		return err
	}
	return wait()
}

// updateScratch holds what parsing a batch of ARGs needs, reused from
// command to command in pipe mode: 1,000 ARGs a line would otherwise
// allocate ~200 KB a line, and a growing heap faults in fresh pages.
type updateScratch struct {
	updates []store.Update
	vals    []string
}

// updateCommand is a parsed `update NAME [--template a:b]
// [--skip-past-updates] [--locking try] ARG…`.
type updateCommand struct {
	name     string
	tmpl     []int // DS indexes of --template, nil for DS order
	nds      int
	args     []string
	skipPast bool // --skip-past-updates: ARGs at or before the last update are skipped
}

// updateOptions are the options of update and updatev, as rrdtool's.
var (
	updateValueOpts = map[string]string{"--template": "t", "-t": "t", "--locking": "L", "-L": "L"}
	updateFlagOpts  = map[string]string{"--skip-past-updates": "s", "-s": "s"}
)

func parseUpdateCommand(db seriesStore, args []string) (updateCommand, error) {
	opts, pos := map[string]string{}, args
	if slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "-") }) {
		var err error
		if opts, pos, err = options(args, updateValueOpts, updateFlagOpts); err != nil {
			return updateCommand{}, err
		}
		for _, a := range pos {
			// "-x…" is an option rrdash lacks; "-5:1" (seconds before
			// now) and "-" (stdin) are ARGs
			if len(a) > 1 && a[0] == '-' && (a[1] < '0' || a[1] > '9') && a[1] != '.' {
				return updateCommand{}, usageError{fmt.Sprintf("unknown option %s", a)}
			}
		}
		if err := checkLocking(opts); err != nil {
			return updateCommand{}, err
		}
	}
	if len(pos) < 2 {
		return updateCommand{}, usageError{"update needs a series name and at least one ARG"}
	}
	spec, err := db.Spec(pos[0])
	if err != nil {
		return updateCommand{}, err
	}
	tmpl, err := store.ParseTemplate(&spec, opts["t"])
	if err != nil {
		return updateCommand{}, err
	}
	return updateCommand{name: pos[0], tmpl: tmpl, nds: len(spec.DS), args: pos[1:], skipPast: opts["s"] != ""}, nil
}

// checkLocking takes rrdtool's --locking/-L MODE (1.8's; 1.7.2 has
// none, see locking.go): try and block are what openStore did with the
// data directory's lock before the command ran (a pipe or a server holds
// it already); none is refused, as rrdash never writes without the lock.
func checkLocking(opts map[string]string) error {
	if m, ok := opts["L"]; ok {
		_, err := parseLocking(m)
		return err
	}
	return nil
}

// parseArgs parses the ARGs; it stops at the first bad one and returns
// the ones before it with the error.
func (c updateCommand) parseArgs(sc *updateScratch) ([]store.Update, error) {
	if n := len(c.args) * c.nds; cap(sc.vals) < n {
		sc.vals = make([]string, n)
	}
	ups := slices.Grow(sc.updates[:0], len(c.args))
	now := time.Now()
	for i, a := range c.args {
		u, err := store.ParseUpdateArgInto(a, c.tmpl, c.nds, now, sc.vals[i*c.nds:(i+1)*c.nds])
		if err != nil {
			return ups, fmt.Errorf("%s: %w", c.name, err)
		}
		u.Series = c.name
		ups = append(ups, u)
	}
	return ups, nil
}

// apply applies the ARGs in order without waiting for their fsync; wait
// returns once they are durable. As rrdtool, it stops at the first bad ARG
// and keeps what came before it (then waiting is done here and the error
// returned); with --skip-past-updates an ARG at or before the last update
// is passed over instead.
func (c updateCommand) apply(ctx context.Context, db seriesStore, sc *updateScratch) (wait func() error, err error) {
	if sc == nil {
		sc = &updateScratch{}
	}
	ups, parseErr := c.parseArgs(sc)
	all := ups
	defer func() {
		clear(all) // drop references to the ARGs' strings
		sc.updates = all[:0]
	}()
	for {
		res, w, err := db.ApplyAsync(ctx, store.Batch{StopOnError: true, Updates: ups})
		if err != nil {
			return nil, err
		}
		if len(res.Errors) == 0 && parseErr == nil {
			return w, nil
		}
		if werr := w(); werr != nil {
			return nil, werr
		}
		if len(res.Errors) == 0 {
			return nil, parseErr
		}
		if !c.skipPast || !errors.Is(res.Errors[0], store.ErrTooOld) {
			return nil, res.Errors[0]
		}
		ups = ups[res.Errors[0].Index+1:]
	}
}

// updateStream applies one ARG per line of stdin and prints "OK n" once
// line n is durable (used by scripts and the crash test); with
// --skip-past-updates a line at or before the last update is answered
// "OK n" too, having changed nothing.
func updateStream(ctx context.Context, db seriesStore, c updateCommand, in io.Reader, out io.Writer) error {
	name, tmpl, nds := c.name, c.tmpl, c.nds
	sc := bufio.NewScanner(in)
	w := bufio.NewWriter(out)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		u, err := store.ParseUpdateArg(line, tmpl, nds)
		if err != nil {
			return fmt.Errorf("stdin:%d: %w", n, err)
		}
		u.Series = name
		res, err := db.Apply(ctx, store.Batch{Updates: []store.Update{u}, StopOnError: true})
		if err != nil {
			return err
		}
		if len(res.Errors) > 0 && !(c.skipPast && errors.Is(res.Errors[0], store.ErrTooOld)) {
			return fmt.Errorf("stdin:%d: %w", n, res.Errors[0])
		}
		fmt.Fprintf(w, "OK %d\n", n)
		w.Flush()
	}
	return sc.Err()
}

func runFetch(db seriesStore, args []string, stdout io.Writer) error {
	opts, pos, err := options(args, map[string]string{"--start": "s", "-s": "s", "--end": "e", "-e": "e", "--resolution": "r", "-r": "r"},
		map[string]string{"--align-start": "a", "-a": "a", "--json": "json"})
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageError{"fetch needs a series name and a consolidation function"}
	}
	cf, err := store.ParseCF(pos[1])
	if err != nil {
		return err
	}
	// the same AT-style resolution as xport (calendar months, DST), tested against rrdtool
	start, end, err := attime.ParseRange(opts["s"], opts["e"], time.Now(), time.Local)
	if err != nil {
		return err
	}
	req := store.FetchRequest{CF: cf, Start: start, End: end, Resolution: 1, AlignStart: opts["a"] != ""}
	if v, ok := opts["r"]; ok {
		if req.Resolution, err = store.ParseStep(v); err != nil {
			return fmt.Errorf("resolution: %w", err)
		}
	}
	res, err := db.Fetch(pos[0], req)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	if opts["json"] != "" {
		return writeFetchJSON(w, res)
	}
	fmt.Fprint(w, "           ")
	for _, n := range res.DS {
		fmt.Fprintf(w, "%20s", n)
	}
	fmt.Fprint(w, "\n\n")
	for i := 0; i < res.Rows(); i++ {
		fmt.Fprintf(w, "%10d:", res.Start+int64(i+1)*res.Step)
		for d := range res.DS {
			fmt.Fprintf(w, " %s", formatC(res.Values[d][i]))
		}
		fmt.Fprintln(w)
	}
	return nil
}

// formatC prints like C's %0.10e: glibc spells a NaN "-nan" or "nan" by
// its sign; rrdtool's unknown is negative, and only a COMPUTE that took
// the absolute value of one (or an rrdtool file holding such a row) makes
// a positive one (computeds.PosNaN).
func formatC(v float64) string {
	switch {
	case computeds.IsPosNaN(v):
		return "nan"
	case math.IsNaN(v):
		return "-nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, 'e', 10, 64)
}

// infoValue prints like rrdtool info: %0.10e, with NaN spelled "NaN".
func infoValue(v float64) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	return formatC(v)
}

// jsonNumber prints full precision; unknown is null, infinities strings.
func jsonNumber(v float64) string {
	switch {
	case math.IsNaN(v):
		return "null"
	case math.IsInf(v, 1):
		return `"inf"`
	case math.IsInf(v, -1):
		return `"-inf"`
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func writeFetchJSON(w io.Writer, res *store.FetchResult) error {
	ds, _ := json.Marshal(res.DS)
	fmt.Fprintf(w, `{"start":%d,"end":%d,"step":%d,"ds":%s,"rows":[`, res.Start, res.End, res.Step, ds)
	for i := 0; i < res.Rows(); i++ {
		if i > 0 {
			fmt.Fprint(w, ",")
		}
		fmt.Fprintf(w, "[%d", res.Start+int64(i+1)*res.Step)
		for d := range res.DS {
			fmt.Fprint(w, ","+jsonNumber(res.Values[d][i]))
		}
		fmt.Fprint(w, "]")
	}
	_, err := fmt.Fprintln(w, "]}")
	return err
}

func runLast(db seriesStore, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return usageError{"last needs a series name"}
	}
	t, err := db.LastUpdate(args[0])
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, t)
	return nil
}

func runInfo(db seriesStore, args []string, stdout io.Writer) error {
	// --noflush (-F) is rrdtool's "read without asking rrdcached to flush
	// first": rrdash (and its server) apply every acknowledged update at
	// once, so there is nothing to flush and the answer is the same
	opts, pos, err := options(args, nil, map[string]string{"--json": "json", "--noflush": "F", "-F": "F"})
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"info needs a series name"}
	}
	info, err := db.Info(pos[0])
	if err != nil {
		return err
	}
	if opts["json"] != "" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	// rrdtool info's keys in its order: the file is the series here, and
	// rrd_version and header_size are what rrdtool 1.7.2 would write for
	// the same definition (header_size: the x86-64 header of rrdtool's
	// file layout), so scripts reading them find rrdtool's values
	fmt.Fprintf(w, "filename = %q\nrrd_version = \"%s\"\nstep = %d\nlast_update = %d\nheader_size = %d\n",
		info.Name, rrdVersion(info), info.Step, info.LastUpdate, rrdHeaderSize(len(info.DS), len(info.RRA)))
	for i, d := range info.DS {
		fmt.Fprintf(w, "ds[%s].index = %d\n", d.Name, i)
		fmt.Fprintf(w, "ds[%s].type = %q\n", d.Name, d.Type)
		if d.Type == "COMPUTE" {
			fmt.Fprintf(w, "ds[%s].cdef = %q\n", d.Name, d.CDEF)
		} else {
			fmt.Fprintf(w, "ds[%s].minimal_heartbeat = %d\nds[%s].min = %s\nds[%s].max = %s\n",
				d.Name, d.Heartbeat, d.Name, infoValue(d.Min), d.Name, infoValue(d.Max))
		}
		fmt.Fprintf(w, "ds[%s].last_ds = %q\nds[%s].value = %s\nds[%s].unknown_sec = %d\n",
			d.Name, d.LastDS, d.Name, infoValue(d.Value), d.Name, d.UnknownSec)
	}
	for i, r := range info.RRA {
		if r.HW != nil {
			writeHWInfo(w, i, r, info.RRDVersion)
			continue
		}
		fmt.Fprintf(w, "rra[%d].cf = %q\nrra[%d].rows = %d\nrra[%d].cur_row = %d\nrra[%d].pdp_per_row = %d\nrra[%d].xff = %s\n",
			i, r.CF, i, r.Rows, i, r.CurRow, i, r.Steps, i, infoValue(r.XFF))
		for d, c := range r.CDP {
			fmt.Fprintf(w, "rra[%d].cdp_prep[%d].value = %s\nrra[%d].cdp_prep[%d].unknown_datapoints = %d\n", i, d, infoValue(c.Value), i, d, c.UnknownPDP)
		}
	}
	// sorted: the same info prints the same, locally and through a server
	for _, k := range slices.Sorted(maps.Keys(info.Meta)) {
		fmt.Fprintf(w, "meta[%s] = %q\n", k, info.Meta[k])
	}
	return nil
}

func runList(db seriesStore, args []string, stdout io.Writer) error {
	opts, pos, err := options(args, nil, map[string]string{"--recursive": "r", "--noflush": "n"})
	if err != nil {
		return err
	}
	// rrdtool's form names a directory; a glob pattern (or nothing) is
	// rrdash's own listing of series names
	if len(pos) == 1 && !strings.ContainsAny(pos[0], "*?[\\") || opts["r"] != "" {
		if len(pos) != 1 {
			return usageError{"usage: rrdash list [--recursive] [--noflush] DIR, or rrdash list [PATTERN]"}
		}
		return listDir(db, pos[0], opts["r"] != "", stdout)
	}
	if len(opts) > 0 {
		return usageError{"--noflush goes with a directory: rrdash list [--recursive] [--noflush] DIR"}
	}
	args = pos
	if len(args) > 1 {
		return usageError{"list takes at most one pattern"}
	}
	pat := ""
	if len(args) == 1 {
		pat = args[0]
	}
	names, err := db.List(pat)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	for _, n := range names {
		fmt.Fprintln(w, n)
	}
	return nil
}

// rrdVersion is the version rrdtool 1.7.2 writes for a definition: 0005
// when a data source is DCOUNTER or DDERIVE, else 0003.
func rrdVersion(info *store.Info) string {
	if info.RRDVersion > 0 {
		return fmt.Sprintf("%04d", info.RRDVersion)
	}
	for _, d := range info.DS {
		if d.Type == "DCOUNTER" || d.Type == "DDERIVE" {
			return "0005"
		}
	}
	return "0003"
}

// rrdHeaderSize is the size of rrdtool's header on x86-64 (stat_head,
// ds_def, rra_def, live_head, pdp_prep, cdp_prep, rra_ptr; see
// store/rrdfile).
func rrdHeaderSize(nds, nrra int) int {
	return 128 + 120*nds + 120*nrra + 16 + 112*nds + 80*nds*nrra + 8*nrra
}
