package rpn

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"rrdash/store"

	"rrdash/store/rrdtooltest"
)

// The differential test runs a generated corpus of CDEF/VDEF expressions
// through the real `rrdtool xport` and through Script.Xport over the same
// rows (fetched from the same RRD files with the real `rrdtool fetch`), and
// compares every exported value.
//
// Exactness: rrdtool xport prints %0.10e. The RRDs hold only values that
// print exactly (small dyadic fractions, see makeMinuteRRD), so our inputs
// are bit-identical to rrdtool's; each of our outputs is formatted the same
// way and must give the same text. The last digit can only differ when a
// libm function (glibc vs Go) lands within a few ulp of a rounding boundary;
// for expressions using one, a value within 4 ulp of ours printing as
// rrdtool's text is accepted.

const minuteT0 = 1_700_000_100 // a multiple of 180, so 3-PDP rows align

// stream is a series definition and its update stream, fed both to
// rrdtool (an .rrd file) and to the store.
type stream struct {
	start, step int64
	spec        []string // DS:… and RRA:… arguments
	updates     []string // "T:v1:v2…"
}

// minuteStream is a 60 s series with DS a, b, c. Updates fall exactly on
// step boundaries and are small halves, so PDPs are exact. Each group of
// three PDPs (one row of the 3-PDP archives) is m+d, m−d, m in some order,
// so its average is exact too; a few unknowns and infinities are mixed in.
func minuteStream(rows int) stream {
	st := stream{start: minuteT0, step: 60, spec: []string{
		"DS:a:GAUGE:120:U:U", "DS:b:GAUGE:120:U:U", "DS:c:GAUGE:120:U:U",
		"RRA:AVERAGE:0.5:1:1000", "RRA:MIN:0.5:1:1000", "RRA:MAX:0.5:1:1000", "RRA:LAST:0.5:1:1000",
		"RRA:AVERAGE:0.5:3:400", "RRA:MAX:0.5:3:400"}}
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([][]string, 3)
	for g := 0; g < rows/3; g++ {
		for ds := range vals {
			m := float64(rng.IntN(40)-10) / 2
			d := []float64{0, 0.5, 1, 2.5}[rng.IntN(4)]
			grp := []float64{m + d, m - d, m}
			rng.Shuffle(3, func(i, j int) { grp[i], grp[j] = grp[j], grp[i] })
			for _, v := range grp {
				s := strconv.FormatFloat(v, 'f', -1, 64)
				switch r := rng.IntN(100); {
				case r < 8:
					s = "U"
				case r == 8:
					s = "inf"
				case r == 9:
					s = "-inf"
				}
				vals[ds] = append(vals[ds], s)
			}
		}
	}
	for i := range vals[0] {
		st.updates = append(st.updates, fmt.Sprintf("%d:%s:%s:%s", minuteT0+60*(i+1), vals[0][i], vals[1][i], vals[2][i]))
	}
	return st
}

// hourT0 is 2023-12-27 00:00 UTC; the hourly series spans New Year, month
// ends and the spring DST change of Europe/Berlin.
const hourT0 = 1_703_635_200

func hourStream(rows int) stream {
	st := stream{start: hourT0, step: 3600, spec: []string{
		"DS:x:GAUGE:7200:U:U", "DS:y:GAUGE:7200:U:U", "RRA:AVERAGE:0.5:1:3000", "RRA:LAST:0.5:1:3000"}}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 1; i <= rows; i++ {
		x := strconv.Itoa(rng.IntN(20))
		y := strconv.FormatFloat(float64(rng.IntN(40)-20)/4, 'f', -1, 64)
		if rng.IntN(15) == 0 {
			x = "U"
		}
		st.updates = append(st.updates, fmt.Sprintf("%d:%s:%s", hourT0+3600*i, x, y))
	}
	return st
}

// dayT0 is 2022-01-01 00:00 UTC; the daily series spans two years, so
// period operators also run on daily and weekly steps.
const dayT0 = 1_640_995_200

func dayStream(rows int) stream {
	st := stream{start: dayT0, step: 86400, spec: []string{"DS:d:GAUGE:172800:U:U", "RRA:AVERAGE:0.5:1:1000"}}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 1; i <= rows; i++ {
		st.updates = append(st.updates, fmt.Sprintf("%d:%d", dayT0+86400*i, rng.IntN(50)))
	}
	return st
}

// makeRRD creates name.rrd in dir from the stream with the real rrdtool.
func makeRRD(t testing.TB, bin, dir, name string, st stream) string {
	t.Helper()
	path := dir + "/" + name + ".rrd"
	args := append([]string{"create", path, "--start", strconv.FormatInt(st.start, 10), "--step", strconv.FormatInt(st.step, 10)}, st.spec...)
	if _, err := runRRDTool(bin, "UTC", args...); err != nil {
		t.Fatal(err)
	}
	for u := st.updates; len(u) > 0; {
		n := min(len(u), 300)
		if _, err := runRRDTool(bin, "UTC", append([]string{"update", path}, u[:n]...)...); err != nil {
			t.Fatal(err)
		}
		u = u[n:]
	}
	return path
}

func makeMinuteRRD(t testing.TB, bin, dir string, rows int) string {
	return makeRRD(t, bin, dir, "m", minuteStream(rows))
}

// loadStore creates the series in a store and applies the stream's updates
// through the store's update path.
func loadStore(t testing.TB, db *store.DB, name string, st stream) {
	t.Helper()
	spec, err := store.ParseSpecArgs(st.step, st.start, st.spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Create(name, spec, false); err != nil {
		t.Fatal(err)
	}
	var b store.Batch
	b.StopOnError = true
	for _, arg := range st.updates {
		u, err := store.ParseUpdateArg(arg, nil, len(spec.DS))
		if err != nil {
			t.Fatal(err)
		}
		u.Series = name
		b.Updates = append(b.Updates, u)
	}
	res, err := db.Apply(context.Background(), b)
	if err != nil || len(res.Errors) > 0 {
		t.Fatalf("store apply %s: %v %v", name, err, res.Errors)
	}
}

// profile is one xport setup: its DEFs, the series variables expressions
// may use, and the time range options.
type profile struct {
	name  string
	tz    string
	defs  []string // DEF and base CDEF statements with "@" for the RRD path
	vars  []string // series variables for expressions
	step  int64    // the variables' step, for TREND/PREDICT windows
	start int64
	end   int64
	opts  []string // extra xport options (--step, --maxrows)
	// mixed: the variables have different steps, so CDEFs run on a finer
	// step than some inputs. rrdtool then lets PREV(x), TREND and PREDICT
	// read before the start of x's data (undefined memory), so the
	// generator leaves them out there.
	mixed bool
}

// gen produces random, stack-correct RPN expressions over a profile's
// variables that exercise every 1.7.2 operator.
type gen struct {
	rng   *rand.Rand
	mixed bool
	vars  []string
	step  int64
	ops   map[string]int // operator → uses, for the coverage report
}

func (g *gen) pick(xs ...string) string { return xs[g.rng.IntN(len(xs))] }

func (g *gen) note(op string) string {
	g.ops[op]++
	return op
}

func (g *gen) leaf() string {
	switch g.rng.IntN(10) {
	case 0, 1, 2, 3:
		return g.pick(g.vars...)
	case 4, 5:
		return g.pick("0", "1", "2", "-1", "0.5", "3", "10", "100", "-2.5", "1e3", "7", "0.25")
	case 6:
		return g.note(g.pick("UNKN", "INF", "NEGINF"))
	case 7:
		return g.note(g.pick("TIME", "LTIME", "NEWDAY", "NEWWEEK", "NEWMONTH", "NEWYEAR", "STEPWIDTH", "COUNT"))
	case 8:
		return g.note(g.pick("PREV", "COUNT"))
	default:
		if g.mixed {
			return g.pick(g.vars...)
		}
		v := g.pick(g.vars...)
		g.ops["PREV()"]++
		return "PREV(" + v + ")"
	}
}

// combine folds the top n values into one, keeping their order visible.
func (g *gen) combine(n int) string {
	var b []string
	w := 10
	for range n - 1 {
		b = append(b, "EXC", strconv.Itoa(w), "*", "+")
		w *= 10
	}
	return strings.Join(b, ",")
}

func join(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, ",")
}

func (g *gen) exprs(n, depth int) string {
	var parts []string
	for range n {
		parts = append(parts, g.expr(depth))
	}
	return join(parts...)
}

func (g *gen) expr(depth int) string {
	if depth <= 0 || g.rng.IntN(4) == 0 {
		return g.leaf()
	}
	d := depth - 1
	k := g.rng.IntN(16)
	if g.mixed && (k == 12 || k == 13) {
		k = 2 // no windows over coarser inputs, see profile.mixed
	}
	switch k {
	case 0, 1:
		return join(g.expr(d), g.note(g.pick("SIN", "COS", "LOG", "EXP", "SQRT", "ATAN", "FLOOR", "CEIL",
			"ABS", "DEG2RAD", "RAD2DEG", "UN", "ISINF")))
	case 2, 3, 4:
		return join(g.expr(d), g.expr(d), g.note(g.pick("+", "-", "*", "/", "%", "POW", "ADDNAN", "ATAN2",
			"LT", "LE", "GT", "GE", "EQ", "NE", "MIN", "MAX", "MINNAN", "MAXNAN")))
	case 5:
		return join(g.expr(d), g.expr(d), g.expr(d), g.note("IF"))
	case 6:
		lo := g.pick("0", "-1", "2", "NEGINF", g.expr(d))
		hi := g.pick("5", "10", "INF", g.expr(d))
		return join(g.expr(d), lo, hi, g.note("LIMIT"))
	case 7:
		n := 1 + g.rng.IntN(5)
		return join(g.exprs(n, d), strconv.Itoa(n), g.note(g.pick("AVG", "SMIN", "SMAX", "MEDIAN", "STDEV")))
	case 8:
		n := 1 + g.rng.IntN(5)
		p := g.pick("25", "50", "75", "100", "37.5", "90", "60")
		if pf, _ := strconv.ParseFloat(p, 64); int(pf*float64(n)/100+0.5) < 1 {
			p = "100"
		}
		return join(g.exprs(n, d), p, strconv.Itoa(n), g.note("PERCENT"))
	case 9:
		n := 2 + g.rng.IntN(3)
		return join(g.exprs(n, d), strconv.Itoa(n), g.note(g.pick("SORT", "REV")), g.combine(n))
	case 10:
		switch g.rng.IntN(6) {
		case 0:
			return join(g.expr(d), g.expr(d), g.note("EXC"), g.pick("-", "/", "%"))
		case 1:
			return join(g.expr(d), g.note("DUP"), g.pick("*", "+", "-"))
		case 2:
			return join(g.expr(d), g.expr(d), g.note("POP"))
		case 3:
			n := 1 + g.rng.IntN(3)
			m := g.rng.IntN(7) - 3
			// n > 3 reads stale stack memory in rrdtool 1.7.2; rrdash does
			// the documented rotation there (unit-tested).
			return join(g.exprs(n, d), strconv.Itoa(n), strconv.Itoa(m), g.note("ROLL"), g.combine(n))
		case 4:
			k := 1 + g.rng.IntN(2)
			return join(g.exprs(2, d), strconv.Itoa(k), g.note("COPY"), g.combine(2+k))
		default:
			k := 1 + g.rng.IntN(3)
			return join(g.exprs(3, d), strconv.Itoa(k), g.note("INDEX"), g.combine(4))
		}
	case 11:
		return join(g.expr(d), g.expr(d), g.note("DEPTH"), g.combine(3))
	case 12:
		dur := g.step * int64(1+g.rng.IntN(6))
		if g.rng.IntN(4) == 0 {
			dur += g.step / 2 // not a whole number of steps
		}
		return join(g.pick(g.vars...), strconv.FormatInt(dur, 10), g.note(g.pick("TREND", "TRENDNAN")))
	case 13:
		op := g.note(g.pick("PREDICT", "PREDICTSIGMA", "PREDICTPERC"))
		win := strconv.FormatInt(g.step*int64(g.rng.IntN(4)), 10)
		var shifts string
		if g.rng.IntN(2) == 0 {
			k := 1 + g.rng.IntN(3)
			var s []string
			for range k {
				s = append(s, strconv.FormatInt(g.step*int64(g.rng.IntN(8)), 10))
			}
			shifts = join(strings.Join(s, ","), strconv.Itoa(k))
		} else {
			shifts = join(strconv.FormatInt(g.step*int64(1+g.rng.IntN(5)), 10), strconv.Itoa(-1-g.rng.IntN(4)))
		}
		perc := ""
		if op == "PREDICTPERC" {
			perc = g.pick("50", "90", "-90", "95", "0", "100", "-50", "25")
		}
		return join(shifts, win, perc, g.pick(g.vars...), op)
	case 14:
		return join(g.expr(d), g.note("PREV"), g.pick("ADDNAN", "MAX", "+"))
	default:
		return join(g.expr(d), g.note("TIME"), g.pick("86400", "3600", "604800"), "%", "+")
	}
}

// finish makes a generated expression valid for rrdtool: at least one
// series variable, and no trailing constant.
func (g *gen) finish(e string) string {
	hasVar := false
	for _, tok := range strings.Split(e, ",") {
		for _, v := range g.vars {
			if tok == v || tok == "PREV("+v+")" {
				hasVar = true
			}
		}
	}
	if !hasVar {
		e = join(g.vars[0], "POP", e)
	}
	toks := strings.Split(e, ",")
	if _, isNum := parseNumber(toks[len(toks)-1]); isNum {
		e = join(e, "1", "*")
	}
	return e
}

// diffCase is one xport invocation: a profile and the expressions
// exported as CDEFs (plus VDEFs folded into CDEFs).
type diffCase struct {
	prof  profile
	stmts []string // CDEF/VDEF statements after the profile's DEFs
	cols  []string // XPORTed variables
	exprs []string // the expression of each column, for messages
}

// corpusSeed is 99 unless RPN_CORPUS_SEED asks for another corpus.
func corpusSeed() uint64 {
	if s, err := strconv.ParseUint(os.Getenv("RPN_CORPUS_SEED"), 10, 64); err == nil {
		return s
	}
	return 99
}

func buildCorpus(profiles []profile, perProfile, batch int) ([]diffCase, map[string]int) {
	ops := map[string]int{}
	var cases []diffCase
	for pi, p := range profiles {
		g := &gen{rng: rand.New(rand.NewPCG(uint64(pi+10), corpusSeed())), vars: p.vars, step: p.step, ops: ops, mixed: p.mixed}
		var c diffCase
		flush := func() {
			if len(c.cols) > 0 {
				cases = append(cases, c)
			}
			c = diffCase{prof: p}
		}
		flush()
		for i := range perProfile {
			depth := 1 + g.rng.IntN(4)
			e := g.finish(g.expr(depth))
			name := fmt.Sprintf("e%d", i)
			c.stmts = append(c.stmts, "CDEF:"+name+"="+e)
			c.cols = append(c.cols, name)
			c.exprs = append(c.exprs, e)
			// Every tenth expression also feeds a VDEF used in a CDEF.
			if i%10 == 0 {
				fn := g.pick("MAXIMUM", "MINIMUM", "AVERAGE", "STDEV", "LAST", "FIRST", "TOTAL",
					"LSLSLOPE", "LSLINT", "LSLCORREL", "95,PERCENT", "50,PERCENTNAN", "0,PERCENT", "100,PERCENTNAN")
				ops["VDEF "+fn]++
				src := g.pick(name, p.vars[0])
				if strings.Contains(e, "PREDICT") {
					// At the CDEF's last row PREDICT reads past the data in
					// rrdtool, and a VDEF sees every row.
					src = p.vars[0]
				}
				if strings.Contains(fn, "PERCENTNAN") {
					src = p.vars[0] // all unknown reads outside the array in rrdtool
				}
				c.stmts = append(c.stmts, fmt.Sprintf("VDEF:v%d=%s,%s", i, src, fn),
					fmt.Sprintf("CDEF:w%d=%s,POP,v%d", i, p.vars[0], i))
				c.cols = append(c.cols, fmt.Sprintf("w%d", i))
				srcExpr := src
				if src == name {
					srcExpr = e // libm inside the source counts for the VDEF too
				}
				c.exprs = append(c.exprs, fmt.Sprintf("VDEF %s,%s of %s", src, fn, srcExpr))
			}
			if len(c.cols) >= batch {
				flush()
			}
		}
		flush()
	}
	return cases, ops
}

func diffProfiles() []profile {
	mdefs := []string{"DEF:a=m:a:AVERAGE", "DEF:b=m:b:AVERAGE", "DEF:c=m:c:AVERAGE",
		"CDEF:ai=a,3,EQ,INF,a,IF", "CDEF:bi=b,-2,EQ,NEGINF,b,IF"}
	mvars := []string{"a", "b", "c", "ai", "bi"}
	return []profile{
		{name: "minute", tz: "UTC", defs: mdefs, vars: mvars, step: 60,
			start: minuteT0 + 600, end: minuteT0 + 600 + 300*60},
		{name: "minute-unaligned", tz: "America/New_York", defs: mdefs, vars: mvars, step: 60,
			start: minuteT0 + 630, end: minuteT0 + 630 + 250*60 + 17},
		{name: "minute-180", tz: "UTC", defs: append([]string{"DEF:mn=m:a:MIN", "DEF:ls=m:b:LAST:reduce=AVERAGE"}, mdefs...),
			vars: append([]string{"mn", "ls"}, mvars...), step: 180,
			start: minuteT0 + 720, end: minuteT0 + 720 + 120*180, opts: []string{"--step", "180"}},
		{name: "minute-240", tz: "UTC", defs: []string{"DEF:a=m:a:AVERAGE", "DEF:mx=m:c:MAX", "DEF:lt=m:b:LAST:step=300"},
			vars: []string{"a", "mx", "lt"}, step: 360, mixed: true,
			start: minuteT0 + 840, end: minuteT0 + 840 + 80*360, opts: []string{"--step", "240"}},
		// DEF ranges wider than the export: rrdtool 1.7.2 xport places a
		// narrower DEF's rows from the export start and reads past its end.
		{name: "minute-defrange", tz: "UTC", defs: []string{"DEF:a=m:a:AVERAGE", "DEF:p=m:b:AVERAGE:start=end-7h",
			"DEF:q=m:c:MAX:end=start+6h:step=120", "DEF:r=m:a:MIN:start=" + strconv.Itoa(minuteT0+300) + ":end=now:reduce=MAX:step=180"},
			vars: []string{"a", "p", "q", "r"}, step: 60, mixed: true,
			start: minuteT0 + 600, end: minuteT0 + 600 + 300*60},
		{name: "day-sydney", tz: "Australia/Sydney", defs: []string{"DEF:d=d:d:AVERAGE", "CDEF:e=d,2,%"},
			vars: []string{"d", "e"}, step: 86400,
			start: dayT0 + 86400, end: dayT0 + 86400*780, opts: []string{"--maxrows", "1000"}},
		{name: "week-berlin", tz: "Europe/Berlin", defs: []string{"DEF:d=d:d:AVERAGE", "DEF:w=d:d:MAX:reduce=MIN"},
			vars: []string{"d", "w"}, step: 604800,
			start: dayT0 + 86400*3, end: dayT0 + 86400*780, opts: []string{"--step", "604800"}},
		{name: "hour-berlin", tz: "Europe/Berlin", defs: []string{"DEF:x=h:x:AVERAGE", "DEF:y=h:y:AVERAGE"},
			vars: []string{"x", "y"}, step: 3600,
			start: hourT0 + 3600, end: hourT0 + 3600*2300, opts: []string{"--maxrows", "3000"}},
		// SHIFT by seconds (truncated to whole steps) and by a VDEF; a
		// second SHIFT of b replaces the first, as in rrdtool's data_calc.
		{name: "minute-shift", tz: "UTC", defs: []string{"DEF:a=m:a:AVERAGE", "DEF:b=m:b:AVERAGE:start=end-8h",
			"SHIFT:b:1000", "SHIFT:b:3630", "DEF:c=m:c:MAX", "VDEF:cf=c,FIRST", "CDEF:c2=c,2,*", "SHIFT:c2:cf", "CDEF:ab=a,b,+"},
			vars: []string{"a", "b", "c2", "ab"}, step: 60, mixed: true,
			start: minuteT0 + 600, end: minuteT0 + 600 + 300*60},
	}
}

// substitute replaces the "m"/"h" series names with the RRD paths for the
// rrdtool side.
func rrdDefs(defs []string, files map[string]string) []string {
	var out []string
	for _, d := range defs {
		if strings.HasPrefix(d, "DEF:") {
			name, rest, _ := strings.Cut(d, "=")
			series, tail, _ := strings.Cut(rest, ":")
			d = name + "=" + files[series] + ":" + tail
		}
		out = append(out, d)
	}
	return out
}

func TestDifferentialXport(t *testing.T) {
	bin := rrdtooltest.Bin(t)
	dir := t.TempDir()
	ms, hs, ds := minuteStream(900), hourStream(2350), dayStream(800)
	files := map[string]string{"m": makeRRD(t, bin, dir, "m", ms), "h": makeRRD(t, bin, dir, "h", hs),
		"d": makeRRD(t, bin, dir, "d", ds)}
	// The same streams in rrdash's store: every case is also evaluated over
	// the store's rows and must give the same values.
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	loadStore(t, db, "m", ms)
	loadStore(t, db, "h", hs)
	loadStore(t, db, "d", ds)
	per := 300
	if testing.Short() || raceEnabled {
		per = 60
	}
	profiles := diffProfiles()
	cases, ops := buildCorpus(profiles, per, 110)
	fetchers := map[string]Fetcher{}
	for _, p := range profiles {
		fetchers[p.tz] = &rrdFetcher{bin: bin, tz: p.tz, files: files, cache: map[string]*store.FetchResult{}}
	}
	exprs, cols := 0, 0
	for _, c := range cases {
		exprs += len(c.exprs)
	}
	var stats diffStats
	var mu sync.Mutex
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	failures := 0
	for ci, c := range cases {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			n, errs := runDiffCase(bin, files, fetchers, db, &stats, c)
			mu.Lock()
			defer mu.Unlock()
			cols += n
			for _, e := range errs {
				failures++
				if failures <= 25 {
					t.Errorf("case %d (%s): %s", ci, c.prof.name, e)
				}
			}
		}()
	}
	wg.Wait()
	if failures > 25 {
		t.Errorf("… %d mismatches in all", failures)
	}
	var missing []string
	for op := range opNames {
		if op == "ROUND" || op == "NOW" {
			continue // not in 1.7.2 / wall clock: unit-tested instead
		}
		if ops[op] == 0 && op != "DUP" && op != "EXC" && op != "POP" && op != "DEPTH" && op != "COPY" && op != "INDEX" && op != "ROLL" {
			missing = append(missing, op)
		}
	}
	if !testing.Short() && !raceEnabled && len(missing) > 0 {
		t.Errorf("corpus does not exercise %v", missing)
	}
	t.Logf("corpus: %d expressions in %d xport runs, %d exported values compared, %d libm-ill-conditioned values skipped",
		exprs, len(cases), cols, stats.illConditioned.Load())
	if os.Getenv("RPN_CORPUS_STATS") != "" {
		t.Logf("operator uses: %v", ops)
	}
}

// diffStats counts what the differential test could not compare.
type diffStats struct {
	illConditioned atomic.Int64 // libm rows too sensitive to compare
}

// runDiffCase runs one xport through rrdtool and through Script.Xport (over
// rrdtool's fetched rows, and over db's when not nil) and returns the number
// of values compared and the mismatches.
func runDiffCase(bin string, files map[string]string, fetchers map[string]Fetcher, db Fetcher, st *diffStats, c diffCase) (int, []string) {
	p := c.prof
	args := []string{"xport", "--start", strconv.FormatInt(p.start, 10), "--end", strconv.FormatInt(p.end, 10)}
	args = append(args, p.opts...)
	var xports []string
	for _, col := range c.cols {
		xports = append(xports, "XPORT:"+col)
	}
	rargs := append(append(append(args, rrdDefs(p.defs, files)...), c.stmts...), xports...)
	out, err := runRRDTool(bin, p.tz, rargs...)
	if err != nil {
		return 0, []string{fmt.Sprintf("rrdtool failed: %v", err)}
	}
	ref, err := parseXportXML(out)
	if err != nil {
		return 0, []string{fmt.Sprintf("rrdtool output: %v", err)}
	}
	loc, err := time.LoadLocation(p.tz)
	if err != nil {
		return 0, []string{err.Error()}
	}
	req := Request{Start: p.start, End: p.end, Env: Env{Loc: loc, Now: time.Now().Unix()}}
	for i := 0; i < len(p.opts); i += 2 {
		n, _ := strconv.ParseInt(p.opts[i+1], 10, 64)
		switch p.opts[i] {
		case "--step":
			req.Step = n
		case "--maxrows":
			req.MaxRows = int(n)
		}
	}
	// ours, and ours with libm results perturbed up and down.
	var xs []*Export
	for _, f := range []string{"", "1.000000000000002", "0.999999999999998"} {
		stmts := c.stmts
		if f != "" {
			stmts = nil
			for _, st := range c.stmts {
				if strings.HasPrefix(st, "CDEF:") {
					st = perturbLibm(st, f)
				}
				stmts = append(stmts, st)
			}
		}
		sc, err := ParseScript(append(append(append([]string{}, p.defs...), stmts...), xports...))
		if err != nil {
			return 0, []string{fmt.Sprintf("our parse: %v", err)}
		}
		x, err := sc.Xport(context.Background(), fetchers[p.tz], req)
		if err != nil {
			return 0, []string{fmt.Sprintf("our xport: %v", err)}
		}
		xs = append(xs, x)
	}
	x := xs[0]
	var errs []string
	var xdb *Export
	if db != nil {
		sc, err := ParseScript(append(append(append([]string{}, p.defs...), c.stmts...), xports...))
		if err != nil {
			return 0, []string{fmt.Sprintf("our parse: %v", err)}
		}
		// Over the store under the default budget: the corpus is what
		// ordinary requests look like, none may be refused.
		dbReq := req
		dbReq.Budget = DefaultBudget
		if xdb, err = sc.Xport(context.Background(), db, dbReq); err != nil {
			return 0, []string{fmt.Sprintf("our xport over the store: %v", err)}
		}
		if xdb.Start != x.Start || xdb.End != x.End || xdb.Step != x.Step {
			return 0, []string{fmt.Sprintf("layout over the store: start %d end %d step %d; over rrdtool's rows %d %d %d",
				xdb.Start, xdb.End, xdb.Step, x.Start, x.End, x.Step)}
		}
	}
	if x.Start+x.Step != ref.Meta.Start || x.End != ref.Meta.End || x.Step != ref.Meta.Step || x.Rows() != len(ref.Rows) {
		return 0, []string{fmt.Sprintf("layout: ours start %d end %d step %d rows %d; rrdtool start %d end %d step %d rows %d",
			x.Start+x.Step, x.End, x.Step, x.Rows(), ref.Meta.Start, ref.Meta.End, ref.Meta.Step, len(ref.Rows))}
	}
	n := 0
	for j, expr := range c.exprs {
		libm := usesLibm(expr)
		for r, row := range ref.Rows {
			if r == len(ref.Rows)-1 && p.end%p.step != 0 && strings.Contains(expr, "PREDICT") {
				// The last row is the DEF's last: rrdtool's PREDICT reads
				// the sample after it, past the data (undefined memory).
				continue
			}
			perturbed := []float64{xs[1].Columns[j][r], xs[2].Columns[j][r]}
			ok, skipped := verdict(x.Columns[j][r], row.V[j], libm, perturbed)
			if skipped {
				st.illConditioned.Add(1)
				continue
			}
			n++
			if !ok {
				errs = append(errs, fmt.Sprintf("%s: row %d (t=%d): ours %s, rrdtool %s",
					expr, r, x.Start+int64(r+1)*x.Step, xmlValue(x.Columns[j][r]), row.V[j]))
				break
			}
			if xdb != nil {
				if ok, _ := verdict(xdb.Columns[j][r], row.V[j], libm, perturbed); !ok {
					errs = append(errs, fmt.Sprintf("over the store: %s: row %d (t=%d): ours %s, rrdtool %s",
						expr, r, x.Start+int64(r+1)*x.Step, xmlValue(xdb.Columns[j][r]), row.V[j]))
					break
				}
			}
		}
	}
	return n, errs
}
