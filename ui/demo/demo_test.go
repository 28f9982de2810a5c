package demo

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"rrdash/ingest/tracelog"
)

func TestGeneratorHistory(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "web1.log")
	now := time.Unix(1_700_000_000, 0)
	g := New(path, 5, 0.05, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // one pass: the 6 hours of history, then return
	if err := g.Run(ctx, func() time.Time { return now }); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := tracelog.NewParser(time.UTC)
	var r tracelog.Record
	counts := map[byte]int{}
	var last int64
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		if err := p.Parse(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %d %q: %v", n, sc.Text(), err)
		}
		if r.Time < last {
			t.Fatalf("line %d: time goes back", n)
		}
		if r.Time > now.Add(time.Minute).UnixMicro() { // the last requests end after now
			t.Fatalf("line %d: in the future", n)
		}
		last = r.Time
		counts[r.Code]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	// About 5 requests/s for 6 hours (the day shape moves the mean).
	if b := counts['B']; b < 6*3600 || b > 6*3600*10 {
		t.Errorf("%d requests in 6 hours", b)
	}
	for _, c := range []byte("ICAE") {
		if counts[c] != counts['B'] { // every request is complete
			t.Errorf("%c records: %d for %d requests", c, counts[c], counts['B'])
		}
	}
}
