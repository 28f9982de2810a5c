package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Tests of capacity: a bounded number of open files, creations through the
// journal's group commit, sparse archives (docs/STORE.md, "Capacity").

// tinySpec is a small template: one page of file per series.
func tinySpec(t testing.TB) Spec {
	t.Helper()
	s, err := ParseSpecArgs(10, 1000000000, []string{"DS:v:GAUGE:120:U:U", "RRA:LAST:0:1:8", "RRA:AVERAGE:0.5:4:4"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// openFDs counts the process's open descriptors.
func openFDs(t testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestBoundedOpenFiles: with MaxOpenFiles 4, writers and readers of 60
// series run concurrently; at most 4 archive files are open at any time
// and every series ends equal to the in-memory engine fed the same
// updates — after a close, and after a crash with a replay.
func TestBoundedOpenFiles(t *testing.T) {
	t.Parallel()
	const nSeries, nWriters, rounds, limit = 60, 4, 30, 4
	dir := t.TempDir()
	db, err := Open(dir, Options{MaxOpenFiles: limit})
	if err != nil {
		t.Fatal(err)
	}
	spec := testSpec(t)
	refs := make([]*RRD, nSeries)
	for i := range refs {
		if _, err := db.Ensure(fmt.Sprint("s", i), spec); err != nil {
			t.Fatal(err)
		}
		refs[i], _ = NewRRD(spec)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, nWriters*2)
	for w := 0; w < nWriters; w++ {
		wg.Add(2)
		go func() { // writer of the series i with i%nWriters == w
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for k := 1; k <= rounds; k++ {
				var b Batch
				for i := w; i < nSeries; i += nWriters {
					if r.IntN(3) == 0 {
						continue
					}
					u := Update{Series: fmt.Sprint("s", i), Time: 1000000000 + int64(k)*7, Values: []string{fmt.Sprint(r.IntN(100)), fmt.Sprint(k * 1000)}}
					b.Updates = append(b.Updates, u)
					refs[i].Update(u.Time, 0, u.Values)
				}
				if _, err := db.Apply(ctx, b); err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() { // reader of every series
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 2))
			for k := 0; k < rounds*4; k++ {
				if _, err := db.Fetch(fmt.Sprint("s", r.IntN(nSeries)), FetchRequest{CF: Average, Start: 1000000000, End: 1000000300}); err != nil {
					errs <- err
					return
				}
				if open, max, _ := db.OpenFiles(); open > max || max != limit {
					errs <- fmt.Errorf("%d archive files open, limit %d", open, max)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	check := func(db *DB, when string) {
		t.Helper()
		for i, ref := range refs {
			name := fmt.Sprint("s", i)
			for _, cf := range []CF{Average, Max} {
				req := FetchRequest{CF: cf, Start: 1000000000, End: 1000000300}
				got, err := db.Fetch(name, req)
				if err != nil {
					t.Fatalf("%s: %s: %v", when, name, err)
				}
				want, _ := ref.Fetch(req)
				if g, w := fmt.Sprint(got.Values), fmt.Sprint(want.Values); g != w {
					t.Fatalf("%s: %s %s:\n%s\nwant\n%s", when, name, cf, g, w)
				}
			}
		}
		if open, _, opened := db.OpenFiles(); open > limit || opened < nSeries {
			t.Fatalf("%s: %d files open (limit %d), %d opened", when, open, limit, opened)
		}
	}
	check(db, "before close")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(dir, Options{MaxOpenFiles: limit})
	if err != nil {
		t.Fatal(err)
	}
	check(db, "after a close")
	// more updates, then a crash: the replay reopens files beyond the limit
	var b Batch
	for i := range refs {
		u := Update{Series: fmt.Sprint("s", i), Time: 1000000000 + rounds*7 + 20, Values: []string{"5", "99999"}}
		b.Updates = append(b.Updates, u)
		refs[i].Update(u.Time, 0, u.Values)
	}
	if _, err := db.Apply(ctx, b); err != nil {
		t.Fatal(err)
	}
	crash(db)
	db, err = Open(dir, Options{MaxOpenFiles: limit, BootID: "another boot"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	check(db, "after a crash and a reboot")
	if rep, err := db.VerifyArchives(ctx); err != nil || len(rep.Damage) > 0 || rep.Checked != nSeries {
		t.Fatalf("VerifyArchives: %+v %v", rep, err)
	}
}

func TestMaxOpenFilesRefusesNegative(t *testing.T) {
	t.Parallel()
	if _, err := Open(t.TempDir(), Options{MaxOpenFiles: -1}); err == nil || !strings.Contains(err.Error(), "MaxOpenFiles") {
		t.Fatalf("Open with MaxOpenFiles -1: %v", err)
	}
}

// TestSparseArchive: a new archive is a hole past its head that reads as
// unknown and verifies; written rows take blocks as they come; damage in a
// block never written is still found.
func TestSparseArchive(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	spec := DefaultTemplate()
	spec.Start = 1700000000
	if err := db.Create("s", spec, false); err != nil {
		t.Fatal(err)
	}
	p, _, _ := archiveAt(t, dir, "s") // its place in a pack, the only one
	blocks := func() int64 {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		return st.Blocks * 512
	}
	a := db.series["s"]
	if fresh := blocks(); fresh > a.lay.rowsOff+pageSize || fresh >= a.lay.size/10 {
		t.Errorf("a new archive takes %d bytes of disk (head %d, file %d)", fresh, a.lay.rowsOff, a.lay.size)
	}
	req := FetchRequest{CF: Average, Start: spec.Start - 86400, End: spec.Start}
	res, err := db.Fetch("s", req)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range res.Values[0] {
		if !math.IsNaN(v) {
			t.Fatalf("a new archive reads %v, want unknown", v)
		}
	}
	ctx := context.Background()
	var b Batch
	for k := int64(1); k <= 100; k++ {
		b.Updates = append(b.Updates, Update{Series: "s", Time: spec.Start + k*60, Values: []string{fmt.Sprint(k)}})
	}
	if _, err := db.Apply(ctx, b); err != nil {
		t.Fatal(err)
	}
	ref, _ := NewRRD(spec)
	for _, u := range b.Updates {
		ref.Update(u.Time, 0, u.Values)
	}
	for _, cf := range []CF{Average, Min, Max, Last} {
		for _, res := range []int64{60, 300, 3600} {
			req := FetchRequest{CF: cf, Start: spec.Start - 86400, End: spec.Start + 6000, Resolution: res}
			got, err := db.Fetch("s", req)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := ref.Fetch(req)
			if g, w := fmt.Sprint(got.Values), fmt.Sprint(want.Values); g != w {
				t.Fatalf("%s/%d:\n%s\nwant\n%s", cf, res, g, w)
			}
		}
	}
	// 16 rings each wrote (and sealed) one block or two
	if used := blocks(); used > a.lay.rowsOff+40*pageSize {
		t.Errorf("after 100 updates the archive takes %d bytes of disk", used)
	}
	rep, err := db.VerifyArchives(ctx)
	if err != nil || len(rep.Damage) > 0 || rep.Checked != 1 {
		t.Fatalf("VerifyArchives: %+v %v", rep, err)
	}
	db.Close()
	// a byte in a block never written (the last of the 1-day ring), then
	// its checksum entry: each is damage, served as unknown
	b0 := a.lay.ringBlock0[8] + ringBlocks(spec.RRA[8].Rows) - 1
	for _, off := range []int64{a.lay.ringOff[8] + spec.RRA[8].Rows*8 - 3, a.lay.sumOff + b0*4 + 1} {
		pristine := readArchiveBytes(t, dir, "s")
		writeArchiveAt(t, dir, "s", off, []byte{0x40})
		// a place of a pack has a file's layout: checked as a file
		rep := VerifyFile(archiveFileCopy(t, dir, "s"))
		if len(rep.Damage) != 1 || rep.Damage[0].RRA != 8 {
			t.Errorf("a byte set at %d in a block never written: %+v", off, rep)
		}
		writeArchiveBytes(t, dir, "s", pristine)
	}
	if rep := VerifyFile(archiveFileCopy(t, dir, "s")); len(rep.Damage) != 0 {
		t.Errorf("restored: %+v", rep)
	}
}

// memDir is a temporary directory on /dev/shm when there is one (tmpfs:
// 100,000 files are made in a few seconds rather than a minute on a busy
// disk; a kill -9 keeps the page cache either way), else on TMPDIR.
func memDir(t *testing.T) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err == nil && st.Type == 0x01021994 { // TMPFS_MAGIC
		if dir, err := os.MkdirTemp("/dev/shm", "rrdash-store-test"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

// childEnv runs this test binary again as a child in the given mode.
func childCmd(t *testing.T, test, mode, dir string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.v")
	cmd.Env = append(os.Environ(), "RRDASH_STORE_CHILD="+mode, "RRDASH_STORE_CHILD_DIR="+dir)
	cmd.Stderr = os.Stderr
	return cmd
}

// TestCreationSurvivesKill9: a child creates series in groups (EnsureAsync,
// one wait per group) and updates them, printing what was acknowledged; it
// is killed with SIGKILL at a random moment. Every acknowledged creation
// and update is there after a reopen in the same boot, and again after a
// simulated reboot (the journal's creation records make the files again).
func TestCreationSurvivesKill9(t *testing.T) {
	if os.Getenv("RRDASH_STORE_CHILD") == "create" {
		creationChild(t, os.Getenv("RRDASH_STORE_CHILD_DIR"))
		return
	}
	t.Parallel()
	for round := range 3 {
		dir := t.TempDir()
		cmd := childCmd(t, "TestCreationSurvivesKill9", "create", dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 2 + rand.IntN(40) // acknowledgements before the kill
		sc := bufio.NewScanner(out)
		created, updated := map[string]bool{}, map[string]bool{}
		seen := 0
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 2 {
				continue
			}
			switch f[0] {
			case "created":
				created[f[1]] = true
			case "updated":
				updated[f[1]] = true
			default:
				continue
			}
			if seen++; seen == killAfter {
				cmd.Process.Signal(syscall.SIGKILL)
			}
		}
		cmd.Wait()
		if len(created) == 0 {
			t.Fatalf("round %d: the child acknowledged nothing", round)
		}
		// the creations took places in one pack, not a file each
		if files, packs := seriesFiles(t, dir), packFiles(t, dir); len(files) != 0 || len(packs) != 1 {
			t.Fatalf("round %d: series files %v, packs %v; want no file and one pack", round, files, packs)
		}
		for _, boot := range []string{"", "after a reboot"} {
			db, err := Open(dir, Options{BootID: boot})
			if err != nil {
				t.Fatalf("round %d %q: %v", round, boot, err)
			}
			for g := range created {
				for k := 0; k < creationGroup; k++ {
					name := fmt.Sprintf("%s.s%d", g, k)
					last, err := db.LastUpdate(name)
					if err != nil {
						t.Fatalf("round %d %q: acknowledged series %s: %v", round, boot, name, err)
					}
					if updated[g] && last != 1000000010 {
						t.Fatalf("round %d %q: series %s: last update %d, acknowledged 1000000010", round, boot, name, last)
					}
				}
			}
			rep, err := db.VerifyArchives(context.Background())
			if err != nil || len(rep.Damage) > 0 {
				t.Fatalf("round %d %q: VerifyArchives: %+v %v", round, boot, rep, err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

const creationGroup = 50

func creationChild(t *testing.T, dir string) {
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	spec := tinySpec(t)
	w := bufio.NewWriter(os.Stdout)
	for g := 0; ; g++ {
		group := fmt.Sprint("g", g)
		var wait func() error
		for k := 0; k < creationGroup; k++ {
			_, wait, err = db.EnsureAsync(fmt.Sprintf("%s.s%d", group, k), spec, map[string]string{"units": "B"})
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := wait(); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(w, "created", group)
		w.Flush()
		if g%2 == 0 {
			var b Batch
			for k := 0; k < creationGroup; k++ {
				b.Updates = append(b.Updates, Update{Series: fmt.Sprintf("%s.s%d", group, k), Time: 1000000010, Values: []string{strconv.Itoa(k)}})
			}
			if _, err := db.Apply(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(w, "updated", group)
			w.Flush()
		}
	}
}

// TestManySeriesUnderFDLimit: a child whose descriptor limit is 1,024
// (setrlimit, as `prlimit --nofile=1024` sets it) creates, updates and
// reads 100,000 series (10,000 under -race), then is killed with SIGKILL; a reopen finds every
// series with its acknowledged update.
func TestManySeriesUnderFDLimit(t *testing.T) {
	if os.Getenv("RRDASH_STORE_CHILD") == "fdlimit" {
		fdLimitChild(t, os.Getenv("RRDASH_STORE_CHILD_DIR"))
		return
	}
	t.Parallel()
	dir := memDir(t)
	cmd := childCmd(t, "TestManySeriesUnderFDLimit", "fdlimit", dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	done := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "fds ") {
			t.Log("child:", line)
		}
		if line == "done" {
			done = true
			cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	cmd.Wait()
	if !done {
		t.Fatal("the child did not finish")
	}
	if files, packs := seriesFiles(t, dir), packFiles(t, dir); len(files) != 0 || len(packs) != 1 {
		t.Fatalf("series files: %d, packs %v; want every series in one pack", len(files), packs)
	}
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	names, err := db.List("")
	if err != nil || len(names) != manySeries {
		t.Fatalf("%d series listed (%v), want %d", len(names), err, manySeries)
	}
	for i := 0; i < manySeries; i++ {
		name := fmt.Sprint("m", i)
		last, err := db.LastUpdate(name)
		if err != nil || last != 1000000020 {
			t.Fatalf("series %s: last update %d %v, want 1000000020", name, last, err)
		}
	}
	probe := manySeries*7/9 + 3
	res, err := db.Fetch(fmt.Sprint("m", probe), FetchRequest{CF: Last, Start: 1000000000, End: 1000000020})
	if err != nil || res.Values[0][1] != float64(probe) {
		t.Fatalf("fetch m%d: %+v %v", probe, res, err)
	}
}

// manySeries is how many series TestManySeriesUnderFDLimit makes:
// 100,000, or 10,000 under the race detector (race_on_test.go).
var manySeries = map[bool]int{false: 100000, true: 10000}[raceEnabled]

func fdLimitChild(t *testing.T, dir string) {
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 1024, Max: 1024}); err != nil {
		t.Fatal(err)
	}
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	spec := tinySpec(t)
	ctx := context.Background()
	maxFDs := 0
	note := func() { maxFDs = max(maxFDs, openFDs(t)) }
	const group = 2000
	for g := 0; g < manySeries; g += group {
		var wait func() error
		for i := g; i < g+group; i++ {
			if _, wait, err = db.EnsureAsync(fmt.Sprint("m", i), spec, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := wait(); err != nil {
			t.Fatal(err)
		}
		note()
	}
	for _, tm := range []int64{1000000010, 1000000020} {
		for g := 0; g < manySeries; g += group {
			b := Batch{Updates: make([]Update, 0, group)}
			for i := g; i < g+group; i++ {
				b.Updates = append(b.Updates, Update{Series: fmt.Sprint("m", i), Time: tm, Values: []string{strconv.Itoa(i)}})
			}
			if _, err := db.Apply(ctx, b); err != nil {
				t.Fatal(err)
			}
			note()
		}
	}
	for i := 0; i < manySeries; i += 97 {
		res, err := db.Fetch(fmt.Sprint("m", i), FetchRequest{CF: Last, Start: 1000000000, End: 1000000020})
		if err != nil || res.Values[0][1] != float64(i) {
			t.Fatalf("fetch m%d: %+v %v", i, res, err)
		}
	}
	note()
	open, limit, opened := db.OpenFiles()
	fmt.Printf("fds %d at most (archives open %d, limit %d, opened %d)\n", maxFDs, open, limit, opened)
	fmt.Println("done")
	time.Sleep(time.Minute) // killed here
}

// TestEnsureAsync: a creation not yet durable is waited for by every
// caller that meets the series; a closed store refuses with ErrClosed.
func TestEnsureAsync(t *testing.T) {
	t.Parallel()
	obs := &tally{}
	db, err := Open(t.TempDir(), Options{Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	spec := tinySpec(t)
	created, wait1, err := db.EnsureAsync("a", spec, nil)
	if err != nil || !created {
		t.Fatalf("first EnsureAsync: %v %v", created, err)
	}
	created, wait2, err := db.EnsureAsync("a", spec, nil)
	if err != nil || created {
		t.Fatalf("second EnsureAsync: %v %v", created, err)
	}
	if err := wait2(); err != nil { // covers the first caller's creation
		t.Fatal(err)
	}
	if err := wait1(); err != nil {
		t.Fatal(err)
	}
	obs.mu.Lock()
	syncs := obs.syncs
	obs.mu.Unlock()
	if syncs != 1 {
		t.Errorf("%d journal fsyncs for one creation waited for twice, want 1", syncs)
	}
	created, wait3, err := db.EnsureAsync("a", spec, nil)
	if err != nil || created || wait3() != nil {
		t.Fatalf("EnsureAsync of a durable series: %v %v", created, err)
	}
	if _, _, err := db.EnsureAsync("b", Spec{Step: 10}, nil); err == nil {
		t.Error("EnsureAsync accepted a spec without data sources")
	}
	// Create without overwrite refuses an existing series, resident or not
	// (then the rename itself refuses: RENAME_NOREPLACE), leaving no file
	if err := db.Create("a", spec, false); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("Create of a resident series: %v", err)
	}
	dir := db.Dir()
	db.Close()
	if db, err = Open(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := db.Create("a", spec, false); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("Create of a series on disk: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "series", "*.tmp")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	db.Close()
	if _, _, err := db.EnsureAsync("c", spec, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("EnsureAsync on a closed store: %v, want ErrClosed", err)
	}
	if _, err := db.Apply(context.Background(), Batch{Updates: []Update{{Series: "a", Time: 1000000010, Values: []string{"1"}}}}); !errors.Is(err, ErrClosed) {
		t.Errorf("Apply on a closed store: %v, want ErrClosed", err)
	}
}
