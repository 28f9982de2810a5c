package remote

import (
	"context"
	"time"
)

// Backup asks the server to write a backup of its data directory into
// dest, a path on the server's machine that does not exist or is an empty
// directory (XBACKUP, answered once the backup is written and verified),
// and returns the server's report, one line each.
func (c *Client) Backup(ctx context.Context, dest string) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		// a backup takes as long as the copy: no deadline, but ctx ends it
		conn := c.conn
		stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
		defer stop()
	}
	res, err := c.requestLocked("XBACKUP", dest)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	return append([]string{res.msg}, res.lines...), nil
}
