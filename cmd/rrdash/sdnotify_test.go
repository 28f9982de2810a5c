package main

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// notifySocket listens as systemd does for sd_notify datagrams.
func notifySocket(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	addr := name
	if strings.HasPrefix(name, "@") {
		addr = "\x00" + name[1:]
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func readNotify(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	b := make([]byte, 4096)
	n, err := c.Read(b)
	if err != nil {
		t.Fatalf("no sd_notify datagram: %v", err)
	}
	return string(b[:n])
}

// TestSdNotify sends to a path and to an abstract socket, does nothing
// without NOTIFY_SOCKET, and refuses a relative name.
func TestSdNotify(t *testing.T) {
	for _, name := range []string{filepath.Join(t.TempDir(), "notify"), "@rrdash-test-" + strings.ReplaceAll(t.Name(), "/", "-")} {
		c := notifySocket(t, name)
		t.Setenv("NOTIFY_SOCKET", name)
		if err := sdNotify("READY=1"); err != nil {
			t.Fatal(err)
		}
		if got := readNotify(t, c); got != "READY=1" {
			t.Errorf("%s: got %q", name, got)
		}
	}
	t.Setenv("NOTIFY_SOCKET", "")
	if err := sdNotify("READY=1"); err != nil {
		t.Errorf("without NOTIFY_SOCKET: %v", err)
	}
	t.Setenv("NOTIFY_SOCKET", "relative")
	if err := sdNotify("READY=1"); err == nil {
		t.Error("a relative NOTIFY_SOCKET: no error")
	}
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "nobody-listens"))
	if err := sdNotify("READY=1"); err == nil {
		t.Error("a socket nobody listens on: no error")
	}
}
