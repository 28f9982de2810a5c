package statsd

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rrdash/store"
)

// FuzzParseLine: no panic; every sample has a valid series key, a known
// kind, a finite value and a positive rate; an error is a *LineError.
func FuzzParseLine(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "lines", "*.txt"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			f.Add([]byte(l))
		}
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var p Parser
		got, err := p.ParseLine(line, nil)
		var le *LineError
		if err != nil && (!errors.As(err, &le) || le.Bad < 1) {
			t.Fatalf("%q: error %v is not a *LineError with Bad ≥ 1", line, err)
		}
		for _, s := range got {
			if err := store.ValidSeriesName(s.Key); err != nil || s.Key == "" {
				t.Fatalf("%q: key %q: %v", line, s.Key, err)
			}
			if s.Kind < Counter || s.Kind > Set || math.IsInf(s.Value, 0) || math.IsNaN(s.Value) || !(s.Rate > 0) {
				t.Fatalf("%q: sample %+v", line, s)
			}
		}
		a, _ := NewAggregator(AggConfig{})
		a.Add(got)
		a.Flush(time.Unix(1, 0), time.Second)
	})
}
