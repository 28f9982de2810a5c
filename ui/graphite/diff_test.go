package graphite

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"rrdash/ingest/push"
	"rrdash/store"
)

// The differential test runs Debian's graphite-web 1.1.8 on loopback over
// whisper files written by python3-whisper, and rrdash's /render over the
// same points, and compares names, tags, timestamps and values (1e-9
// relative).
//
// The same points: written into whisper files by python3-whisper, and sent
// to rrdash's Graphite plaintext listener (openDiffStore), whose series
// follow carbon's data model (docs/STORE.md).

const diffNow = int64(1764000000) // 2025-11-24 16:00:00 UTC, a whole hour

const gwPython = "/usr/bin/python3"

// needGraphiteWeb skips without Debian's graphite-web, except under
// CI=true, where a missing oracle fails the test (make deps-test installs it).
func needGraphiteWeb(t *testing.T) {
	t.Helper()
	err := exec.Command(gwPython, "-c", "import graphite.settings, whisper, django").Run()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("graphite-web is not installed (%v): make deps-test installs Debian's graphite-web and python3-whisper", err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

type diffSeries struct {
	path     string
	points   map[int64]float64 // carbon timestamp → value; absent = gap
	archives [][2]int64        // whisper's (seconds per point, points); nil: diffSpec's
}

// diffData makes the corpus: 3 days of minutely points ending one step
// before now; some series have gaps, one is a counter.
func diffData() []diffSeries {
	r := rand.New(rand.NewPCG(18, 2026))
	var out []diffSeries
	start := diffNow - 3*86400
	mk := func(path string, gaps bool, f func(i int) float64) {
		s := diffSeries{path: path, points: map[int64]float64{}}
		for i, t := 0, start; t < diffNow; i, t = i+1, t+60 {
			if gaps && r.IntN(10) == 0 {
				continue
			}
			s.points[t] = f(i)
		}
		out = append(out, s)
	}
	for _, host := range []string{"web1", "web2", "db1"} {
		for _, m := range []string{"user", "system"} {
			gaps := host == "web2"
			mk("servers."+host+".cpu."+m, gaps, func(int) float64 { return math.Round(r.Float64()*10000) / 100 })
		}
	}
	total := 0.0
	mk("counters.requests", false, func(i int) float64 {
		if i%500 == 499 {
			total = 0 // a reset
		}
		total += float64(r.IntN(100))
		return total
	})
	mk("servers.web1.disk.free", true, func(int) float64 { return float64(r.IntN(1000)) - 200 })
	// tagged series, names as graphite normalizes them (tags sorted)
	for _, n := range []string{"app.cpu;dc=x;host=a", "app.cpu;dc=x;host=b", "app.cpu;dc=y;host=c", "app.mem;dc=x;host=a"} {
		mk(n, n == "app.cpu;dc=x;host=b", func(int) float64 { return float64(r.IntN(100)) })
	}
	return out
}

func diffSpec() store.Spec {
	return store.Spec{Step: 60, Start: diffNow - 3*86400, DS: []store.DS{{Name: "value", Type: store.Gauge, Heartbeat: 120, Min: math.NaN(), Max: math.NaN()}},
		RRA: []store.RRA{{CF: store.Average, XFF: 0.5, Steps: 1, Rows: 1440}, {CF: store.Average, XFF: 0.5, Steps: 5, Rows: 2016}, {CF: store.Average, XFF: 0.5, Steps: 60, Rows: 720}}}
}

// openDiffStore feeds the corpus through rrdash's real Graphite ingest: a
// plaintext listener on loopback and the push writer, into a store whose
// retention rule is the whisper files' layout with Graphite's data model.
// Each point is sent at a second within its slot (carbon floors it), series
// are created on first sight by the rule.
func openDiffStore(t testing.TB, data []diffSeries) *store.DB {
	t.Helper()
	rules, err := store.CompileRetention([]store.RetentionRule{{Name: "whisper", Retentions: "60s:1d,5m:7d,1h:30d",
		CF: []string{"AVERAGE"}, Model: store.ModelGraphite}})
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(t.TempDir(), store.Options{Retention: rules})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w, err := push.NewWriter(db, push.WriterConfig{MaxDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	g, err := push.ListenGraphite("127.0.0.1:0", w, push.GraphiteConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- g.Serve(ctx) }()
	conn, err := net.Dial("tcp", g.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(conn)
	sent := 0
	for _, s := range data {
		k := 0
		for tm := diffNow - 3*86400; tm < diffNow; tm += 60 {
			if v, ok := s.points[tm]; ok {
				// names as a client sends them: tags in any order
				fmt.Fprintf(bw, "%s %s %d\n", unsortTags(s.path), strconv.FormatFloat(v, 'g', -1, 64), tm+int64(k*7%60))
				k++
				sent++
			}
		}
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	// the server closes once every point is durable
	if _, err := io.Copy(io.Discard, conn); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if st := g.Stats(); st.Points != int64(sent) || st.Bad+st.Late+st.Refused != 0 {
		t.Fatalf("graphite ingest stats %+v, want %d points stored", st, sent)
	}
	for _, s := range data {
		if in, err := db.Info(s.path); err != nil || in.Meta[store.MetaRule] != "whisper" || in.Meta[store.MetaModel] != store.ModelGraphite {
			t.Fatalf("%s: %v %v", s.path, in, err)
		}
	}
	return db
}

// unsortTags reverses the tags of a tagged name (the ingest sorts them).
func unsortTags(name string) string {
	parts := strings.Split(name, ";")
	for i, j := 1, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, ";")
}

// startGraphiteWeb writes the whisper files and runs graphite-web.
func startGraphiteWeb(t *testing.T, data []diffSeries) string {
	t.Helper()
	dir := t.TempDir()
	type wsp struct {
		Path     string       `json:"path"`
		Archives [][2]int64   `json:"archives"`
		XFF      float64      `json:"xff"`
		Points   [][2]float64 `json:"points"`
	}
	var spec struct {
		Now    int64 `json:"now"`
		Series []wsp `json:"series"`
	}
	spec.Now = diffNow
	for _, s := range data {
		w := wsp{Path: s.path, Archives: [][2]int64{{60, 1440}, {300, 2016}, {3600, 720}}, XFF: 0.5, Points: [][2]float64{}}
		if s.archives != nil {
			w.Archives = s.archives
		}
		for tm := diffNow - 366*86400; tm < diffNow; tm += 60 {
			if v, ok := s.points[tm]; ok {
				w.Points = append(w.Points, [2]float64{float64(tm), v})
			}
		}
		spec.Series = append(spec.Series, w)
	}
	b, _ := json.Marshal(spec)
	specFile := filepath.Join(dir, "spec.json")
	if err := os.WriteFile(specFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs("testdata/graphiteweb.py")
	if out, err := exec.Command(gwPython, script, "whisper", specFile, filepath.Join(dir, "whisper")).CombinedOutput(); err != nil {
		t.Fatalf("writing whisper files: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	args := []string{script, "serve", dir}
	for _, s := range data {
		if strings.Contains(s.path, ";") {
			args = append(args, s.path)
		}
	}
	cmd := exec.CommandContext(ctx, gwPython, args...)
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	port := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		port <- strings.TrimSpace(line)
	}()
	select {
	case p := <-port:
		if p == "" {
			t.Fatalf("graphite-web did not start: %s", stderr.String())
		}
		return "http://127.0.0.1:" + p
	case <-time.After(60 * time.Second):
		t.Fatalf("graphite-web did not start within 60s: %s", stderr.String())
	}
	return ""
}

type renderedSeries struct {
	Target     string            `json:"target"`
	Tags       map[string]string `json:"tags"`
	Datapoints [][2]*float64     `json:"datapoints"`
}

func getRender(t *testing.T, h http.Handler, base string, q url.Values) (int, []renderedSeries, string) {
	t.Helper()
	var body []byte
	var code int
	if h != nil {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/render?"+q.Encode(), nil))
		code, body = rec.Code, rec.Body.Bytes()
	} else {
		resp, err := http.Get(base + "/render?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		code = resp.StatusCode
	}
	if code != http.StatusOK {
		return code, nil, string(body)
	}
	// graphite-web writes 1e9999 for infinity: not a float64
	text := strings.ReplaceAll(string(body), "1e9999", "1e308")
	var out []renderedSeries
	if err := json.Unmarshal([]byte(text), &out); err != nil {
		t.Fatalf("render %s: %v\n%s", q.Encode(), err, body)
	}
	return code, out, ""
}

func sameValue(a, b *float64) bool {
	switch {
	case a == nil || b == nil:
		return a == nil && b == nil
	case *a == *b:
		return true
	}
	return math.Abs(*a-*b) <= 1e-9*math.Max(math.Abs(*a), math.Abs(*b))
}

func diffRendered(a, b []renderedSeries) string {
	if len(a) != len(b) {
		names := func(l []renderedSeries) []string {
			var n []string
			for _, s := range l {
				n = append(n, s.Target)
			}
			return n
		}
		return fmt.Sprintf("%d series %v, graphite-web %d %v", len(a), names(a), len(b), names(b))
	}
	for i := range a {
		if !sameName(a[i].Target, b[i].Target) {
			return fmt.Sprintf("series %d: name %q, graphite-web %q", i, a[i].Target, b[i].Target)
		}
		if !sameTags(a[i].Tags, b[i].Tags) {
			return fmt.Sprintf("%s: tags %v, graphite-web %v", a[i].Target, a[i].Tags, b[i].Tags)
		}
		if len(a[i].Datapoints) != len(b[i].Datapoints) {
			return fmt.Sprintf("%s: %d points, graphite-web %d", a[i].Target, len(a[i].Datapoints), len(b[i].Datapoints))
		}
		for j, p := range a[i].Datapoints {
			q := b[i].Datapoints[j]
			if *p[1] != *q[1] {
				return fmt.Sprintf("%s point %d: time %v, graphite-web %v", a[i].Target, j, *p[1], *q[1])
			}
			if !sameValue(p[0], q[0]) {
				f := func(v *float64) string {
					if v == nil {
						return "null"
					}
					return strconv.FormatFloat(*v, 'g', -1, 64)
				}
				return fmt.Sprintf("%s at %v: %s, graphite-web %s", a[i].Target, *p[1], f(p[0]), f(q[0]))
			}
		}
	}
	return ""
}

// diffTargets is the corpus: every function of the first set, wildcards,
// nesting.
var diffTargets = []string{
	"servers.web1.cpu.user",
	"servers.*.cpu.user",
	"servers.web?.cpu.*",
	"servers.[a-w]*.cpu.{user,system}",
	"servers.{web1,db1}.cpu.system",
	"sumSeries(servers.*.cpu.user)",
	"sum(servers.*.cpu.*)",
	"averageSeries(servers.*.cpu.user)",
	"avg(servers.web*.cpu.system)",
	"maxSeries(servers.*.cpu.user)",
	"minSeries(servers.*.cpu.user)",
	"sumSeries(servers.web1.cpu.user,servers.web2.cpu.user)",
	"aggregate(servers.*.cpu.user,'median')",
	"aggregate(servers.*.cpu.user,'stddev')",
	"aggregate(servers.*.cpu.user,'count')",
	"aggregate(servers.*.cpu.user,'range')",
	"aggregate(servers.*.cpu.user,'diff')",
	"aggregate(servers.*.cpu.user,'last')",
	"aggregate(servers.*.cpu.user,'sum',0.5)",
	"scale(servers.web1.cpu.user,2.5)",
	"scale(servers.*.cpu.system,-1)",
	"offset(servers.web2.cpu.user,100)",
	"absolute(servers.web1.disk.free)",
	"derivative(counters.requests)",
	"derivative(servers.web2.cpu.user)",
	"nonNegativeDerivative(counters.requests)",
	// nonNegativeDerivative(x, maxValue) is left out: graphite-web 1.1.8
	// compares None > maxValue and fails (500) on any None.
	"perSecond(counters.requests)",
	"integral(servers.web2.cpu.user)",
	"movingAverage(servers.web1.cpu.user,10)",
	"movingAverage(servers.web2.cpu.user,'5min')",
	"movingAverage(servers.web2.cpu.user,5,0.5)",
	"alias(servers.web1.cpu.user,'web one')",
	"aliasByNode(servers.*.cpu.user,1)",
	"aliasByNode(servers.*.cpu.*,1,3)",
	"aliasByMetric(servers.web1.cpu.*)",
	"aliasByNode(scale(servers.*.cpu.user,2),1)",
	"keepLastValue(servers.web2.cpu.user)",
	"keepLastValue(servers.web1.disk.free,1)",
	"summarize(servers.web1.cpu.user,'1h')",
	"summarize(servers.web2.cpu.user,'15min','avg')",
	"summarize(servers.web2.cpu.user,'1h','max',true)",
	"hitcount(servers.web1.cpu.user,'10min')",
	"asPercent(servers.*.cpu.user)",
	"asPercent(servers.web1.cpu.user,servers.web1.cpu.system)",
	"asPercent(servers.*.cpu.user,100)",
	"divideSeries(servers.web1.cpu.user,servers.web1.cpu.system)",
	"divideSeries(servers.*.cpu.user,servers.db1.cpu.system)",
	"timeShift(servers.web1.cpu.user,'1h')",
	"timeShift(servers.web2.cpu.user,'-30min')",
	"highestCurrent(servers.*.cpu.user,2)",
	"highestAverage(servers.*.cpu.*,3)",
	"highestMax(servers.*.cpu.system,1)",
	"sortByMaxima(servers.*.cpu.user)",
	"limit(servers.*.cpu.*,2)",
	"groupByNode(servers.*.cpu.*,1,'sumSeries')",
	"groupByNode(servers.*.cpu.*,3)",
	"groupByNode(servers.*.cpu.*,3,'maxSeries')",
	"sumSeriesWithWildcards(servers.*.cpu.*,1)",
	"sumSeriesWithWildcards(servers.*.cpu.*,1,3)",
	"transformNull(servers.web2.cpu.user)",
	"transformNull(servers.web2.cpu.user,-1)",
	"transformNull(servers.web2.cpu.*,0,servers.web1.cpu.user)",
	"removeBelowValue(servers.web1.cpu.user,50)",
	"removeAboveValue(servers.web1.cpu.user,50)",
	"consolidateBy(servers.web1.cpu.user,'max')",
	"consolidateBy(servers.web2.cpu.user,'sum')",
	"servers.web1.cpu.user|scale(2)|offset(1)",
	"sumSeries(scale(servers.*.cpu.user,2),offset(servers.db1.cpu.user,5))",
	"movingAverage(sumSeries(servers.*.cpu.user),10)",
	"nonNegativeDerivative(sumSeries(counters.requests))",
	"scale(aggregate(servers.*.cpu.user,'max'),0.5)",
	"summarize(derivative(counters.requests),'1h','sum')",
	"perSecond(summarize(counters.requests,'10min','last'))",
	"app.cpu;dc=x;host=a",
	"seriesByTag('name=app.cpu')",
	"sumSeries(seriesByTag('name=app.cpu','dc=x'))",
	"seriesByTag('name=~app','host!=b')",
	"seriesByTag('dc=x','host=~[ab]')",
	"aliasByNode(seriesByTag('name=app.cpu'),'host')",
	"aliasByNode(seriesByTag('name=app.cpu'),0,'dc')",
	"groupByNode(seriesByTag('name=app.cpu'),'dc','sumSeries')",
	"scale(seriesByTag('name=app.mem'),2)",
	"averageSeries(seriesByTag('name=~app.*'))",
	"asPercent(servers.*.cpu.*,None,1)",
	"asPercent(servers.*.cpu.user,servers.*.cpu.system,1)",
	"asPercent(servers.*.cpu.user,servers.*.cpu.system)",
	"groupByNodes(servers.*.cpu.*,'sum',1,3)",
	"groupByNodes(servers.*.cpu.*,'average',3)",
	"aggregateWithWildcards(servers.*.cpu.*,'max',1)",
	"averageSeriesWithWildcards(servers.*.cpu.*,1)",
	"movingWindow(servers.web2.cpu.user,'10min','median',0.5)",
	"movingMax(servers.web1.cpu.user,3)",
	"movingMin(servers.web2.cpu.user,'4min')",
	"movingMedian(servers.web2.cpu.user,4)",
	"movingSum(servers.web2.cpu.user,'3min')",
	"hitcount(servers.web1.cpu.user,'1h',true)",
	"highest(servers.*.cpu.*,2,'max')",
	"summarize(servers.web1.cpu.user,'7min','avg',true)",
	"transformNull(keepLastValue(servers.web2.cpu.user,2),-5)",
	"timeShift(servers.web1.cpu.user,'1h',false)",
	"aliasByNode(servers.*.cpu.*,-1)",
	"consolidateBy(servers.web1.cpu.user,'last')",
	"divideSeries(servers.*.cpu.user,servers.nothing.x)",
	"sumSeries(servers.nothing.*)",
	"limit(sortByMaxima(servers.*.cpu.*),3)",
	"diffSeries(servers.web1.cpu.user,servers.web2.cpu.user)",
	"stddevSeries(servers.*.cpu.user)",
	"rangeOfSeries(servers.*.cpu.system)",
	"multiplySeries(servers.web1.cpu.*)",
	"multiplySeries(servers.web1.cpu.user)",
	"countSeries(servers.*.cpu.*)",
	"log(servers.web1.cpu.user)",
	"log(servers.web2.cpu.user,2)",
	"pow(servers.web1.disk.free,0.5)",
	"pow(servers.web1.cpu.user,2)",
	"squareRoot(servers.web1.disk.free)",
	"invert(servers.web1.disk.free)",
	"isNonNull(servers.web2.cpu.user)",
	"changed(removeBelowValue(servers.web1.cpu.user,50))",
	"delay(servers.web2.cpu.user,3)",
	"delay(servers.web2.cpu.user,-2)",
	"grep(servers.*.cpu.*,'web[12]\\.cpu\\.u')",
	"exclude(servers.*.cpu.*,'system')",
	"currentAbove(servers.*.cpu.*,50)",
	"currentBelow(servers.*.cpu.*,50)",
	"averageAbove(servers.*.cpu.*,50)",
	"averageBelow(servers.*.cpu.*,50)",
	"maximumAbove(servers.*.cpu.*,99.9)",
	"maximumBelow(servers.*.cpu.*,99.9)",
	"minimumAbove(servers.web1.disk.free,-150)",
	"minimumBelow(servers.*.cpu.*,0.1)",
	"filterSeries(servers.*.cpu.*,'sum','>=',5000)",
	"lowestCurrent(servers.*.cpu.*,2)",
	"lowestAverage(servers.*.cpu.*,2)",
	"lowest(servers.*.cpu.*,3,'max')",
	"sortBy(servers.*.cpu.*,'median',true)",
	"sortByTotal(servers.*.cpu.*)",
	"sortByMinima(servers.*.cpu.*)",
	"sortByName(servers.*.cpu.*,true,true)",
	"aliasSub(servers.*.cpu.user,'servers\\.(\\w+)\\.cpu','host \\1')",
	"nPercentile(servers.web2.cpu.user,95)",
	"removeAbovePercentile(servers.web1.cpu.user,90)",
	"removeBelowPercentile(servers.web2.cpu.user,10)",
	"percentileOfSeries(servers.*.cpu.user,50)",
	"percentileOfSeries(servers.*.cpu.*,75,true)",
	"color(servers.web1.cpu.user,'red')",
	"lineWidth(alpha(servers.web1.cpu.user,0.5),2)",
	"dashed(servers.web1.cpu.user)",
	"secondYAxis(servers.web1.cpu.user)",
	"drawAsInfinite(servers.web1.cpu.user)",
	"substr(servers.web1.cpu.user,1,3)",
	"substr(scale(servers.web1.cpu.user,2),2)",
	"scaleToSeconds(servers.web1.cpu.user,1)",
	"offsetToZero(servers.web2.cpu.user)",
	"minMax(servers.web1.disk.free)",
	"integralByInterval(servers.web2.cpu.user,'1h')",
	"interpolate(servers.web2.cpu.user)",
	"interpolate(servers.web1.disk.free,1)",
	"threshold(42,'limit','red')",
	"threshold(1.5)",
	"aliasByTags(seriesByTag('name=app.cpu'),'host','dc')",
	"groupByTags(seriesByTag('name=app.cpu'),'sum','dc')",
	"groupByTags(seriesByTag('name=~app.*'),'averageSeries','name')",
	"groupByTags(seriesByTag('name=~app.*'),'max','host')",
	"unique(servers.web1.cpu.*,servers.*.cpu.user)",
	"multiplySeriesWithWildcards(servers.web1.cpu.*,3)",
	"pct(servers.*.cpu.user)",
	"group(servers.web1.cpu.user,servers.db1.cpu.*)",
	"removeEmptySeries(servers.*.cpu.user)",
	"removeEmptySeries(removeAboveValue(servers.*.cpu.user,1),0.5)",
	"fallbackSeries(servers.nothing.x,servers.web1.cpu.user)",
	"cumulative(servers.web1.cpu.user)",
	"add(servers.web1.cpu.user,2.5)",
	"round(scale(servers.web1.cpu.user,0.333))",
	"round(scale(servers.web2.cpu.user,0.333),2)",
	"constantLine(100)", // Grafana's health check
	"constantLine(-2.5)",
}

type diffRange struct {
	name   string
	params url.Values
	// cascade: the range reads the hourly archive, which whisper computes
	// from its 5-minute one (an average of averages) and rrdtool from the
	// minutes; they agree where no minute is missing, so the targets are
	// moved onto the gap-free series, and the gappy ones only counted.
	cascade bool
}

// gapFree moves a target onto series without gaps (web1, db1, counters).
func gapFree(target string) (string, bool) {
	if strings.Contains(target, "disk.free") || strings.Contains(target, "app.cpu") || strings.Contains(target, "name=~app") || strings.Contains(target, "dc=x") {
		return "", false // series with gaps
	}
	r := strings.NewReplacer("servers.*.", "servers.{web1,db1}.", "servers.web?.", "servers.web1.", "servers.web*.", "servers.web1.",
		"servers.[a-w]*.", "servers.[dw]?1.", "web2", "db1")
	return r.Replace(target), true
}

func diffRanges() []diffRange {
	v := func(kv ...string) url.Values {
		q := url.Values{"now": {strconv.FormatInt(diffNow, 10)}, "format": {"json"}}
		for i := 0; i < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		return q
	}
	return []diffRange{
		{"last 2h", v("from", "-2h"), false},
		{"last day, maxDataPoints", v("from", "-1d", "maxDataPoints", "300"), false},
		{"absolute, 5min archive", v("from", "09:30_20251122", "until", "20251123"), false},
		{"epoch, 1h archive", v("from", strconv.FormatInt(diffNow-10*86400, 10), "until", strconv.FormatInt(diffNow-3600, 10)), true},
	}
}

// TestDifferentialGraphiteWeb runs one graphite-web for the render and
// the find comparisons.
func TestDifferentialGraphiteWeb(t *testing.T) {
	needGraphiteWeb(t)
	data := diffData()
	db := openDiffStore(t, data)
	gw := startGraphiteWeb(t, data)
	api := New(db, Options{Now: func() time.Time { return time.Unix(diffNow, 0) }, Annotations: openDiffEvents(t, gw)})
	t.Run("render", func(t *testing.T) { diffRender(t, api, gw) })
	t.Run("events", func(t *testing.T) { checkDiffEvents(t, api) })
	t.Run("find", func(t *testing.T) { diffFind(t, api, gw) })
}

func diffRender(t *testing.T, api *API, gw string) {
	h := http.HandlerFunc(api.Render)
	total, matched := 0, 0
	cascadeTotal, cascadeMatched := 0, 0
	var failures []string
	for _, rg := range diffRanges() {
		for _, target := range append(append(append([]string{}, diffTargets...), diffTargetsMore...), append(diffTargetsOneRange[rg.name], diffEventTargets[rg.name]...)...) {
			if rg.cascade {
				q := url.Values{}
				for k, v := range rg.params {
					q[k] = v
				}
				q.Set("target", target)
				cascadeTotal++
				if c1, want, _ := getRender(t, nil, gw, q); c1 == http.StatusOK {
					if c2, got, _ := getRender(t, h, "", q); c2 == http.StatusOK && diffRendered(got, want) == "" {
						cascadeMatched++
					}
				}
				var ok bool
				if target, ok = gapFree(target); !ok {
					continue
				}
			}
			q := url.Values{}
			for k, v := range rg.params {
				q[k] = v
			}
			q.Set("target", target)
			total++
			codeW, want, errW := getRender(t, nil, gw, q)
			codeG, got, errG := getRender(t, h, "", q)
			switch {
			case codeW != http.StatusOK:
				failures = append(failures, fmt.Sprintf("%s [%s]: graphite-web answered %d: %.200s", target, rg.name, codeW, errW))
			case codeG != http.StatusOK:
				failures = append(failures, fmt.Sprintf("%s [%s]: rrdash answered %d: %s", target, rg.name, codeG, errG))
			default:
				if d := diffRendered(got, want); d != "" {
					failures = append(failures, fmt.Sprintf("%s [%s]: %s", target, rg.name, d))
				} else {
					matched++
				}
			}
		}
	}
	for _, target := range diffRefusedTargets {
		q := diffRanges()[0].params
		q.Set("target", target)
		codeW, _, _ := getRender(t, nil, gw, q)
		codeG, got, _ := getRender(t, h, "", q)
		if codeW == http.StatusOK || codeG == http.StatusOK {
			failures = append(failures, fmt.Sprintf("%s: graphite-web answered %d, rrdash %d %v; both should refuse it", target, codeW, codeG, got))
		}
	}
	t.Logf("graphite-web 1.1.8 differential: %d of %d renders identical (%.1f%%)", matched, total, 100*float64(matched)/float64(total))
	t.Logf("hourly archive over series with gaps (whisper's average of 5-minute averages): %d of %d identical", cascadeMatched, cascadeTotal)
	for _, f := range failures {
		t.Error(f)
	}
}

// diffFind compares /metrics/find (treejson, completer, nodelist) and
// /metrics/expand with graphite-web's over the same tree.
func diffFind(t *testing.T, api *API, gw string) {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics/find", api.Find)
	mux.HandleFunc("/metrics/expand", api.Expand)
	mux.HandleFunc("/tags", api.Tags)
	mux.HandleFunc("/tags/host", api.TagDetails("host"))
	mux.HandleFunc("/tags/findSeries", api.FindSeries)
	mux.HandleFunc("/tags/autoComplete/tags", api.AutoCompleteTags)
	mux.HandleFunc("/tags/autoComplete/values", api.AutoCompleteValues)
	queries := []string{
		"/metrics/find?query=*",
		"/metrics/find?query=servers.*",
		"/metrics/find?query=servers.web?.*",
		"/metrics/find?query=servers.[a-w]*.cpu.{user,system}",
		"/metrics/find?query=servers.*.cpu.*",
		"/metrics/find?query=servers.[!w]*",
		"/metrics/find?query=servers.{web1,db1}.*",
		"/metrics/find?query=counters.*&from=-1h&until=now",
		"/metrics/find?query=servers.*&wildcards=1",
		"/metrics/find?query=servers.web1.*&wildcards=1",
		"/metrics/find?query=nothing.*",
		"/metrics/find?query=servers.w&format=completer",
		"/metrics/find?query=servers.web1.cpu.&format=completer",
		"/metrics/find?query=servers.*.cpu.u&format=completer&wildcards=1",
		"/metrics/find?query=servers.*&format=nodelist&position=1",
		"/metrics/expand?query=servers.*.cpu.user&query=counters.*",
		"/metrics/expand?query=servers.*&groupByExpr=1",
		"/metrics/expand?query=servers.*.*&leavesOnly=1",
		"/tags",
		"/tags?filter=d",
		"/tags/host",
		"/tags/host?filter=[ab]",
		"/tags/findSeries?expr=name=app.cpu&expr=dc=x",
		"/tags/findSeries?expr=name=~app&expr=host!=b",
		"/tags/findSeries?expr=dc!=x&expr=name=~a",
		"/tags/autoComplete/tags",
		"/tags/autoComplete/tags?tagPrefix=h",
		"/tags/autoComplete/tags?expr=name=app.cpu",
		"/tags/autoComplete/tags?expr=dc=y&limit=1",
		"/tags/autoComplete/values?tag=host",
		"/tags/autoComplete/values?tag=host&expr=dc=x",
		"/tags/autoComplete/values?tag=dc&valuePrefix=y",
		"/tags/autoComplete/values?tag=name&expr=host=a",
	}
	for _, q := range queries {
		resp, err := http.Get(gw + q)
		if err != nil {
			t.Fatal(err)
		}
		wantBody, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, q, nil))
		var want, got any
		if err := json.Unmarshal(wantBody, &want); err != nil {
			t.Fatalf("%s: graphite-web %d %s", q, resp.StatusCode, wantBody)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatalf("%s: rrdash %d %s", q, rec.Code, rec.Body)
		}
		if strings.HasPrefix(q, "/tags") {
			want = dropIDs(want)
		} else {
			want = dropTagged(want)
		}
		sortCompleter(want)
		sortCompleter(got)
		w, _ := json.Marshal(want)
		g, _ := json.Marshal(got)
		if string(w) != string(g) {
			t.Errorf("%s:\nrrdash       %s\ngraphite-web %s", q, g, w)
		}
	}
}

// sortCompleter orders completer results by name then path: graphite-web
// shuffles nodes before its stable sort by name, so equal names come in
// any order there.
func sortCompleter(v any) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	l, ok := m["metrics"].([]any)
	if !ok {
		return
	}
	key := func(x any) string {
		n, _ := x.(map[string]any)
		return fmt.Sprint(n["name"], "\x00", n["path"])
	}
	sort.SliceStable(l, func(i, j int) bool { return key(l[i]) < key(l[j]) })
}

// dropTagged removes graphite-web's "_tagged" directory (where carbon
// keeps tagged series' files) from a find answer: a storage layout, not
// a metric.
func dropTagged(v any) any {
	l, ok := v.([]any)
	if !ok {
		return v
	}
	out := []any{}
	for _, n := range l {
		if m, ok := n.(map[string]any); ok && m["text"] == "_tagged" {
			continue
		}
		out = append(out, n)
	}
	return out
}

// sameName: equal, numbers in a name (legendValue's, aggregateLine's)
// within 1e-9 as values are.
func sameName(a, b string) bool {
	if a == b {
		return true
	}
	num := regexp.MustCompile(`-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?`)
	if num.ReplaceAllString(a, "#") != num.ReplaceAllString(b, "#") {
		return false
	}
	x, y := num.FindAllString(a, -1), num.FindAllString(b, -1)
	for i := range x {
		p, err1 := strconv.ParseFloat(x[i], 64)
		q, err2 := strconv.ParseFloat(y[i], 64)
		if x[i] != y[i] && (err1 != nil || err2 != nil || !sameValue(&p, &q)) {
			return false
		}
	}
	return true
}

// sameTags: equal, a computed number (offsetToZero's minimum) within
// 1e-9 as values are.
func sameTags(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok {
			return false
		}
		if v == w {
			continue
		}
		x, err1 := strconv.ParseFloat(v, 64)
		y, err2 := strconv.ParseFloat(w, 64)
		if err1 != nil || err2 != nil || !sameValue(&x, &y) {
			return false
		}
	}
	return true
}

// dropIDs removes the "id" keys of graphite-web's tag answers (its
// database's row ids).
func dropIDs(v any) any {
	switch x := v.(type) {
	case []any:
		for i := range x {
			x[i] = dropIDs(x[i])
		}
	case map[string]any:
		delete(x, "id")
		for k := range x {
			x[k] = dropIDs(x[k])
		}
	}
	return v
}
