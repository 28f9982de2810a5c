package attime

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"rrdash/store/rrdtooltest"
)

// timeSpecGen generates AT-style --start/--end pairs covering the grammar
// of rrdfetch(1): times of day, every day form, offsets with every unit
// and the "m" heuristics, start/end references, DST transition days, odd
// spacing and case, and some invalid specs (both sides must refuse them).
type timeSpecGen struct{ r *rand.Rand }

func (g timeSpecGen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g timeSpecGen) sep() string { return g.pick("_", ",", "", "_") }

func (g timeSpecGen) cased(s string) string {
	switch g.r.IntN(5) {
	case 0:
		return strings.ToUpper(s)
	case 1:
		if s != "" {
			return strings.ToUpper(s[:1]) + s[1:]
		}
	}
	return s
}

func (g timeSpecGen) tod() string {
	h := g.r.IntN(24)
	switch g.r.IntN(7) {
	case 0:
		return fmt.Sprintf("%d:%02d", h, g.r.IntN(60))
	case 1:
		return fmt.Sprintf("%02d:%02d", h, g.r.IntN(60))
	case 2:
		return fmt.Sprintf("%d%s", 1+g.r.IntN(12), g.cased(g.pick("am", "pm")))
	case 3:
		return fmt.Sprintf("%d:%02d%s%s", 1+g.r.IntN(12), g.r.IntN(60), g.sep(), g.pick("am", "pm", "AM"))
	case 4:
		return g.cased(g.pick("noon", "midnight", "teatime"))
	case 5:
		return strconv.Itoa(h)
	}
	return fmt.Sprintf("%d:%d", h, g.r.IntN(70)) // sometimes an invalid minute
}

func (g timeSpecGen) date() string {
	y := 2000 + g.r.IntN(30)
	m := 1 + g.r.IntN(12)
	d := 1 + g.r.IntN(31)
	yy := func() string {
		if g.r.IntN(2) == 0 {
			return strconv.Itoa(y)
		}
		return fmt.Sprintf("%02d", y%100)
	}
	months := []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
	long := []string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}
	switch g.r.IntN(8) {
	case 0:
		return fmt.Sprintf("%02d/%02d/%s", m, d, yy())
	case 1:
		return fmt.Sprintf("%d.%d.%s", d, m, yy())
	case 2:
		return fmt.Sprintf("%04d%02d%02d", y, m, d)
	case 3:
		return fmt.Sprintf("%s%s%d", g.cased(months[m-1]), g.sep(), d)
	case 4:
		return fmt.Sprintf("%s_%d_%s", g.cased(long[m-1]), d, yy())
	case 5:
		return g.cased(g.pick("yesterday", "today", "tomorrow"))
	case 6:
		return g.cased(g.pick("sunday", "mon", "tue", "wednesday", "thu", "fri", "saturday"))
	}
	return fmt.Sprintf("%d/%d", m, d) // no year: rrdtool's year-30000 quirk
}

// dstDate is a time on a day a zone changes its clocks (2025/2026).
func (g timeSpecGen) dstDate() string {
	return g.pick(
		"02:30_29.03.2026", "01:30_29.03.2026", "03:30_29.03.2026", "02:30_25.10.2026", "02:00_25.10.2026", "03:00_25.10.2026",
		"02:30_03/08/2026", "01:30_11/01/2026", "12:00_03/08/2026", "02:30_05.04.2026", "02:30_04.10.2026",
		"02:30_30.03.2025", "02:30_26.10.2025", "noon_20261025", "midnight_20260329", "teatime_Mar_29_2026",
		"1774747800", "1792891800", "1792888200")
}

func (g timeSpecGen) offsets() string {
	var b strings.Builder
	n := 1 + g.r.IntN(3)
	for i := 0; i < n; i++ {
		if i == 0 || g.r.IntN(3) > 0 {
			b.WriteString(g.pick("-", "+", "-"))
		}
		b.WriteString(strconv.Itoa(g.r.IntN(40)))
		b.WriteString(g.cased(g.pick("s", "sec", "seconds", "m", "min", "minutes", "h", "hr", "hours", "d", "day", "days",
			"w", "wk", "weeks", "mon", "month", "months", "y", "yr", "years", "", "x")))
		if g.r.IntN(6) == 0 {
			b.WriteString(g.pick("_", " "))
		}
	}
	return b.String()
}

func (g timeSpecGen) absolute() string {
	switch g.r.IntN(9) {
	case 0:
		return g.pick("now", "n", "NOW") + g.maybe(g.offsets())
	case 1:
		return g.offsets()
	case 2:
		return g.tod() + g.maybe(g.sep()+g.date())
	case 3:
		return g.date() + g.maybe(g.sep()+g.tod())
	case 4:
		return g.dstDate() + g.maybe(g.offsets())
	case 5:
		return strconv.Itoa(946684800+g.r.IntN(1<<30)) + g.maybe(g.offsets())
	case 6:
		return g.tod() + g.sep() + g.date() + g.offsets()
	case 7:
		return g.pick("12am_01/01/01", "23:59_31.12.1999", "19970703_12:45", "Oct_12", "noon_yesterday-3hours", "9am-1day",
			"midnight_Thu", "-5mon1w2d", "-5h45min", "-7h+1h30m-15min", "-6m", "+5m", "now-", "noon+", "12:60", "25:00_1.1.2020",
			"32.1.2020_10:00", "13/13/2020", "10:00_1.1.1969", "jan", "jan_32", "@1", "1:2:3", "3pm_tomorrow", "24:00")
	}
	return g.tod()
}

func (g timeSpecGen) maybe(s string) string {
	if g.r.IntN(2) == 0 {
		return ""
	}
	return s
}

func (g timeSpecGen) pair() (string, string) {
	switch g.r.IntN(6) {
	case 0:
		return g.pick("end", "e", "END") + g.offsets(), g.absolute()
	case 1:
		return g.absolute(), g.pick("start", "s", "Start") + g.offsets()
	case 2:
		return g.pick("end", "e") + g.offsets(), g.dstDate()
	case 3:
		return g.dstDate(), g.pick("start", "s") + g.offsets()
	}
	return g.absolute(), g.pick("now", "2000000000", "s+1h", "start+1d", "end", "tomorrow")
}

// TestTimeSpecAgainstRRDtool compares resolved --start/--end with real
// rrdtool's (graph_start/graph_end of `rrdtool graphv`, many commands
// through one `rrdtool -` per time zone): equal seconds, or both refuse.
func TestTimeSpecAgainstRRDtool(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	dir := t.TempDir()
	rrd := filepath.Join(dir, "t.rrd")
	// One row per year: graph fetches (end-start)/step rows, and some specs
	// land in the year 30000.
	if out, err := exec.Command(bin, "create", rrd, "--start", "0", "--step", "31536000",
		"DS:a:GAUGE:63072000:U:U", "RRA:AVERAGE:0.5:1:2").CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	cases := 400
	if s := os.Getenv("RRDASH_TIMESPEC_CASES"); s != "" {
		cases, _ = strconv.Atoi(s)
	}
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata"}
	compared, refused := 0, 0
	for zi, zone := range zones {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatalf("zone %s: %v", zone, err)
		}
		g := timeSpecGen{r: rand.New(rand.NewPCG(20261122, uint64(zi)))}
		type pair struct{ start, end string }
		pairs := make([]pair, cases)
		var script strings.Builder
		for i := range pairs {
			s, e := g.pair()
			// rrdtool's pipe mode splits lines at spaces; '_' is a space to both.
			s, e = strings.ReplaceAll(s, " ", "_"), strings.ReplaceAll(e, " ", "_")
			pairs[i] = pair{s, e}
			fmt.Fprintf(&script, "graphv %s --start %s --end %s DEF:a=%s:a:AVERAGE LINE1:a#ff0000\n",
				filepath.Join(dir, "g.png"), s, e, rrd)
		}
		cmd := exec.Command(bin, "-")
		cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ="+zone)
		cmd.Stdin = strings.NewReader(script.String())
		t0 := time.Now().Unix()
		out, err := cmd.Output()
		t1 := time.Now().Unix()
		if err != nil {
			t.Fatalf("rrdtool - (%s): %v", zone, err)
		}
		results := parseGraphvResults(t, out)
		if len(results) != len(pairs) {
			t.Fatalf("%s: %d results for %d commands", zone, len(results), len(pairs))
		}
		for i, p := range pairs {
			want := results[i]
			var lastGot string
			matched := false
			for now := t0; now <= t1 && !matched; now++ {
				s, e, err := ParseRange(p.start, p.end, time.Unix(now, 0), loc)
				switch {
				case want.err != "":
					// graph refuses starts before 1980 and huge ranges where
					// xport and fetch do not: then only the seconds matter.
					matched = err != nil || strings.Contains(want.err, "after 1980") && s < 315532800
					lastGot = fmt.Sprintf("%d %d %v", s, e, err)
				default:
					matched = err == nil && s == want.start && e == want.end
					lastGot = fmt.Sprintf("%d %d %v", s, e, err)
				}
			}
			if want.err != "" {
				refused++
			} else {
				compared++
			}
			if !matched {
				t.Errorf("TZ=%s --start %q --end %q: rrdtool %d %d %q, rrdash %s", zone, p.start, p.end, want.start, want.end, want.err, lastGot)
			}
		}
	}
	t.Logf("%d time-spec pairs in %d zones: %d resolved equal, %d refused by both", compared+refused, len(zones), compared, refused)
}

type graphvResult struct {
	start, end int64
	err        string
}

// parseGraphvResults reads `rrdtool -` output: per command either
// "graph_start = N" … "OK …" or "ERROR: …".
func parseGraphvResults(t *testing.T, out []byte) []graphvResult {
	t.Helper()
	var res []graphvResult
	cur := graphvResult{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "graph_start = "):
			cur.start, _ = strconv.ParseInt(strings.TrimPrefix(line, "graph_start = "), 10, 64)
		case strings.HasPrefix(line, "graph_end = "):
			cur.end, _ = strconv.ParseInt(strings.TrimPrefix(line, "graph_end = "), 10, 64)
		case strings.HasPrefix(line, "OK "):
			res = append(res, cur)
			cur = graphvResult{}
		case strings.HasPrefix(line, "ERROR: "):
			res = append(res, graphvResult{err: strings.TrimPrefix(line, "ERROR: ")})
			cur = graphvResult{}
		}
	}
	return res
}
