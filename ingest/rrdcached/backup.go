package rrdcached

import (
	"path/filepath"
	"strings"
)

// handleBackup writes a backup of the data directory (XBACKUP <dest>,
// rrdash backup's command) through Config.Backup: the server holds the
// store, so the snapshot is taken inside it.
func handleBackup(s *Server, c *conn, args []string) reply {
	if len(args) != 1 {
		return syntaxError(s, "XBACKUP")
	}
	if s.cfg.Backup == nil {
		return errorf("backups are not configured on this server\n")
	}
	if !filepath.IsAbs(args[0]) {
		return errorf("XBACKUP: %q is not an absolute path (the server's working directory is not the client's)\n", args[0])
	}
	lines, err := s.cfg.Backup(c.ctx, args[0])
	if err != nil {
		return errorf("backup: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	msg := "backup written"
	if len(lines) > 0 {
		msg, lines = lines[0], lines[1:]
	}
	var body strings.Builder
	for _, l := range lines {
		body.WriteString(strings.ReplaceAll(l, "\n", " "))
		body.WriteByte('\n')
	}
	return ok(strings.ReplaceAll(msg, "\n", " ")+"\n", []byte(body.String()))
}
