package push

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"rrdash/store"
)

// Bad lines are counted and logged with their line number; an idle open
// connection does not keep Serve from returning, and what it sent is stored.
func TestGraphiteBadLinesAndShutdown(t *testing.T) {
	t.Parallel()
	db, g, logs := newGraphiteListener(t)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- g.Serve(ctx) }()
	conn, err := net.Dial("tcp", g.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("a.b 1 1795356001\r\n\nnot a line\na.b 2 1795356002\n")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for st := g.Stats(); st.Points < 2 || st.Bad < 1; st = g.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if st := g.Stats(); st.Lines != 4 || st.Points != 2 || st.Bad != 1 || st.Conns != 1 || st.ConnsDone != 1 {
		t.Errorf("stats %+v", st)
	}
	if got := stored(t, db, "a.b", base, base+2); got[base+1] != 1 || got[base+2] != 2 {
		t.Errorf("stored %v", got)
	}
	if s := logs.String(); !strings.Contains(s, "line=3") || !strings.Contains(s, "not a decimal") {
		t.Errorf("log %q does not name line 3", s)
	}
	if _, err := net.Dial("tcp", g.Addr().String()); err == nil {
		t.Error("listener still accepting after Serve returned")
	}
}

// A line longer than MaxLine ends its connection with a log line; the
// listener goes on serving others.
func TestGraphiteLineTooLong(t *testing.T) {
	t.Parallel()
	db, g, logs := newGraphiteListener(t)
	g.MaxLine = 100
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- g.Serve(ctx) }()
	for _, body := range []string{"a.b 1 1795356001\n" + strings.Repeat("x", 300) + " 2 1795356002\n", "c.d 3 1795356003\n"} {
		conn, err := net.Dial("tcp", g.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
		conn.Close()
	}
	deadline := time.Now().Add(time.Minute)
	for g.Stats().ConnsDone < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", g.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if st := g.Stats(); st.Points != 2 {
		t.Errorf("stats %+v", st)
	}
	if !strings.Contains(logs.String(), "line too long") {
		t.Errorf("log %q", logs.String())
	}
	for s, want := range map[string]float64{"a.b": 1, "c.d": 3} {
		got := stored(t, db, s, base, base+3)
		found := false
		for _, v := range got {
			found = found || v == want
		}
		if !found {
			t.Errorf("%s: stored %v, want %v", s, got, want)
		}
	}
}

// newGraphiteListener is a listener on 127.0.0.1 writing through a writer
// into a fresh store; its log is read only after Serve returned.
func newGraphiteListener(t *testing.T) (*store.DB, *GraphiteListener, *bytes.Buffer) {
	t.Helper()
	db := openStore(t)
	w, err := NewWriter(db, WriterConfig{Template: exactTemplate(t), MaxDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	g, err := ListenGraphite("127.0.0.1:0", w, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return db, g, logs
}
