package graph

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"rrdash/rpn"
	"rrdash/store"
)

// predictArgs is issue 14's PREDICT as a graph over 70 days.
var predictArgs = []string{"-s", "-70d", "DEF:a=s:a:AVERAGE", "CDEF:c=60,-65536,2592000,a,PREDICT", "LINE1:c#ff0000:c"}

func TestEvaluateBudget(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	f := yearFetcher(now.Unix())
	s, _, err := ParseArgs(append([]string{"-"}, predictArgs...))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Evaluate(context.Background(), f, s, Options{Now: now, Width: 400, Budget: 1_000_000_000})
	var be *rpn.BudgetError
	if !errors.As(err, &be) || be.Reached || be.Worst.Token != "PREDICT" || be.Worst.Pos != 5 {
		t.Fatalf("err = %v, want a budget error naming PREDICT", err)
	}

	// An ordinary PREDICT fits.
	s.Defs[1].Expr = "3600,-4,1800,a,PREDICT"
	if _, err := Evaluate(context.Background(), f, s, Options{Now: now, Width: 400, Budget: 1_000_000_000}); err != nil {
		t.Fatal(err)
	}
}

func TestEvaluateCancel(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	f := yearFetcher(now.Unix())
	s, _, err := ParseArgs(append([]string{"-"}, predictArgs...))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := time.AfterFunc(200*time.Millisecond, cancel)
	defer stop.Stop()
	done := make(chan error, 1)
	go func() {
		_, err := Evaluate(ctx, f, s, Options{Now: now, Width: 4000})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second): // a deadline for the test, not a performance bound
		t.Fatal("evaluation still running 10 s after it was cancelled")
	}
}

// stepsFetcher serves series named by their step ("60", "61"): constant
// rows over any range.
type stepsFetcher struct{}

func (stepsFetcher) Fetch(name string, req store.FetchRequest) (*store.FetchResult, error) {
	var step int64
	if _, err := fmt.Sscan(name, &step); err != nil || step <= 0 {
		return nil, fmt.Errorf("series %q does not exist", name)
	}
	start := req.Start - req.Start%step
	end := req.End + step - req.End%step
	col := make([]float64, (end-start)/step)
	for i := range col {
		col[i] = math.Mod(float64(i), 7)
	}
	return &store.FetchResult{Start: start, End: end, Step: step, DS: []string{"v"}, Values: [][]float64{col}, CF: req.CF}, nil
}

// Two series on steps of 120 s and 122 s are drawn on a 2 s grid: the
// grid is bounded too.
func TestEvaluateBudgetGrid(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	s, _, err := ParseArgs([]string{"-", "-s", "-1d", "DEF:a=60:v:AVERAGE", "DEF:b=61:v:AVERAGE", "LINE1:a#ff0000:a", "LINE1:b#0000ff:b"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Evaluate(context.Background(), stepsFetcher{}, s, Options{Now: now, Width: 400})
	if err != nil {
		t.Fatal(err)
	}
	if d.Step != 2 {
		t.Fatalf("grid step %d, want 2", d.Step)
	}
	_, err = Evaluate(context.Background(), stepsFetcher{}, s, Options{Now: now, Width: 400, Budget: 10_000})
	var be *rpn.BudgetError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "the chart grid (43200 rows of 2 s × 2 series)") {
		t.Fatalf("err = %v, want the grid refused", err)
	}
}
