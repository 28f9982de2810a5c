package tracelog

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"rrdash/store"
)

// fakeClock is the tailer's wall clock in tests: time moves only when the
// test says so, so steps close exactly when the records are all written.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

var testProcs = []simProc{
	{host: "web1", prog: "zope", pid: 101, threads: 2, rate: 3},
	{host: "web1", prog: "worker", pid: 201, threads: 3, rate: 2},
	{host: "web2", prog: "zope", pid: 301, threads: 1, rate: 1},
}

func testThreads() map[string]int64 {
	m := map[string]int64{}
	for _, p := range testProcs {
		m[SeriesPrefix+p.instance()] = int64(p.threads)
	}
	return m
}

// quietTime returns the first time ≥ from when process pi has no request in flight.
func quietTime(reqs []simReq, pi int, from int64) int64 {
	t := from
	for changed := true; changed; {
		changed = false
		for _, r := range reqs {
			if r.proc == pi && r.b <= t && t <= r.e {
				t = r.e + 1
				changed = true
			}
		}
	}
	return t
}

// TestTailRotationRestart tails two files while they grow, break mid-line,
// are rotated by rename and by copy-truncate, and while the tailer is
// killed and restarted twice; the series must equal the model's values.
func TestTailRotationRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC).UnixMicro()
	end := start + 12*60e6
	reqs := simulate(7, testProcs, start, end)
	lines := simLines(reqs)
	web1, web2 := filepath.Join(dir, "web1.log"), filepath.Join(dir, "web2.log")
	fileOf := func(l simLine) string {
		if testProcs[l.proc].host == "web1" {
			return web1
		}
		return web2
	}
	next := 0
	// writeUntil appends every line before t (µs) to its file.
	writeUntil := func(t0 int64) {
		var b1, b2 strings.Builder
		for next < len(lines) && lines[next].t < t0 {
			l := lines[next]
			s := bsdLine(testProcs[l.proc], l) + "\n"
			if fileOf(l) == web1 {
				b1.WriteString(s)
			} else {
				b2.WriteString(s)
			}
			next++
		}
		appendFile(t, web1, b1.String())
		appendFile(t, web2, b2.String())
	}
	rig := newRestartRig(t, SourceConfig{Glob: filepath.Join(dir, "web1.log*")}, SourceConfig{Glob: web2})
	cycle := rig.cycle

	tl := rig.start()
	// 1: a partial last line is held until complete
	p1 := start + 200e6
	writeUntil(p1)
	l := lines[next]
	half := bsdLine(testProcs[l.proc], l)
	appendFile(t, fileOf(l), half[:len(half)/2])
	cycle(tl, p1)
	appendFile(t, fileOf(l), half[len(half)/2:]+"\n")
	next++
	writeUntil(start + 300e6)
	cycle(tl, start+300e6)

	// 2: stopped mid-step with requests in flight, restarted
	rig.stop(tl)
	tl = rig.start()
	writeUntil(start + 330e6)
	cycle(tl, start+330e6)

	// 3: web1 rotated by rename while the tailer is down; a compressed copy appears
	p2 := start + 400e6
	writeUntil(p2)
	rig.stop(tl)
	if err := os.Rename(web1, web1+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, web1+".2.gz", "not gzip, and never read\n")
	writeUntil(p2 + 30e6)
	tl = rig.start()
	cycle(tl, p2+30e6)

	// 4: web2 rotated by copy-truncate at a moment it has nothing in flight
	q := quietTime(reqs, 2, start+480e6)
	writeUntil(q)
	cycle(tl, q)
	old, err := os.ReadFile(web2)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(web2+".1", old, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(web2, 0); err != nil {
		t.Fatal(err)
	}
	writeUntil(q + 20e6)
	cycle(tl, q+20e6)

	// 5: the rest; time passes beyond the last record
	writeUntil(end + 3600e6)
	last := lines[len(lines)-1].t
	cycle(tl, last+130e6)
	cycle(tl, last+130e6)

	from := start / 1e6
	to := (last/60e6 + 1) * 60
	for pi, p := range testProcs {
		name := SeriesPrefix + p.instance()
		checkSeries(t, name, sinkRows(t, rig.sink, name), reqs, pi, from, to, 60, p.threads)
	}
}

// TestTailerRun runs the tailer as serve does, until its context ends.
func TestTailerRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC).UnixMicro()
	procs := testProcs[:1]
	reqs := simulate(3, procs, start, start+180e6)
	var b strings.Builder
	for _, l := range simLines(reqs) {
		b.WriteString(bsdLine(procs[l.proc], l) + "\n")
	}
	appendFile(t, filepath.Join(dir, "web1.log"), b.String())
	clock := &fakeClock{t: time.UnixMicro(start + 600e6)}
	sink := newMemSink()
	tl, err := NewTailer(TailConfig{Sources: []SourceConfig{{Glob: filepath.Join(dir, "*.log")}}, Location: time.UTC,
		Poll: 5 * time.Millisecond, Threads: testThreads(), Now: clock.now}, sink, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tl.Run(ctx) }()
	name := SeriesPrefix + procs[0].instance()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if last, err := sink.LastUpdate(name); err == nil && last >= start/1e6+540 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the tailer wrote nothing")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if sink.Position(tl.PositionKey()) == nil {
		t.Error("no position saved")
	}
	checkSeries(t, name, sink.rows(name), reqs, 0, start/1e6, start/1e6+540, 60, procs[0].threads)
}

func TestNewTailerErrors(t *testing.T) {
	t.Parallel()
	for _, cfg := range []TailConfig{
		{},
		{Sources: []SourceConfig{{Glob: "[a"}}},
		{Sources: []SourceConfig{{Glob: "*.log"}}, Naming: "{nope}"},
		{Sources: []SourceConfig{{Glob: "*.log"}}, Grace: -1},
	} {
		if _, err := NewTailer(cfg, newMemSink(), nil); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

// flakySink fails Apply (nothing applied) while fail is set: a crash before
// a batch became durable, or a store error the tailer must retry.
type flakySink struct {
	*memSink
	mu   sync.Mutex
	fail bool
}

func (f *flakySink) setFail(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = v
}

func (f *flakySink) Apply(ctx context.Context, b store.Batch) (store.Result, error) {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail {
		return store.Result{}, errors.New("disk on fire")
	}
	return f.memSink.Apply(ctx, b)
}

// TestTailCrashes kills the tailer at many points, some right after a batch
// failed to become durable, and retries failed batches; nothing may be lost
// or counted twice.
func TestTailCrashes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC).UnixMicro()
	end := start + 15*60e6
	procs := testProcs
	reqs := simulate(5, procs, start, end)
	lines := simLines(reqs)
	path := filepath.Join(dir, "all.log")
	sink := &flakySink{memSink: newMemSink()}
	clock := &fakeClock{}
	newTailer := func() *Tailer {
		tl, err := NewTailer(TailConfig{Sources: []SourceConfig{{Glob: path}}, Location: time.UTC,
			Threads: testThreads(), Now: clock.now}, sink, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := tl.restore(); err != nil {
			t.Fatal(err)
		}
		return tl
	}
	rng := rand.New(rand.NewPCG(9, 9))
	tl := newTailer()
	next := 0
	ctx := context.Background()
	for now := start + 7e6; next < len(lines); now += int64(rng.IntN(40e6)) + 1e6 {
		var b strings.Builder
		for next < len(lines) && lines[next].t < now {
			b.WriteString(bsdLine(procs[lines[next].proc], lines[next]) + "\n")
			next++
		}
		appendFile(t, path, b.String())
		clock.set(time.UnixMicro(now))
		switch rng.IntN(4) {
		case 0: // the batch fails and the process dies
			sink.setFail(true)
			_ = tl.cycle(ctx)
			sink.setFail(false)
			tl.closeAll()
			tl = newTailer()
		case 1: // the batch fails and is retried by the next cycle
			sink.setFail(true)
			_ = tl.cycle(ctx)
			sink.setFail(false)
		default:
			if err := tl.cycle(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	last := lines[len(lines)-1].t
	clock.set(time.UnixMicro(last + 130e6))
	for range 2 {
		if err := tl.cycle(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for pi, p := range procs {
		name := SeriesPrefix + p.instance()
		checkSeries(t, name, sink.rows(name), reqs, pi, start/1e6, (last/60e6+1)*60, 60, p.threads)
	}
}

// TestTailLongLine: a line longer than the read buffer is one bad line; the
// lines around it are read.
func TestTailLongLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "web1.log")
	text := "B 1 2026-01-01 10:00:00.1 GET /\n" + strings.Repeat("x", 600<<10) + "\nE 1 2026-01-01 10:00:00.5\n"
	appendFile(t, path, text)
	clock := &fakeClock{t: time.Date(2026, 1, 1, 10, 5, 0, 0, time.UTC)}
	tl, err := NewTailer(TailConfig{Sources: []SourceConfig{{Glob: path}}, Location: time.UTC, Now: clock.now}, newMemSink(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tl.closeAll()
	if err := tl.cycle(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := tl.files[0].src.stats
	if st.Lines != 3 || st.Bad != 1 || st.Records != 2 || tl.files[0].readOff != int64(len(text)) {
		t.Errorf("stats %+v, offset %d of %d", st, tl.files[0].readOff, len(text))
	}
	if got := tl.Stats(); got != st {
		t.Errorf("Tailer.Stats %+v, want the file's %+v", got, st)
	}
	sum, err := Ingest(context.Background(), newMemSink(), []string{path}, IngestOptions{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if st := sum.Total; st.Lines != 3 || st.Bad != 1 || st.Records != 2 {
		t.Errorf("one-shot stats %+v", st)
	}
}
