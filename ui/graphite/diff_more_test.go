package graphite

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"

	"rrdash/store/meta"
)

// diffTargetsMore covers the functions added after the first set:
// graphite-web 1.1.8's remaining data functions, each over several
// series shapes, nested, and with its options.
var diffTargetsMore = []string{
	// combining lists pairwise, map/reduce, applyByNode
	"aggregateSeriesLists(servers.*.cpu.user,servers.*.cpu.system,'sum')",
	"aggregateSeriesLists(servers.*.cpu.user,servers.*.cpu.system,'max',0.5)",
	"aggregateSeriesLists(servers.web*.cpu.user,servers.web*.cpu.system,'median')",
	"sumSeriesLists(servers.*.cpu.user,servers.*.cpu.system)",
	"diffSeriesLists(servers.*.cpu.user,servers.*.cpu.system)",
	"multiplySeriesLists(servers.web*.cpu.user,servers.web*.cpu.system)",
	"divideSeriesLists(servers.*.cpu.user,servers.*.cpu.system)",
	"powSeries(servers.web1.cpu.user,servers.web2.cpu.system)",
	"powSeries(servers.web1.cpu.*)",
	"powSeries(scale(servers.db1.cpu.user,0.1),constantLine(2))",
	"weightedAverage(servers.*.cpu.user,servers.*.cpu.system,1)",
	"weightedAverage(servers.*.cpu.user,servers.*.cpu.system)",
	"weightedAverage(servers.*.cpu.user,servers.*.cpu.system,1,'name')",
	"weightedAverage(seriesByTag('name=app.cpu'),seriesByTag('name=app.cpu'),'dc')",
	"reduceSeries(mapSeries(servers.*.cpu.*,1),'asPercent',3,'user','system')",
	"reduce(map(servers.*.cpu.*,1),'divideSeries',3,'system','user')",
	"reduceSeries(mapSeries(servers.*.cpu.*,1),'sumSeries',3,'user','system')",
	"reduceSeries(mapSeries(servers.*.cpu.*,1),'diffSeries',-1,'user','system')",
	"applyByNode(servers.*.cpu.user,1,'sumSeries(%.cpu.*)')",
	"applyByNode(servers.*.cpu.user,1,'divideSeries(%.cpu.user,sumSeries(%.cpu.*))','%.ratio')",
	"applyByNode(servers.*.cpu.*,1,'maxSeries(%.cpu.*)')",
	"applyByNode(servers.*.cpu.user,0,'sumSeries(%.{web1,db1}.cpu.user)','all')",
	// point transforms
	"exp(scale(servers.web1.cpu.user,0.1))",
	"exp(scale(servers.web2.cpu.*,0.05))",
	"logit(scale(servers.web2.cpu.user,0.01))",
	"logit(servers.web1.cpu.user)",
	"sigmoid(offset(servers.web1.cpu.user,-50))",
	"sigmoid(scale(servers.web2.cpu.user,-0.1))",
	"stdev(servers.web2.cpu.user,5)",
	"stdev(servers.web1.cpu.user,10,0.5)",
	"stdev(servers.web1.disk.free,3,0.9)",
	"stdev(sumSeries(servers.*.cpu.user),30)",
	"exponentialMovingAverage(servers.web1.cpu.user,10)",
	"exponentialMovingAverage(servers.web2.cpu.user,'5min')",
	"exponentialMovingAverage(servers.web2.cpu.user,0)",
	"exponentialMovingAverage(sumSeries(servers.*.cpu.system),'1h')",
	"timeSlice(servers.web1.cpu.user,'15:00_20251124','15:30_20251124')",
	"timeSlice(servers.*.cpu.user,'12:00_20251122','18:00_20251122')",
	"timeSlice(servers.web2.cpu.user,'1763900000','1763950000')",
	"timeStack(servers.web1.cpu.user,'1h',0,3)",
	"timeStack(servers.web2.cpu.user,'30min',1,2)",
	"timeStack(servers.web1.cpu.user)",
	"timeStack(sumSeries(servers.*.cpu.user),'6h',0,2)",
	"smartSummarize(servers.web1.cpu.user,'1h')",
	"smartSummarize(servers.web2.cpu.user,'15min','avg')",
	"smartSummarize(servers.web2.cpu.user,'1h','max','hours')",
	"smartSummarize(servers.web1.cpu.user,'1d','sum','days')",
	"smartSummarize(servers.web1.cpu.user,'30min','last','minutes')",
	"smartSummarize(counters.requests,'1w','max','weeks')",
	"integralByInterval(servers.web1.cpu.user,'30min')",
	// calculations
	"aggregateLine(servers.*.cpu.user)",
	"aggregateLine(servers.web2.cpu.user,'max',true)",
	"aggregateLine(servers.web1.disk.free,'last')",
	"aggregateLine(servers.*.cpu.*,'median',true)",
	"aggregateLine(servers.nothing.x)",
	"holtWintersForecast(servers.web1.cpu.user)",
	"holtWintersForecast(servers.web2.cpu.user,'1d','3h')",
	"holtWintersForecast(servers.db1.cpu.system,'2d')",
	"holtWintersConfidenceBands(servers.web1.cpu.user)",
	"holtWintersConfidenceBands(servers.web2.cpu.user,2,'1d','2h')",
	"holtWintersConfidenceBands(counters.requests,3,'3d','6h')",
	"holtWintersConfidenceArea(servers.web1.cpu.user,3,'1h','3h')",
	"holtWintersConfidenceArea(servers.db1.cpu.user)",
	"holtWintersAberration(servers.web1.cpu.user,3,'0d','3h')",
	"holtWintersAberration(servers.db1.cpu.user,1,'0d','6h')",
	"linearRegression(servers.web1.cpu.user)",
	"linearRegression(servers.web2.cpu.user,'14:00_20251124','15:00_20251124')",
	"linearRegression(counters.requests,'20251122','20251123')",
	"linearRegression(servers.{web1,db1}.cpu.user,'20251121')",
	"movingAverage(servers.web2.cpu.user,'1h')",
	"movingMedian(servers.web1.cpu.user,'10min')",
	"movingSum(servers.web1.disk.free,'30min',0.5)",
	"movingMin(servers.db1.cpu.user,'1h')",
	"movingMax(servers.web2.cpu.user,'15min')",
	"nPercentile(servers.*.cpu.user,50)",
	"nPercentile(servers.web1.disk.free,99.5)",
	"percentileOfSeries(servers.*.cpu.system,90,true)",
	"percentileOfSeries(servers.web*.cpu.*,25,false)",
	// filters and sorts
	"averageOutsidePercentile(servers.web1.cpu.*,80)",
	"averageOutsidePercentile(servers.*.cpu.*,90)",
	"averageOutsidePercentile(servers.*.cpu.*,10)",
	"removeBetweenPercentile(transformNull(servers.*.cpu.*),70)",
	"removeBetweenPercentile(transformNull(servers.{web1,db1}.cpu.user,-1),30)",
	"mostDeviant(servers.*.cpu.*,2)",
	"mostDeviant(servers.*.cpu.*,-2)",
	"mostDeviant(servers.web1.disk.free,1)",
	"useSeriesAbove(transformNull(servers.*.cpu.user),99,'user','system')",
	"useSeriesAbove(transformNull(servers.{web1,db1}.cpu.user,-1),99.9,'transformNull\\((.*)\\.user,-1\\)','\\1.system')",
	"sortByName(servers.*.cpu.*)",
	"sortByName(servers.*.cpu.*,false,true)",
	"sortByTotal(scale(servers.*.cpu.user,-1))",
	"sortByMaxima(servers.*.cpu.system)",
	"sortByMinima(servers.web1.disk.free)",
	"sortBy(servers.*.cpu.*,'last')",
	"sortBy(servers.*.cpu.*,'stddev')",
	"highest(servers.*.cpu.*,3,'median')",
	"lowest(servers.*.cpu.*,2,'last')",
	"highest(servers.*.cpu.*,1,'stddev')",
	// naming
	"aliasQuery(servers.web1.cpu.user,'servers\\.(\\w+)\\.cpu\\.user','servers.\\1.cpu.system','system %d')",
	"aliasQuery(servers.web*.cpu.user,'servers\\.(\\w+)\\.cpu\\.user','servers.\\1.cpu.system','%.2f percent')",
	"aliasQuery(servers.db1.cpu.user,'user','system','sys %s')",
	"legendValue(servers.*.cpu.user,'avg','max')",
	"legendValue(servers.web1.cpu.user,'last','si')",
	"legendValue(servers.web2.cpu.*,'avg','total','min','binary')",
	"legendValue(servers.web1.cpu.user,'count','median','bogus')",
	"cactiStyle(servers.*.cpu.user)",
	"cactiStyle(servers.web1.disk.free,'si','B')",
	"cactiStyle(servers.web*.cpu.*,'binary')",
	"cactiStyle(scale(servers.web1.disk.free,1000),None,'req')",
	// generated series, graph helpers that carry data
	"xFilesFactor(servers.web2.cpu.user,0.5)",
	"sumSeries(setXFilesFactor(servers.web*.cpu.user,1))",
	"identity('the.time')",
	"time('t',120)",
	"sin('wave',2)",
	"stacked(servers.*.cpu.user)",
	"stacked(servers.*.cpu.system,'cpu')",
	"stacked(group(servers.web1.cpu.user,servers.web2.cpu.user))",
	"sumSeries(stacked(servers.*.cpu.user))",
	"areaBetween(servers.web1.cpu.*)",
	"areaBetween(group(servers.db1.cpu.user,servers.web1.cpu.user))",
	// tags: seriesByTag forms, groupByTags with every aggregation
	"seriesByTag('host=~a|c')",
	"seriesByTag('name=app.cpu','dc!=~x')",
	"seriesByTag('dc=y')",
	"aliasByTags(seriesByTag('dc=x'),'name','host')",
	"groupByTags(seriesByTag('name=app.cpu'),'median','dc')",
	"groupByTags(seriesByTag('name=app.cpu'),'min','dc')",
	"groupByTags(seriesByTag('name=app.cpu'),'count','dc')",
	"groupByTags(seriesByTag('name=app.cpu'),'diff','dc')",
	"groupByTags(seriesByTag('name=app.cpu'),'stddev','dc')",
	"groupByTags(seriesByTag('name=app.cpu'),'range','dc')",
	"groupByTags(seriesByTag('name=app.cpu'),'multiply','dc')",
	"groupByTags(seriesByTag('name=app.cpu'),'last','dc')",
	"groupByTags(seriesByTag('name=app.cpu'),'avg_zero','dc')",
	"groupByTags(seriesByTag('name=~app.*'),'sum','name','dc')",
	"groupByNode(servers.*.cpu.*,1,callback='max')",
	// nesting across the new functions
	"aliasByNode(holtWintersForecast(servers.*.cpu.user,'1d'),1)",
	"highestMax(stdev(servers.*.cpu.user,5),1)",
	"legendValue(smartSummarize(servers.web1.cpu.user,'1h','avg'),'max')",
	"asPercent(exponentialMovingAverage(servers.web1.cpu.*,5),sumSeries(servers.web1.cpu.*))",
}

// diffTargetsOneRange are targets naming absolute times inside one
// range only.
var diffTargetsOneRange = map[string][]string{
	"last 2h": {
		"verticalLine('15:30_20251124','deploy')",
		"verticalLine('1763996000','release','blue')",
	},
	"absolute, 5min archive": {
		"verticalLine('12:00_20251122','noon')",
		"timeSlice(servers.web2.cpu.*,'20:00_20251122','21:30_20251122')",
	},
}

// diffRefusedTargets are refused by graphite-web 1.1.8 (a missing
// argument, None compared, bands at another step): rrdash must refuse
// them too rather than answer something graphite-web never would.
var diffRefusedTargets = []string{
	"highestCurrent(servers.*.cpu.user)",
	"removeBetweenPercentile(servers.web2.cpu.*,70)",
	"useSeriesAbove(servers.web2.cpu.user,50,'user','system')",
	"holtWintersAberration(servers.web2.cpu.user)",
	"areaBetween(servers.*.cpu.user)",
	"aggregateSeriesLists(servers.*.cpu.user,servers.web1.cpu.system,'sum')",
	"legendValue(servers.web1.cpu.user)",
}

// diffEvent is one graphite-web event and the rrdash annotation like it.
type diffEvent struct {
	when int64
	what string
	tags []string
}

var diffEvents = []diffEvent{
	{diffNow - 1800, "deploy web", []string{"deploy", "web"}},
	{diffNow - 1800, "deploy db", []string{"deploy", "db"}},
	{diffNow - 3000, "page", []string{"alert"}},
	{diffNow - 3001, "untagged", nil},
	{1763812800, "deploy web", []string{"deploy", "web"}}, // 2025-11-22 12:00
	{1763812830, "deploy", []string{"deploy"}},
	{1763820000, "page", []string{"alert", "web"}},
}

// openDiffEvents posts diffEvents to graphite-web's /events/ and stores
// them as annotations in an rrdash metadata database.
func openDiffEvents(t *testing.T, gw string) *meta.DB {
	t.Helper()
	ctx := context.Background()
	md, err := meta.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { md.Close() })
	u, err := md.EnsureUser(ctx, meta.User{Issuer: meta.LocalIssuer, Subject: "diff", Handle: "diff"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range diffEvents {
		body, _ := json.Marshal(map[string]any{"what": e.what, "tags": e.tags, "when": e.when})
		resp, err := http.Post(gw+"/events/", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("graphite-web /events/: %d", resp.StatusCode)
		}
		if _, err := md.CreateAnnotation(ctx, u, meta.Annotation{Time: e.when * 1000, TimeEnd: e.when * 1000, Text: e.what, Tags: e.tags}); err != nil {
			t.Fatal(err)
		}
	}
	return md
}

// diffEventTargets read events (a point a second: one range each keeps
// the answers small).
var diffEventTargets = map[string][]string{
	"last 2h":                {"events('deploy')", "events('*')", "events('deploy','web')", "events('nothing')", "summarize(events('deploy'),'10min','sum')"},
	"absolute, 5min archive": {"events('deploy')", "events('alert','web')", "hitcount(events('*'),'1h')"},
}

// checkDiffEvents: the events the differential compares are there (an
// empty answer on both sides would match too).
func checkDiffEvents(t *testing.T, api *API) {
	q := diffRanges()[0].params
	q.Set("target", "events('*')")
	_, got, msg := getRender(t, http.HandlerFunc(api.Render), "", q)
	if len(got) != 1 {
		t.Fatalf("events('*'): %v %s", got, msg)
	}
	n := 0.0
	for _, p := range got[0].Datapoints {
		if p[0] != nil {
			n += *p[0]
		}
	}
	if n != 4 {
		t.Errorf("events('*') over the last 2h counts %v events, want 4", n)
	}
}
