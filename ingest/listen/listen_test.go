package listen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// flaky fails its first n accepts with err, then accepts from the real
// listener.
type flaky struct {
	net.Listener
	mu  sync.Mutex
	n   int
	err error
}

func (f *flaky) Accept() (net.Conn, error) {
	f.mu.Lock()
	if f.n > 0 {
		f.n--
		f.mu.Unlock()
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: f.err}
	}
	f.mu.Unlock()
	return f.Listener.Accept()
}

func loopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// echoLine serves one line back.
func echoLine(_ context.Context, c net.Conn) {
	b := make([]byte, 64)
	n, _ := c.Read(b)
	c.Write(b[:n])
}

func roundTrip(t *testing.T, addr, msg string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(c, msg)
	b, err := io.ReadAll(c)
	if err != nil || string(b) != msg {
		t.Fatalf("echo %q: got %q, %v", msg, b, err)
	}
}

func TestAcceptRetriesTemporaryErrors(t *testing.T) {
	t.Parallel()
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED} {
		t.Run(errno.Error(), func(t *testing.T) {
			t.Parallel()
			inner := &flaky{Listener: loopback(t), n: 6, err: errno}
			l := New(inner, Config{Name: "test"})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- l.Serve(ctx, echoLine) }()
			roundTrip(t, l.Addr().String(), "after errors")
			st := l.Status()
			if st.State != Running || st.AcceptErrors != 6 {
				t.Errorf("status %+v, want running after 6 accept errors", st)
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
			if st := l.Status(); st.State != Closed {
				t.Errorf("after shutdown: %+v", st)
			}
		})
	}
}

func TestRetryingStateReported(t *testing.T) {
	t.Parallel()
	inner := &flaky{Listener: loopback(t), n: 1 << 30, err: syscall.EMFILE}
	l := New(inner, Config{Name: "test"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Serve(ctx, echoLine) }()
	deadline := time.Now().Add(10 * time.Second)
	for l.Status().State != Retrying {
		if time.Now().After(deadline) {
			t.Fatalf("status %+v, want retrying", l.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := l.Status(); !strings.Contains(st.Error, "too many open files") {
		t.Errorf("status error %q", st.Error)
	}
	inner.mu.Lock()
	inner.n = 0
	inner.mu.Unlock()
	roundTrip(t, l.Addr().String(), "recovered")
	if st := l.Status(); st.State != Running || st.Error != "" {
		t.Errorf("after recovery: %+v", st)
	}
	cancel()
	<-done
}

func TestPermanentErrorStops(t *testing.T) {
	t.Parallel()
	inner := &flaky{Listener: loopback(t), n: 1, err: errors.New("broken")}
	l := New(inner, Config{Name: "test"})
	err := l.Serve(context.Background(), echoLine)
	if err == nil || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("Serve: %v, want the accept error", err)
	}
	if st := l.Status(); st.State != Stopped || !strings.Contains(st.Error, "broken") {
		t.Errorf("status %+v, want stopped", st)
	}
	inner.Close()
}

func TestMaxConnsMakesNewConnectionsWait(t *testing.T) {
	t.Parallel()
	l := New(loopback(t), Config{Name: "test", MaxConns: 2})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan net.Conn, 3)
	release := make(chan struct{})
	go l.Serve(ctx, func(_ context.Context, c net.Conn) {
		started <- c
		<-release
	})
	var clients []net.Conn
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients = append(clients, c)
	}
	<-started
	<-started
	deadline := time.Now().Add(10 * time.Second)
	for !l.Status().AtLimit {
		if time.Now().After(deadline) {
			t.Fatalf("status %+v, want at limit", l.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case <-started:
		t.Fatal("a third connection was served past the limit of 2")
	case <-time.After(50 * time.Millisecond):
	}
	// The waiting connection was not closed: it is served once a slot frees.
	release <- struct{}{}
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting connection was not served after a slot freed")
	}
	close(release)
	if st := l.Status(); st.MaxConns != 2 {
		t.Errorf("status %+v", st)
	}
}

func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	l := New(loopback(t), Config{Name: "test", IdleTimeout: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go l.Serve(ctx, func(_ context.Context, c net.Conn) {
		b := make([]byte, 16)
		for {
			if _, err := c.Read(b); err != nil {
				errc <- err
				return
			}
		}
	})
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "x")
	select {
	case err := <-errc:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("read error %v, want a timeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an idle connection stayed open")
	}
}

func TestShutdownInterruptsReads(t *testing.T) {
	t.Parallel()
	l := New(loopback(t), Config{Name: "test"})
	ctx, cancel := context.WithCancel(context.Background())
	reading := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- l.Serve(ctx, func(_ context.Context, c net.Conn) {
			close(reading)
			_, err := c.Read(make([]byte, 1))
			if err == nil {
				t.Error("read returned no error at shutdown")
			}
		})
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-reading
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return at shutdown")
	}
}

// flakyDeadliner is flaky over a listener whose accepts can time out.
type flakyDeadliner struct {
	*flaky
	tcp *net.TCPListener
}

func (f flakyDeadliner) SetDeadline(t time.Time) error { return f.tcp.SetDeadline(t) }

// TestRetryingEndsWithoutAConnection: Linux fails accept with EMFILE even
// when no connection waits, so a listener that hit a full descriptor
// table while idle had no connection to prove it recovered and stayed
// "retrying" (health 503) until one came. An accept after a retry that
// waits without failing makes it running again.
func TestRetryingEndsWithoutAConnection(t *testing.T) {
	t.Parallel()
	tcp := loopback(t).(*net.TCPListener)
	inner := flakyDeadliner{&flaky{Listener: tcp, n: 3, err: syscall.EMFILE}, tcp}
	l := New(inner, Config{Name: "test"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Serve(ctx, echoLine) }()
	deadline := time.Now().Add(10 * time.Second)
	for st := l.Status(); st.State != Running || st.AcceptErrors != 3; st = l.Status() {
		if time.Now().After(deadline) {
			t.Fatalf("status %+v, want running after 3 accept errors and no connection", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// the deadline is gone: a connection long after is served
	time.Sleep(3 * probeWait)
	roundTrip(t, l.Addr().String(), "later")
	if st := l.Status(); st.State != Running || st.AcceptErrors != 3 {
		t.Errorf("after a connection: %+v", st)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}
