package rpn

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"rrdash/store"
)

// A DEF over seriesByTag(...) equals the ADDNAN of the matching series'
// own DEFs, row for row; no match is unknown, mismatched steps an error.
func TestTagQueryDEFSumsMatchingSeries(t *testing.T) {
	t.Parallel()
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	spec := func(step int64) store.Spec {
		sp, err := store.ParseSpecArgs(step, 1699999000, []string{"DS:count:GAUGE:600:U:U", "RRA:AVERAGE:0.5:1:500"})
		if err != nil {
			t.Fatal(err)
		}
		return sp
	}
	names := []string{"http.errors;route=GET:/a;status_code=500", "http.errors;route=GET:/b;status_code=500",
		"http.errors;route=GET:/a;status_code=404", "other;status_code=500"}
	for i, name := range names {
		if err := db.Create(name, spec(60), false); err != nil {
			t.Fatal(err)
		}
		var b store.Batch
		for k := 1; k <= 120; k++ {
			v := fmt.Sprint(i + k%7)
			if (k+i)%5 == 0 {
				v = "U" // unknowns in different rows of each series
			}
			b.Updates = append(b.Updates, store.Update{Series: name, Time: 1699999000 + int64(60*k), Values: []string{v}})
		}
		if _, err := db.Apply(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	xport := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := RunXport(context.Background(), db, append([]string{"--start", "1699999600", "--end", "1700006000", "--json"}, args...), &out, time.Unix(1700006000, 0), time.UTC)
		return out.String(), err
	}
	esc := func(s string) string { return strings.ReplaceAll(s, ":", `\:`) }
	got, err := xport(`DEF:s=seriesByTag('name=http.errors','status_code=~5..'):count:AVERAGE`, "XPORT:s")
	if err != nil {
		t.Fatal(err)
	}
	want, err := xport("DEF:a="+esc(names[0])+":count:AVERAGE", "DEF:b="+esc(names[1])+":count:AVERAGE", "CDEF:s=a,b,ADDNAN", "XPORT:s")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(got, "null") > 40 || !strings.Contains(got, "[ 1") {
		t.Fatalf("the sum should be mostly known values:\n%.400s", got)
	}
	if got != want {
		t.Errorf("tag-query DEF:\n%s\nwant the ADDNAN of its two series:\n%s", got, want)
	}
	if none, err := xport(`DEF:s=seriesByTag('name=http.errors','status_code=503'):count:AVERAGE`, "XPORT:s"); err != nil || !strings.Contains(none, "null") || strings.Contains(none, "1,") {
		t.Errorf("no match: %v\n%.300s\nwant a column of unknowns", err, none)
	}
	if err := db.Create("http.errors;route=GET:/c;status_code=502", spec(120), false); err != nil {
		t.Fatal(err)
	}
	if _, err := xport(`DEF:s=seriesByTag('name=http.errors','status_code=~5..'):count:AVERAGE`, "XPORT:s"); err == nil || !strings.Contains(err.Error(), "cannot be added") {
		t.Errorf("series of 60 s and 120 s steps: %v, want an error naming both", err)
	}
	if _, err := xport(`DEF:s=seriesByTag('status_code=500':count:AVERAGE`, "XPORT:s"); err == nil || !strings.Contains(err.Error(), "seriesByTag") {
		t.Errorf("unterminated query: %v", err)
	}
}
