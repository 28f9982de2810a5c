// Package remote is a store client speaking the rrdcached protocol: the
// CLI runs its commands through it when a server (rrdash serve, or any
// rrdcached for the commands rrdcached has) holds the data directory. Its
// methods mirror *store.DB's, so every command formats the same results
// whether it reads the directory itself or asks the server.
//
// The protocol (rrdcached(1), rrdtool 1.7): one command per line, fields
// separated by spaces, a space or backslash inside a field escaped with a
// backslash; each answer is a line "STATUS message", STATUS < 0 an error,
// STATUS > 0 the number of lines that follow.
package remote

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultPort is rrdcached's TCP port.
const DefaultPort = "42217"

// maxLine bounds a line read from the server (a FETCH row of 1024 data
// sources at 25 bytes each fits many times over).
const maxLine = 1 << 20

// ServerError is an error the server answered with (a negative status).
// Its text is the server's message, as the local store would have said it.
type ServerError struct {
	Status int
	Msg    string
}

func (e *ServerError) Error() string { return e.Msg }

// ParseAddress resolves an rrdcached address as rrdtool does:
// "unix:/path" and "/path" are UNIX sockets; "host:port", "[v6addr]:port",
// "host" and "[v6addr]" are TCP, port 42217 by default.
func ParseAddress(addr string) (network, address string, err error) {
	switch {
	case addr == "":
		return "", "", errors.New("empty rrdcached address")
	case strings.HasPrefix(addr, "unix:"):
		p := addr[len("unix:"):]
		if p == "" {
			return "", "", fmt.Errorf("rrdcached address %q: no socket path", addr)
		}
		return "unix", p, nil
	case addr[0] == '/':
		return "unix", addr, nil
	case addr[0] == '[':
		host, rest, ok := strings.Cut(addr[1:], "]")
		if !ok || host == "" {
			return "", "", fmt.Errorf("malformed rrdcached address %q", addr)
		}
		port := DefaultPort
		if rest != "" {
			p, ok := strings.CutPrefix(rest, ":")
			if !ok || p == "" {
				return "", "", fmt.Errorf("rrdcached address %q: garbage after the address: %q", addr, rest)
			}
			port = p
		}
		return "tcp", net.JoinHostPort(host, port), nil
	}
	host, port := addr, DefaultPort
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		host, port = addr[:i], addr[i+1:]
		if host == "" || port == "" {
			return "", "", fmt.Errorf("malformed rrdcached address %q", addr)
		}
	}
	return "tcp", net.JoinHostPort(host, port), nil
}

// Client is one connection to a server. It is safe for concurrent use;
// requests take turns on the connection.
type Client struct {
	addr string

	mu    sync.Mutex
	conn  net.Conn
	r     *bufio.Reader
	w     *bufio.Writer
	specs map[string]specEntry // series definitions for updates
	buf   []byte
}

// Dial connects to the server at addr (an rrdcached address).
func Dial(ctx context.Context, addr string) (*Client, error) {
	network, address, err := ParseAddress(addr)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, fmt.Errorf("unable to connect to rrdcached at %s: %w", addr, err)
	}
	return &Client{addr: addr, conn: conn, r: bufio.NewReaderSize(conn, 64<<10), w: bufio.NewWriterSize(conn, 64<<10), specs: map[string]specEntry{}}, nil
}

// Addr is the address the client was dialled with.
func (c *Client) Addr() string { return c.addr }

// Close says QUIT and closes the connection.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	// QUIT has no answer: the server closes its end
	c.w.WriteString("QUIT\n")
	c.w.Flush()
	err := c.conn.Close()
	c.conn = nil
	return err
}

// response is one answer: its status, message and lines.
type response struct {
	status int
	msg    string
	lines  []string
}

// appendField appends s as one protocol field: a space or backslash is
// escaped with a backslash; a line break cannot be sent at all.
func appendField(b []byte, s string) ([]byte, error) {
	if strings.ContainsAny(s, "\n\r") {
		return b, fmt.Errorf("%q: a line break cannot be sent in the rrdcached protocol", s)
	}
	if len(b) > 0 {
		b = append(b, ' ')
	}
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' || s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return b, nil
}

// request sends one command of fields and reads its answer. A negative
// status is returned as a *ServerError.
func (c *Client) request(fields ...string) (*response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requestLocked(fields...)
}

func (c *Client) requestLocked(fields ...string) (*response, error) {
	if c.conn == nil {
		return nil, fmt.Errorf("rrdcached at %s: connection closed", c.addr)
	}
	b := c.buf[:0]
	var err error
	for _, f := range fields {
		if b, err = appendField(b, f); err != nil {
			return nil, err
		}
	}
	b = append(b, '\n')
	c.buf = b
	if _, err := c.w.Write(b); err != nil {
		return nil, c.broken(err)
	}
	if err := c.w.Flush(); err != nil {
		return nil, c.broken(err)
	}
	res, err := c.readResponse()
	if err != nil {
		return nil, c.broken(err)
	}
	if res.status < 0 {
		return res, &ServerError{Status: res.status, Msg: res.msg}
	}
	return res, nil
}

// broken closes a connection whose stream can no longer be trusted.
func (c *Client) broken(err error) error {
	c.conn.Close()
	c.conn = nil
	return fmt.Errorf("rrdcached at %s: %w", c.addr, err)
}

func (c *Client) readLine() (string, error) {
	var sb strings.Builder
	for {
		part, isPrefix, err := c.r.ReadLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return "", errors.New("the server closed the connection")
			}
			return "", err
		}
		sb.Write(part)
		if sb.Len() > maxLine {
			return "", fmt.Errorf("an answer line longer than %d bytes", maxLine)
		}
		if !isPrefix {
			return sb.String(), nil
		}
	}
}

func (c *Client) readResponse() (*response, error) {
	line, err := c.readLine()
	if err != nil {
		return nil, err
	}
	num, msg, _ := strings.Cut(line, " ")
	st, err := strconv.Atoi(num)
	if err != nil {
		return nil, fmt.Errorf("malformed status line %q", truncate(line))
	}
	res := &response{status: st, msg: strings.TrimLeft(msg, " \t")}
	if st > 0 {
		res.lines = make([]string, 0, min(st, 1<<16))
		for range st {
			l, err := c.readLine()
			if err != nil {
				return nil, err
			}
			res.lines = append(res.lines, l)
		}
	}
	return res, nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// Ping checks that the server answers (PING, "0 PONG") before ctx ends.
func (c *Client) Ping(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := ctx.Deadline(); ok && c.conn != nil {
		c.conn.SetDeadline(d)
	}
	_, err := c.requestLocked("PING")
	if c.conn != nil {
		c.conn.SetDeadline(time.Time{})
	}
	return err
}
