package push

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
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
	return newGraphiteListenerConfig(t, GraphiteConfig{})
}

func newGraphiteListenerConfig(t *testing.T, cfg GraphiteConfig) (*store.DB, *GraphiteListener, *bytes.Buffer) {
	t.Helper()
	db := openStore(t)
	w, err := NewWriter(db, WriterConfig{Template: exactTemplate(t), MaxDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	g, err := ListenGraphite("127.0.0.1:0", w, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return db, g, logs
}

// graphiteSend writes body, half-closes and reads until the server closes:
// nil means a clean close (the server's acknowledgement), otherwise the
// read error (a reset).
func graphiteSend(t *testing.T, addr, body string) error {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	if _, err := c.Write([]byte(body)); err != nil {
		return err
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, c)
	return err
}

// A clean close comes only after the client's EOF and once the
// connection's points are durable; every other end is a reset, so that a
// client never takes lost lines for acknowledged ones.
func TestGraphiteCloseMeansDurable(t *testing.T) {
	t.Parallel()
	db, g, _ := newGraphiteListenerConfig(t, GraphiteConfig{MaxLine: 100, IdleTimeout: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- g.Serve(ctx) }()
	addr := g.Addr().String()

	// Clean: every point is stored when the server's close arrives.
	var b strings.Builder
	for i := 1; i <= 500; i++ {
		fmt.Fprintf(&b, "clean.s%d %d %d\n", i%7, i, base+i)
	}
	if err := graphiteSend(t, addr, b.String()); err != nil {
		t.Fatalf("clean connection ended with %v, want a clean close", err)
	}
	for s := 0; s < 7; s++ {
		if got := stored(t, db, fmt.Sprintf("clean.s%d", s), base, base+500); len(got) < 70 {
			t.Errorf("clean.s%d: %d points stored at the clean close", s, len(got))
		}
	}

	// A line too long ends the connection before the client's EOF: reset.
	err := graphiteSend(t, addr, "long.a 1 1795356001\n"+strings.Repeat("x", 300)+" 2 1795356002\nlong.a 3 1795356003\n")
	if err == nil || !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("connection with a too-long line ended with %v, want a reset", err)
	}

	// An idle connection is reset, not closed cleanly.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "idle.a 1 %d\n", base+1)
	c.SetReadDeadline(time.Now().Add(time.Minute))
	if _, err := io.Copy(io.Discard, c); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("idle connection ended with %v, want a reset", err)
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if st := g.Stats(); st.Aborted != 2 {
		t.Errorf("stats %+v, want 2 aborted connections", st)
	}
}

// A point from beyond the horizon is refused and counted; it does not
// make later real points late.
func TestGraphiteRefusesFuturePoints(t *testing.T) {
	t.Parallel()
	db, g, logs := newGraphiteListener(t)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- g.Serve(ctx) }()
	now := time.Now().Unix()
	body := fmt.Sprintf("poison 1 253402300799\npoison 2 %d\npoison 3 %d\n", now-60, now+3600)
	if err := graphiteSend(t, g.Addr().String(), body); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if st := g.Stats(); st.Future != 2 || st.Bad != 2 || st.Points != 1 || st.Late != 0 {
		t.Errorf("stats %+v", st)
	}
	if got := stored(t, db, "poison", now-120, now); len(got) != 1 {
		t.Errorf("stored %v, want the one real point", got)
	}
	if s := logs.String(); !strings.Contains(s, "line=1") || !strings.Contains(s, "ahead of the server clock") {
		t.Errorf("log %q does not name line 1", s)
	}
}

// graphiteFieldsByByte is graphiteFields with the byte table alone (the
// version before the eight-byte scan), the reference of
// TestGraphiteFieldsWordScan.
func graphiteFieldsByByte(line []byte) (f [3][]byte, n int, ok bool) {
	i := 0
	for {
		for i < len(line) && graphiteByte[line[i]] == gSep {
			i++
		}
		if i == len(line) {
			return f, n, true
		}
		j := i
		for j < len(line) && graphiteByte[line[j]] == gField {
			j++
		}
		if j < len(line) && graphiteByte[line[j]] == gOther {
			return f, n, false
		}
		if n < 3 {
			f[n] = line[i:j:j]
		}
		n++
		i = j
	}
}

// TestGraphiteFieldsWordScan: the eight-byte scan splits every line as the
// byte table alone does, over random lines mixing field bytes, separators,
// control bytes, other white space and non-ASCII bytes at every offset.
func TestGraphiteFieldsWordScan(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(15, 8))
	alphabet := []byte("abcxyz.;=_-0123456789\x00\x01\x08\x0e\x1f\x20\x21\x7e\x7f\x80\xc3\xa9\xff \t\n\v\f\r")
	for range 20000 {
		line := make([]byte, rng.IntN(48))
		for i := range line {
			if rng.IntN(4) == 0 {
				line[i] = alphabet[rng.IntN(len(alphabet))]
			} else {
				line[i] = "abcdefgh.0123456789"[rng.IntN(19)]
			}
		}
		gf, gn, gok := graphiteFields(line)
		wf, wn, wok := graphiteFieldsByByte(line)
		if gn != wn || gok != wok || fmt.Sprintf("%q", gf) != fmt.Sprintf("%q", wf) {
			t.Fatalf("%q: got %q %d %v, want %q %d %v", line, gf, gn, gok, wf, wn, wok)
		}
	}
	for w := range 256 { // every byte value in every position of a word
		for pos := range 8 {
			b := []byte("abcdefgh")
			b[pos] = byte(w)
			want := true
			for _, c := range b {
				want = want && c >= 0x21 && c < 0x80
			}
			if got := fieldWord(binary.LittleEndian.Uint64(b)); got && !want {
				t.Fatalf("fieldWord(%q) = true", b)
			}
		}
	}
}

// TestGraphiteNamesFollow: the name cache's guess of the next name (the
// one looked up after this one last time) never answers for another
// name, whether the stream repeats its order, changes it, repeats a name
// or outgrows the cache.
func TestGraphiteNamesFollow(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(15, 15))
	var c graphiteNames
	want := map[string]string{} // raw → name, as cached
	const max = 50
	order := make([]string, 80)
	for i := range order {
		order[i] = fmt.Sprintf("s%d", i)
	}
	for round := range 40 {
		if round%5 == 4 {
			r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		for i := 0; i < len(order); i++ {
			raw := order[i]
			if r.IntN(10) == 0 {
				raw = order[r.IntN(len(order))] // out of order, or twice
			}
			gn, ok := c.get([]byte(raw))
			if ok && gn.name != want[raw] {
				t.Fatalf("round %d: %q gave %q, want %q", round, raw, gn.name, want[raw])
			}
			if !ok {
				n := len(c.m)
				gn = graphiteName{name: raw + fmt.Sprintf("#%d", round), ref: &seriesRef{}}
				c.put(raw, gn, max)
				if n >= max {
					clear(want) // started afresh
				}
				want[raw] = gn.name
			}
			if len(c.m) > max {
				t.Fatalf("%d names cached, bound %d", len(c.m), max)
			}
		}
	}
	var nilCache *graphiteNames
	if _, ok := nilCache.get([]byte("s1")); ok {
		t.Fatal("a nil cache answered")
	}
}
