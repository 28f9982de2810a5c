package main

import (
	"fmt"
	"net"
	"os"
)

// sdNotify sends state (e.g. "READY=1") to the service manager named by
// $NOTIFY_SOCKET (systemd's Type=notify protocol: one datagram on a UNIX
// socket; a name starting with @ is in the abstract namespace). Without
// $NOTIFY_SOCKET it does nothing.
func sdNotify(state string) error {
	name := os.Getenv("NOTIFY_SOCKET")
	if name == "" {
		return nil
	}
	if name[0] != '/' && name[0] != '@' {
		return fmt.Errorf("NOTIFY_SOCKET %q: want an absolute path or an @abstract name", name)
	}
	if name[0] == '@' {
		name = "\x00" + name[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("NOTIFY_SOCKET: %w", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("NOTIFY_SOCKET: %w", err)
	}
	return nil
}
