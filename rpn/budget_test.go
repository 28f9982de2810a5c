package rpn

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"rrdash/store"
)

func TestProgramCost(t *testing.T) {
	t.Parallel()
	const R = 1000.0
	tests := []struct {
		expr    string
		step    int64 // of the variables
		want    float64
		pos     int // the costliest token
		bounded bool
	}{
		{"a,2,*", 60, 3 * R, 1, true},
		// SORT of 3: 3·(⌈log₂ 3⌉+1) = 9 per row.
		{"a,b,c,3,SORT,+,+", 60, 7*R + 9*R, 5, true},
		// DEPTH is known: AVG of 3.
		{"a,b,c,DEPTH,AVG", 60, 5*R + 3*R, 5, true},
		{"a,b,2,COPY,+,+,+", 60, 7*R + 2*R, 4, true},
		{"a,b,c,50,3,PERCENT", 60, 6*R + 9*R, 6, true},
		// 600 s at 60 s: 10 samples (+1 per row).
		{"a,600,TREND", 60, 3*R + 11*R, 3, true},
		{"a,600,TRENDNAN", 300, 3*R + 3*R, 3, true},
		// 2 shifts, window 300 s at 60 s: locstep 5, 6 samples (+1 per shift).
		{"600,1200,2,300,a,PREDICT", 60, 6*R + 2*7*R, 6, true},
		// PREDICTPERC also sorts up to 2·3 samples: 6·(3+1) = 24.
		{"60,-2,120,50,a,PREDICTPERC", 60, 6*R + 2*4*R + 24*R, 6, true},
		// The issue's: 65536 shifts, a window of 43200 steps, capped by
		// the 1000 rows a sample must precede.
		{"60,-65536,2592000,a,PREDICT", 60, 5*R + 65536*(R+1)*R, 5, true},
		// Counts computed from data: left to the meter.
		{"60,-65536,COUNT,0,*,2592000,+,a,PREDICT", 60, 9 * R, 1, false},
		{"a,b,a,0,*,2,+,AVG", 60, 8 * R, 1, false},
		// After an unknown count DEPTH is unknown too.
		{"a,b,a,0,*,2,+,SORT,DEPTH,AVG", 60, 10 * R, 1, false},
		// …but INDEX with an unknown index keeps the stack's shape.
		{"a,b,COUNT,INDEX,+,+,a,b,2,AVG,+", 60, 11*R + 2*R, 10, true},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			t.Parallel()
			p, err := Compile("CDEF:x="+tc.expr, tc.expr, fuzzResolve)
			if err != nil {
				t.Fatal(err)
			}
			got, worst, bounded := p.cost(int(R), func(int) int64 { return tc.step }, func(int) int { return int(R) })
			if got != tc.want || worst.Pos != tc.pos || bounded != tc.bounded {
				t.Errorf("cost = %v (worst token %d %q), bounded %v; want %v, token %d, bounded %v",
					got, worst.Pos, worst.Token, bounded, tc.want, tc.pos, tc.bounded)
			}
			if worst.Stmt != "CDEF:x="+tc.expr {
				t.Errorf("worst names %q", worst.Stmt)
			}
		})
	}
}

// The issue's request: 70 days at one row a minute and a PREDICT of
// 65536 shifts over 30-day windows.
const issueNow = 1_700_000_040

var issueArgs = []string{"DEF:a=S:value:AVERAGE", "CDEF:c=60,-65536,2592000,a,PREDICT", "XPORT:c"}

func issueRequest(budget int64) Request {
	return Request{Start: issueNow - 70*86400, End: issueNow, MaxRows: 100000,
		Env: Env{Loc: time.UTC, Now: issueNow}, Budget: budget}
}

// issueStore is a store holding S: 71 days of one-minute rows, the last
// day of them known.
func issueStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	const rows = 71 * 1440
	st := stream{start: issueNow - rows*60, step: 60,
		spec: []string{"DS:value:GAUGE:120:U:U", "RRA:AVERAGE:0.5:1:" + strconv.Itoa(rows)}}
	for i := rows - 1440 + 1; i <= rows; i++ {
		st.updates = append(st.updates, strconv.FormatInt(st.start+int64(i)*60, 10)+":"+strconv.Itoa(i%97))
	}
	loadStore(t, db, "S", st)
	return db
}

func TestBudgetRefusesIssuePredict(t *testing.T) {
	t.Parallel()
	db := issueStore(t)
	sc, err := ParseScript(issueArgs)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sc.Xport(context.Background(), db, issueRequest(1_000_000_000))
	var be *BudgetError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want a *BudgetError", err)
	}
	if be.Reached || be.Worst.Pos != 5 || be.Worst.Token != "PREDICT" || be.Worst.Stmt != issueArgs[1] ||
		be.Limit != 1_000_000_000 || be.Cost < 1e13 {
		t.Errorf("budget error %+v", be)
	}
	for _, want := range []string{"exceeds the evaluation budget of 1000000000", "token 5 'PREDICT' of CDEF:c=60,-65536,2592000,a,PREDICT"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
}

// evalWithin runs f and fails the test when it has not returned by the
// deadline (generous: this is not a performance assertion, the old code
// ran for minutes).
func evalWithin(t *testing.T, d time.Duration, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("evaluation still running %v after it was cancelled", d)
		return nil
	}
}

func TestEvalCancelIssuePredict(t *testing.T) {
	t.Parallel()
	db := issueStore(t)
	sc, err := ParseScript(issueArgs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// No budget: the evaluation would run for minutes; cancelling must
	// stop it inside PREDICT.
	stop := time.AfterFunc(200*time.Millisecond, cancel)
	defer stop.Stop()
	err = evalWithin(t, 10*time.Second, func() error {
		_, err := sc.Xport(ctx, db, issueRequest(0))
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if !strings.Contains(err.Error(), issueArgs[1]) {
		t.Errorf("%q does not name the statement", err)
	}
}

func TestProgramEvalCancel(t *testing.T) {
	t.Parallel()
	a := &Series{Start: 1_700_000_040, Step: 60, Values: make([]float64, 100000)}
	for i := range a.Values {
		a.Values[i] = float64(i % 13)
	}
	in := func(int) Input { return Input{Series: a} }
	tests := []string{
		"60,-65536,2592000,a,PREDICT",
		"60,-65536,2592000,95,a,PREDICTPERC",
		"a,3000000,TRENDNAN",
	}
	for _, expr := range tests {
		t.Run(expr, func(t *testing.T) {
			t.Parallel()
			p, err := Compile("CDEF:x="+expr, expr, fuzzResolve)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stop := time.AfterFunc(100*time.Millisecond, cancel)
			defer stop.Stop()
			err = evalWithin(t, 10*time.Second, func() error {
				_, err := p.Eval(ctx, in, Env{Loc: time.UTC})
				return err
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
		})
	}
}

// A window computed from data escapes the estimate; the meter stops the
// evaluation when its work reaches the budget.
func TestBudgetMeterStopsComputedWindow(t *testing.T) {
	t.Parallel()
	db := issueStore(t)
	args := []string{"DEF:a=S:value:AVERAGE", "CDEF:c=60,-65536,COUNT,0,*,2592000,+,a,PREDICT", "XPORT:c"}
	sc, err := ParseScript(args)
	if err != nil {
		t.Fatal(err)
	}
	const limit = 10_000_000
	err = evalWithin(t, 30*time.Second, func() error {
		_, err := sc.Xport(context.Background(), db, issueRequest(limit))
		return err
	})
	var be *BudgetError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want a *BudgetError", err)
	}
	if !be.Reached || be.Worst.Pos != 9 || be.Worst.Token != "PREDICT" || be.Cost <= limit || be.Cost > limit+checkEvery*2 {
		t.Errorf("budget error %+v", be)
	}
	if !strings.Contains(err.Error(), "evaluation stopped: its work reached") {
		t.Errorf("message %q", err)
	}
}

// Ordinary scripts fit the budget and give the same result with and
// without it.
func TestBudgetAllowsOrdinary(t *testing.T) {
	t.Parallel()
	db := issueStore(t)
	tests := [][]string{
		{"DEF:a=S:value:AVERAGE", "CDEF:c=3600,-7,1800,a,PREDICT", "XPORT:c"},
		{"DEF:a=S:value:AVERAGE", "CDEF:c=a,3600,TRENDNAN", "VDEF:p=c,95,PERCENT", "CDEF:d=c,p,GT", "XPORT:c", "XPORT:d"},
		{"DEF:a=S:value:AVERAGE", "CDEF:c=a,a,2,*,a,3,*,3,SORT,+,+", "XPORT:c"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			sc, err := ParseScript(args)
			if err != nil {
				t.Fatal(err)
			}
			want, err := sc.Xport(context.Background(), db, issueRequest(0))
			if err != nil {
				t.Fatal(err)
			}
			got, err := sc.Xport(context.Background(), db, issueRequest(100_000_000))
			if err != nil {
				t.Fatalf("with a budget: %v", err)
			}
			for i := range want.Columns {
				if !sameColumns(got.Columns[i], want.Columns[i]) {
					t.Fatalf("column %d differs with a budget", i)
				}
			}
			if math.IsNaN(want.Columns[0][len(want.Columns[0])-2]) {
				t.Errorf("the last rows are unknown: the script reads no data")
			}
		})
	}
}

func TestBudgetErrorMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *BudgetError
		want string
	}{
		{&BudgetError{Cost: 2.5e14, Limit: 1000, Worst: OpCost{Stmt: "CDEF:c=60,-65536,2592000,a,PREDICT", Pos: 5, Token: "PREDICT", Cost: 2.5e14}},
			"estimated cost 2.5e+14 row-operations exceeds the evaluation budget of 1000; the costliest operator is token 5 'PREDICT' of CDEF:c=60,-65536,2592000,a,PREDICT (2.5e+14)"},
		{&BudgetError{Cost: 5e6, Limit: 1000, Worst: OpCost{Stmt: "DEF:a=S:value:AVERAGE", Cost: 5e6}},
			"estimated cost 5e+06 row-operations exceeds the evaluation budget of 1000; the costliest part is DEF:a=S:value:AVERAGE (5e+06)"},
		{&BudgetError{Cost: 1001, Limit: 1000, Reached: true, Worst: OpCost{Stmt: "CDEF:x=a,COUNT,AVG", Pos: 3, Token: "AVG"}},
			"evaluation stopped: its work reached 1e+03 row-operations, over the budget of 1000 at token 3 'AVG' of CDEF:x=a,COUNT,AVG"},
		{&BudgetError{Cost: 2000, Limit: 1000, Reached: true, Worst: OpCost{Stmt: "DEF:a=S:value:AVERAGE"}},
			"evaluation stopped: its work reached 2e+03 row-operations, over the budget of 1000 in DEF:a=S:value:AVERAGE"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

// Fetched rows count: a budget below them stops the evaluation at the
// DEF, before any CDEF.
func TestBudgetCountsFetchedRows(t *testing.T) {
	t.Parallel()
	db := issueStore(t)
	sc, err := ParseScript(issueArgs)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sc.Xport(context.Background(), db, issueRequest(1000))
	var be *BudgetError
	if !errors.As(err, &be) || !be.Reached || be.Worst.Stmt != issueArgs[0] || be.Cost < 100800 {
		t.Fatalf("err = %v (%+v), want the DEF's 100800 rows over the budget", err, be)
	}
}
