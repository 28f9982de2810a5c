package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rrdash/store"
)

func TestLockingMode(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cmd, env string
		args     []string
		block    bool
		err      string // in the error
		warn     string // on stderr
	}{
		{"update", "", []string{"s", "N:1"}, false, "", ""},
		{"update", "", []string{"s", "--locking", "block", "N:1"}, true, "", ""},
		{"updatev", "", []string{"s", "-L", "block", "N:1"}, true, "", ""},
		{"update", "", []string{"s", "--locking=try", "N:1"}, false, "", ""},
		{"update", "block", []string{"s", "--locking", "try", "N:1"}, false, "", ""}, // the option wins
		{"update", "block", []string{"s", "N:1"}, true, "", ""},
		{"update", "try", []string{"s", "N:1"}, false, "", ""},
		{"update", "", []string{"s", "--locking", "none", "N:1"}, false, "--locking none is not supported", ""},
		{"update", "", []string{"s", "--locking", "often", "N:1"}, false, "unsupported locking mode 'often'", ""},
		{"update", "often", []string{"s", "N:1"}, false, "", "unsupported locking mode 'often' in $RRD_LOCKING; assuming 'try'"},
		{"update", "none", []string{"s", "N:1"}, false, "", "RRD_LOCKING=none is not supported"},
		{"update", "", []string{"s", "--", "--locking", "block"}, false, "", ""},
		{"fetch", "block", []string{"s", "AVERAGE"}, false, "", ""}, // only update and updatev lock for writing
	} {
		var stderr bytes.Buffer
		block, err := lockingMode(c.cmd, c.args, c.env, &stderr)
		if block != c.block || (err == nil) != (c.err == "") || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s %q RRD_LOCKING=%q: block %v, err %v; want %v %q", c.cmd, c.args, c.env, block, err, c.block, c.err)
		}
		if got := stderr.String(); c.warn == "" && got != "" || !strings.Contains(got, c.warn) {
			t.Errorf("%s %q RRD_LOCKING=%q: stderr %q, want %q", c.cmd, c.args, c.env, got, c.warn)
		}
	}
}

// update --locking block waits while another process holds the data
// directory and then applies its update; try gives up, naming the holder.
func TestUpdateLockingBlock(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	if _, ok, err := rrdashRun(t, data, "create", "s", "--start", "1000000000", "DS:v:GAUGE:600:U:U", "RRA:LAST:0.5:1:10"); !ok {
		t.Fatal(err)
	}
	holder, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, ok, err := rrdashRun(t, data, "update", "s", "--locking", "try", "1000000300:1")
	var le *store.LockError
	if ok || !errors.As(err, &le) {
		t.Fatalf("--locking try beside a holder: ok=%v %v, want a *store.LockError", ok, err)
	}
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), []string{"--data", data, "update", "s", "--locking", "block", "1000000300:2"}, strings.NewReader(""), io.Discard, io.Discard)
	}()
	select {
	case err := <-done:
		t.Fatalf("--locking block returned while the directory is held: %v", err)
	case <-time.After(1 * time.Second): // past try's wait (300 ms)
	}
	if err := holder.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("--locking block once the holder left: %v", err)
	}
	out, _, err := rrdashRun(t, data, "lastupdate", "s")
	if !strings.Contains(out, "1000000300: 2") {
		t.Fatalf("lastupdate after the blocked update: %q (%v)", out, err)
	}
}
