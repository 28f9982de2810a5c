package remote

import (
	"context"
	"errors"
	"fmt"
	"math"
	"rrdash/store/computeds"
	"sort"
	"strconv"
	"strings"

	"rrdash/store"
)

// rrdcached's own commands cannot carry what rrdash's CLI needs to print
// exactly what it prints locally: FETCH has no resolution (rrdcached always
// fetches the finest archive), INFO prints values with 11 digits and no
// metadata, LAST rounds down to the step, LIST and the file names of
// commands cannot spell every series name ("//host/check#metric"), and the
// errors are rrdtool's, not rrdash's. So rrdash serve also answers these
// extension commands, which take series names as they are, answer with the
// store's own error texts and print numbers exactly (Go's shortest
// round-trip form: "0.1", "NaN", "+Inf"):
//
//	XCREATE <series> <step> <start> <overwrite 0|1> <DS:…>… <RRA:…>…
//	  → 0 created
//	XUPDATE <series> <time[.usec]:value:…>…   (values in DS order)
//	  → 0 applied N           (answered once durable)
//	  → -1 K <error>          (the K-th update (from 0) was refused: those
//	                           before it are applied and durable, none after)
//	XFETCH <series> <CF> <start> <end> <resolution> <align-start 0|1>
//	  → N Success, then "Start: s", "End: e", "Step: st", "CF: AVERAGE",
//	    "RRA: i", "DSName: a b", and one line "time: v v" per row
//	XINFO <series>
//	  → N Info, then "name <quoted>", "step s", "last_update t",
//	    per DS "ds <name> <type> <heartbeat> <min> <max> <value> <unknown_sec> <quoted last_ds>",
//	    per archive "rra <cf> <rows> <cur_row> <pdp_per_row> <xff>" followed by
//	    "cdp <value> <unknown_datapoints>" per DS, and "meta <quoted key> <quoted value>"
//	XLIST [<glob>]
//	  → N Series, then one quoted series name per line, sorted
//	XUPDATEV <series> <time[.usec]:value:…>…   (see updatev.go)
//	XDELETE <series>…
//	  → 0 deleted N           (every series, or none: an unknown one is an error)
//	XRENAME <old> <new>
//	  → 0 renamed
//	XDUMP <series>                            (see dump.go)
//	XTUNE, XRESIZE                            (see tune.go)
//
// Quoted strings are Go's strconv.Quote, so any name fits on one line.

// Store is what the extension commands need of a store; *store.DB has it.
type Store interface {
	Create(name string, spec store.Spec, overwrite bool) error
	ApplyAsync(ctx context.Context, b store.Batch) (store.Result, func() error, error)
	Fetch(name string, req store.FetchRequest) (*store.FetchResult, error)
	Info(name string) (*store.Info, error)
	List(pattern string) ([]string, error)
	Delete(names ...string) error
	Rename(old, new string) error
}

var _ Store = (*store.DB)(nil)

// Reply is the answer to an extension command.
type Reply struct {
	Err   bool     // a "-1 Msg" answer
	Msg   string   // the status message, without a line end
	Lines []string // the lines that follow (not for errors)
	// Wait, when set, must return nil before the answer is sent (it
	// makes XUPDATE's updates durable); its error replaces the answer.
	Wait func() error
}

// ExtCommands are the names of the extension commands.
var ExtCommands = []string{"XCREATE", "XUPDATE", "XFETCH", "XINFO", "XLIST", "XUPDATEV", "XDELETE", "XRENAME", "XDUMP", "XTUNE", "XRESIZE"}

// ExtWrites reports whether an extension command writes (for servers that
// grant reading and writing separately).
func ExtWrites(cmd string) bool {
	return cmd == "XCREATE" || cmd == "XUPDATE" || cmd == "XUPDATEV" || cmd == "XDELETE" || cmd == "XRENAME" || cmd == "XTUNE" || cmd == "XRESIZE"
}

func fail(err error) Reply { return Reply{Err: true, Msg: err.Error()} }

func usage(s string) Reply { return Reply{Err: true, Msg: "Usage: " + s} }

// ServeExt answers the extension command cmd (one of ExtCommands, in any
// case) with args; ok is false for any other command.
func ServeExt(ctx context.Context, st Store, cmd string, args []string) (r Reply, ok bool) {
	switch strings.ToUpper(cmd) {
	case "XCREATE":
		return serveCreate(st, args), true
	case "XUPDATE":
		return serveUpdate(ctx, st, args), true
	case "XFETCH":
		return serveFetch(st, args), true
	case "XINFO":
		return serveInfo(st, args), true
	case "XLIST":
		return serveList(st, args), true
	case "XUPDATEV":
		return serveUpdateV(ctx, st, args), true
	case "XDELETE":
		if len(args) == 0 {
			return usage("XDELETE <series>…"), true
		}
		if err := st.Delete(args...); err != nil {
			return fail(err), true
		}
		return Reply{Msg: "deleted " + strconv.Itoa(len(args))}, true
	case "XRENAME":
		if len(args) != 2 {
			return usage("XRENAME <old> <new>"), true
		}
		if err := st.Rename(args[0], args[1]); err != nil {
			return fail(err), true
		}
		return Reply{Msg: "renamed"}, true
	case "XDUMP":
		return serveDump(st, args), true
	case "XTUNE":
		return serveTune(st, args), true
	case "XRESIZE":
		return serveResize(st, args), true
	}
	return Reply{}, false
}

// num formats a number of an extension answer; rrdtool's positive NaN
// (computeds.PosNaN, which fetch prints "nan") is "nan", any other NaN
// "NaN" (parseNum tells them apart; both read as NaN elsewhere).
func num(v float64) string {
	if computeds.IsPosNaN(v) {
		return "nan"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func serveCreate(st Store, args []string) Reply {
	const syntax = "XCREATE <series> <step> <start> <overwrite 0|1> [--source=OLD…] [--map=NEW=OLD:I…] [--start-given] <DS:…>… <RRA:…>…"
	if len(args) < 4 {
		return usage(syntax)
	}
	step, err1 := strconv.ParseInt(args[1], 10, 64)
	start, err2 := strconv.ParseInt(args[2], 10, 64)
	if err1 != nil || err2 != nil || args[3] != "0" && args[3] != "1" {
		return usage(syntax)
	}
	cs, defs, err := takeCreateSources(args[4:]) // createsource.go
	if err != nil {
		return fail(err)
	}
	spec, err := store.ParseSpecArgs(step, start, defs)
	if err != nil {
		return fail(err)
	}
	if len(cs.sources) > 0 {
		return serveCreateSources(st, args[0], spec, cs, args[3] == "1")
	}
	if err := st.Create(args[0], spec, args[3] == "1"); err != nil {
		return fail(err)
	}
	return Reply{Msg: "created"}
}

func serveUpdate(ctx context.Context, st Store, args []string) Reply {
	if len(args) < 2 {
		return usage("XUPDATE <series> <time[.usec]:value:…>…")
	}
	name := args[0]
	b := store.Batch{StopOnError: true, Updates: make([]store.Update, 0, len(args)-1)}
	var parseErr error
	for _, a := range args[1:] {
		u, err := parseSent(a)
		if err != nil {
			parseErr = fmt.Errorf("%s: %w", name, err)
			break
		}
		u.Series = name
		b.Updates = append(b.Updates, u)
	}
	res, wait, err := st.ApplyAsync(ctx, b)
	if err != nil {
		return fail(err)
	}
	refused, k := parseErr, len(b.Updates)
	if len(res.Errors) > 0 {
		refused, k = res.Errors[0], res.Errors[0].Index
	}
	if refused != nil {
		// what came before the refused update stays applied: it must
		// be durable before the refusal is told
		if err := wait(); err != nil {
			return fail(err)
		}
		return Reply{Err: true, Msg: strconv.Itoa(k) + " " + refused.Error()}
	}
	return Reply{Msg: "applied " + strconv.Itoa(res.Applied), Wait: wait}
}

// parseSent reads an update as the client sends it: "time[.usec]:v:…",
// the time in seconds since the epoch, the values as given.
func parseSent(a string) (store.Update, error) {
	ts, rest, ok := strings.Cut(a, ":")
	if !ok {
		return store.Update{}, fmt.Errorf("update %q: no values", a)
	}
	sec, frac, hasFrac := strings.Cut(ts, ".")
	t, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return store.Update{}, fmt.Errorf("update %q: bad time", a)
	}
	var usec int64
	if hasFrac {
		if len(frac) != 6 {
			return store.Update{}, fmt.Errorf("update %q: microseconds must have 6 digits", a)
		}
		if usec, err = strconv.ParseInt(frac, 10, 64); err != nil || usec < 0 {
			return store.Update{}, fmt.Errorf("update %q: bad microseconds", a)
		}
	}
	return store.Update{Time: t, Usec: usec, Values: strings.Split(rest, ":")}, nil
}

// formatSent is parseSent's inverse.
func formatSent(b []byte, u store.Update) []byte {
	b = strconv.AppendInt(b, u.Time, 10)
	if u.Usec != 0 {
		b = append(b, '.')
		b = append(b, fmt.Sprintf("%06d", u.Usec)...)
	}
	for _, v := range u.Values {
		b = append(b, ':')
		b = append(b, v...)
	}
	return b
}

func serveFetch(st Store, args []string) Reply {
	const syntax = "XFETCH <series> <CF> <start> <end> <resolution> <align-start 0|1>"
	if len(args) != 6 || args[5] != "0" && args[5] != "1" {
		return usage(syntax)
	}
	cf, err := store.ParseCF(args[1])
	if err != nil {
		return fail(err)
	}
	var v [3]int64
	for i := range v {
		if v[i], err = strconv.ParseInt(args[2+i], 10, 64); err != nil {
			return usage(syntax)
		}
	}
	res, err := st.Fetch(args[0], store.FetchRequest{CF: cf, Start: v[0], End: v[1], Resolution: v[2], AlignStart: args[5] == "1"})
	if err != nil {
		return fail(err)
	}
	rows := res.Rows()
	lines := make([]string, 0, rows+6)
	lines = append(lines, "Start: "+strconv.FormatInt(res.Start, 10), "End: "+strconv.FormatInt(res.End, 10),
		"Step: "+strconv.FormatInt(res.Step, 10), "CF: "+res.CF.String(), "RRA: "+strconv.Itoa(res.RRA),
		"DSName: "+strings.Join(res.DS, " "))
	var b []byte
	for i := 0; i < rows; i++ {
		b = strconv.AppendInt(b[:0], res.Start+int64(i+1)*res.Step, 10)
		b = append(b, ':')
		for d := range res.DS {
			b = append(b, ' ')
			if v := res.Values[d][i]; computeds.IsPosNaN(v) {
				b = append(b, "nan"...) // as num
			} else {
				b = strconv.AppendFloat(b, v, 'g', -1, 64)
			}
		}
		lines = append(lines, string(b))
	}
	return Reply{Msg: "Success", Lines: lines}
}

func serveInfo(st Store, args []string) Reply {
	if len(args) != 1 {
		return usage("XINFO <series>")
	}
	in, err := st.Info(args[0])
	if err != nil {
		return fail(err)
	}
	lines := []string{"name " + strconv.Quote(in.Name), "step " + strconv.FormatInt(in.Step, 10), "last_update " + strconv.FormatInt(in.LastUpdate, 10)}
	for _, d := range in.DS {
		lines = append(lines, fmt.Sprintf("ds %s %s %d %s %s %s %d %s", d.Name, d.Type, d.Heartbeat, num(d.Min), num(d.Max), num(d.Value), d.UnknownSec, strconv.Quote(d.LastDS)))
	}
	if in.RRDVersion > 0 {
		lines = append(lines, "rrd_version "+strconv.Itoa(in.RRDVersion))
	}
	for _, r := range in.RRA {
		lines = append(lines, fmt.Sprintf("rra %s %d %d %d %s", r.CF, r.Rows, r.CurRow, r.Steps, num(r.XFF)))
		if r.HW != nil {
			cf, _ := store.ParseCF(r.CF)
			lines = append(lines, "hwdef "+store.RRA{CF: cf, Steps: r.Steps, Rows: r.Rows, HW: *r.HW}.String())
		}
		for _, c := range r.CDP {
			lines = append(lines, fmt.Sprintf("cdp %s %d", num(c.Value), c.UnknownPDP))
			if c.HW != nil {
				lines = append(lines, hwWordsLine(*c.HW))
			}
		}
	}
	keys := make([]string, 0, len(in.Meta))
	for k := range in.Meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lines = append(lines, "meta "+strconv.Quote(k)+" "+strconv.Quote(in.Meta[k]))
	}
	return Reply{Msg: "Info", Lines: lines}
}

func serveList(st Store, args []string) Reply {
	if len(args) > 1 {
		return usage("XLIST [<glob>]")
	}
	pat := ""
	if len(args) == 1 {
		pat = args[0]
	}
	names, err := st.List(pat)
	if err != nil {
		return fail(err)
	}
	lines := make([]string, len(names))
	for i, n := range names {
		lines[i] = strconv.Quote(n)
	}
	return Reply{Msg: "Series", Lines: lines}
}

// WriteReply writes r as the protocol spells it ("STATUS msg\n" and the
// lines); a server calls it after r.Wait.
func WriteReply(b []byte, r Reply) []byte {
	if r.Err {
		return append(append(append(b, "-1 "...), oneLine(r.Msg)...), '\n')
	}
	b = strconv.AppendInt(b, int64(len(r.Lines)), 10)
	b = append(append(append(b, ' '), oneLine(r.Msg)...), '\n')
	for _, l := range r.Lines {
		b = append(append(b, l...), '\n')
	}
	return b
}

// oneLine keeps a message on its status line: a store error naming a
// series with a line break in it must not break the stream.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\n\r") {
		return s
	}
	return strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(s)
}

// errBadAnswer wraps answers the client cannot read.
var errBadAnswer = errors.New("malformed answer")

// parseNum reads a number written by num.
func parseNum(s string) (float64, error) {
	if s == "nan" {
		return math.Float64frombits(computeds.PosNaN), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.NaN(), fmt.Errorf("%w: number %q", errBadAnswer, s)
	}
	return v, nil
}
