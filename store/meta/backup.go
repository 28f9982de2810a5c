package meta

import (
	"context"
	"fmt"
)

// BackupTo writes a consistent copy of the database to path, a file that
// must not exist yet (SQLite's VACUUM INTO: one read transaction, so
// writers go on; the copy is compact and holds no write-ahead log).
func (m *DB) BackupTo(ctx context.Context, path string) error {
	if _, err := m.db.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		return fmt.Errorf("metadata backup to %s: %w", path, err)
	}
	return nil
}

// IntegrityCheck runs SQLite's integrity check and returns its findings
// ("ok" when sound).
func (m *DB) IntegrityCheck(ctx context.Context) (string, error) {
	var res string
	if err := m.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return "", fmt.Errorf("metadata integrity check: %w", err)
	}
	return res, nil
}
