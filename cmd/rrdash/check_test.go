package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"rrdash/store"
)

var checkSpecArgs = []string{"DS:g:GAUGE:30:U:U", "RRA:LAST:0:1:700"}

const checkPoints = 600

// ackedThenKilled creates series s, streams checkPoints updates through
// `rrdash update s -`, waits until every one is acknowledged and kills the
// process with SIGKILL: the journal holds them all, unclosed.
func ackedThenKilled(t *testing.T, bin string) string {
	t.Helper()
	data := t.TempDir()
	create := append([]string{"--data", data, "create", "s", "--start", "1000000000", "--step", "10"}, checkSpecArgs...)
	if out, err := exec.Command(bin, create...).CombinedOutput(); err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--data", data, "update", "s", "-")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		w := bufio.NewWriter(stdin)
		for i := 0; i < checkPoints; i++ {
			fmt.Fprintf(w, "%d:%d\n", 1000000000+10*(i+1), i)
		}
		w.Flush() // stdin stays open: the process waits for more
	}()
	sc := bufio.NewScanner(stdout)
	for i := 0; i < checkPoints; i++ {
		if !sc.Scan() || !strings.HasPrefix(sc.Text(), "OK") {
			t.Fatalf("update %d not acknowledged: %q %v", i, sc.Text(), sc.Err())
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	return data
}

// rrdash runs the binary and returns its output and exit code. A command
// that should have refused to start (serve) would run on: it is killed
// after a minute and the test fails.
func rrdash(t *testing.T, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("rrdash %v still running after a minute (killed)", args)
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func flipByte(t *testing.T, p string, off int64) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0xff
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// expectSeries demands that s holds every update but lost (-1: none).
func expectSeries(t *testing.T, data string, lost int) {
	t.Helper()
	spec, _ := store.ParseSpecArgs(10, 1000000000, checkSpecArgs)
	ref, _ := store.NewRRD(spec)
	for i := 0; i < checkPoints; i++ {
		if i != lost {
			ref.Update(1000000000+10*int64(i+1), 0, []string{fmt.Sprint(i)})
		}
	}
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := store.FetchRequest{CF: store.Last, Start: 1000000000, End: 1000000000 + 10*checkPoints, Resolution: 10}
	got, err := db.Fetch("s", q)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ref.Fetch(q)
	for i := range want.Values[0] {
		g, w := got.Values[0][i], want.Values[0][i]
		if !(g == w || math.IsNaN(g) && math.IsNaN(w)) {
			t.Fatalf("row %d: %v, want %v (every update but %d)", i, g, w, lost)
		}
	}
}

// TestCheckAndRepairEndToEnd is the case: 600 acknowledged points,
// kill -9, one byte flipped in the middle of journal.wal (or in the head's
// magic). Every command and serve refuse to start, naming the file and
// offset, and leave it as it is; `rrdash check` reports the damage and
// exits 1; `rrdash check --repair` keeps the damaged file, replays every
// valid record and says what was lost.
func TestCheckAndRepairEndToEnd(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "rrdash")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	t.Run("help touches nothing", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "absent")
		out, _, code := rrdash(t, bin, "--data", data, "check", "--help")
		if code != 0 || !strings.Contains(out, "Usage: rrdash [--data DIR] check [--repair]") {
			t.Errorf("check --help: exit %d\n%s", code, out)
		}
		if _, err := os.Stat(data); !os.IsNotExist(err) {
			t.Errorf("check --help touched the data directory: %v", err)
		}
		if _, errOut, code := rrdash(t, bin, "--data", data, "check"); code != 1 || !strings.Contains(errOut, "ERROR: check: journal: data directory") || !strings.Contains(errOut, "no such file") {
			t.Errorf("check of a missing directory: exit %d %s", code, errOut)
		}
	})
	for _, c := range []struct {
		name   string
		offset func(size int64) int64
	}{
		{"middle", func(size int64) int64 { return size / 2 }},
		{"magic", func(int64) int64 { return 5 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := ackedThenKilled(t, bin)
			jp := filepath.Join(data, "journal.wal")
			fi, _ := os.Stat(jp)
			flipByte(t, jp, c.offset(fi.Size()))
			damaged, _ := os.ReadFile(jp)

			for _, args := range [][]string{{"last", "s"}, {"fetch", "s", "LAST", "--start", "1000000000", "--end", "1000006000"}, {"list"}} {
				_, errOut, code := rrdash(t, bin, append([]string{"--data", data}, args...)...)
				if code == 0 || !strings.Contains(errOut, jp) || !strings.Contains(errOut, "is damaged at byte offset") || !strings.Contains(errOut, "rrdash check --repair") {
					t.Errorf("%v on a damaged journal: exit %d\n%s", args, code, errOut)
				}
			}
			_, errOut, code := rrdash(t, bin, "serve", "--addr", "127.0.0.1:0", "--data", data)
			if code == 0 || !strings.Contains(errOut, "is damaged at byte offset") {
				t.Errorf("serve on a damaged journal: exit %d\n%s", code, errOut)
			}
			if now, _ := os.ReadFile(jp); !bytes.Equal(now, damaged) {
				t.Fatal("refusing commands changed the journal")
			}

			out, _, code := rrdash(t, bin, "--data", data, "check")
			if code != 1 || !strings.Contains(out, "journal: CORRUPT") || !strings.Contains(out, "damaged at byte offset") {
				t.Errorf("check: exit %d\n%s", code, out)
			}
			t.Logf("check:\n%s", out)

			out, errOut, code = rrdash(t, bin, "--data", data, "check", "--repair")
			t.Logf("check --repair:\n%s%s", out, errOut)
			m := regexp.MustCompile(`recovered (\d+) records \(\d+ updates\)(?:: (\d+) before the damage)?`).FindStringSubmatch(out)
			if code != 0 || m == nil || !strings.Contains(out, "REPAIRED") {
				t.Fatalf("check --repair: exit %d\n%s%s", code, out, errOut)
			}
			recovered, _ := strconv.Atoi(m[1])
			before, _ := strconv.Atoi(m[2])
			lost := -1
			if c.name == "middle" {
				lost = before // the damaged record is the one after those before it
				if recovered != checkPoints-1 || !strings.Contains(out, "about 1 record\n") {
					t.Errorf("recovered %d records, want %d and about one lost\n%s", recovered, checkPoints-1, out)
				}
			} else if recovered != checkPoints || !strings.Contains(out, "lost no record") {
				t.Errorf("recovered %d records, want all %d\n%s", recovered, checkPoints, out)
			}
			kept, _ := filepath.Glob(jp + ".damaged-*")
			if len(kept) != 1 {
				t.Fatalf("damaged journals kept: %v", kept)
			}
			if b, _ := os.ReadFile(kept[0]); !bytes.Equal(b, damaged) {
				t.Error("the kept journal differs from the damaged one")
			}
			if out, _, code := rrdash(t, bin, "--data", data, "check"); code != 0 || !strings.Contains(out, "journal: ok") {
				t.Errorf("check after the repair: exit %d\n%s", code, out)
			}
			out, _, code = rrdash(t, bin, "--data", data, "last", "s")
			if code != 0 || strings.TrimSpace(out) != fmt.Sprint(1000000000+10*checkPoints) {
				t.Errorf("last after the repair: exit %d %q", code, out)
			}
			expectSeries(t, data, lost)
		})
	}
	t.Run("archive rows", func(t *testing.T) {
		data := t.TempDir()
		create := append([]string{"--data", data, "create", "s", "--start", "1000000000", "--step", "10"}, checkSpecArgs...)
		if _, errOut, code := rrdash(t, bin, create...); code != 0 {
			t.Fatalf("create: %s", errOut)
		}
		var args []string
		for i := range 100 {
			args = append(args, fmt.Sprintf("%d:%d", 1000000000+10*(i+1), i))
		}
		if _, errOut, code := rrdash(t, bin, append([]string{"--data", data, "update", "s"}, args...)...); code != 0 {
			t.Fatalf("update: %s", errOut)
		}
		if out, _, code := rrdash(t, bin, "--data", data, "check"); code != 0 || !strings.Contains(out, "archives: ok — 1 files, 1 with every row block checked") {
			t.Fatalf("check of a sound directory: exit %d\n%s", code, out)
		}
		files, _ := filepath.Glob(filepath.Join(data, "series", "*"))
		if len(files) != 1 {
			t.Fatalf("series files %v", files)
		}
		// the row of value 50: its float64 bytes, little-endian, stored
		// XOR the bits of NaN (archive format 4: holes read unknown)
		b, _ := os.ReadFile(files[0])
		var row [8]byte
		binary.LittleEndian.PutUint64(row[:], math.Float64bits(50)^math.Float64bits(math.NaN()))
		off := bytes.Index(b, row[:])
		if off < 0 {
			t.Fatal("no row holds 50")
		}
		flipByte(t, files[0], int64(off)+6)
		out, _, code := rrdash(t, bin, "--data", data, "check")
		if code != 1 || !strings.Contains(out, "archives: DAMAGED") || !strings.Contains(out, "rows 0-63: row checksum mismatch") {
			t.Errorf("check of a flipped row byte: exit %d\n%s", code, out)
		}
		out, _, code = rrdash(t, bin, "--data", data, "check", "--repair")
		if code != 0 || !strings.Contains(out, "archives: REPAIRED") || !strings.Contains(out, "1 damaged block now read as unknown") {
			t.Errorf("check --repair: exit %d\n%s", code, out)
		}
		if out, _, code := rrdash(t, bin, "--data", data, "check"); code != 0 || !strings.Contains(out, "archives: ok") {
			t.Errorf("check after the repair: exit %d\n%s", code, out)
		}
	})
	t.Run("torn tail", func(t *testing.T) {
		data := ackedThenKilled(t, bin)
		jp := filepath.Join(data, "journal.wal")
		f, _ := os.OpenFile(jp, os.O_APPEND|os.O_WRONLY, 0)
		f.Write([]byte{100, 0, 0, 0, 1, 2, 3})
		f.Close()
		out, _, code := rrdash(t, bin, "--data", data, "check")
		if code != 0 || !strings.Contains(out, "torn tail: the last 7 bytes") {
			t.Errorf("check of a torn tail: exit %d\n%s", code, out)
		}
		_, errOut, code := rrdash(t, bin, "--data", data, "last", "s")
		if code != 0 || !strings.Contains(errOut, "cut a torn tail") || !strings.Contains(errOut, "bytes=7") {
			t.Errorf("last with a torn tail: exit %d, log %q", code, errOut)
		}
		expectSeries(t, data, -1)
	})
}
