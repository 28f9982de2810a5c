package meta

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeyUse counts the secret values stored in monitor definitions: by the id
// of the key they are sealed under, and "plain" for values not sealed.
func (m *DB) KeyUse(ctx context.Context) (map[string]int, error) {
	rows, err := m.db.QueryContext(ctx, `SELECT name, definition FROM monitors`)
	if err != nil {
		return nil, fmt.Errorf("monitor secrets: %w", err)
	}
	defer rows.Close()
	use := map[string]int{}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			return nil, fmt.Errorf("monitor secrets: %w", err)
		}
		if _, _, err := walkSecrets(name, def, func(v, _ string) (string, error) {
			rest, ok := strings.CutPrefix(v, SealedPrefix)
			if !ok {
				use["plain"]++
				return v, nil
			}
			id, _, _ := strings.Cut(rest, ":")
			use[id]++
			return v, nil
		}); err != nil {
			return nil, err
		}
	}
	return use, rows.Err()
}

// DropOldKeys rewrites the key file at path with its first key only, after
// checking that it is still the key keep (the id the caller resealed
// under): a file rotated meanwhile is left alone. The new file is written
// to a temporary name, synced and renamed, so a crash leaves the old file
// or the new one.
func DropOldKeys(path, keep string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("secrets key file: %w", err)
	}
	var first string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			first = line
			break
		}
	}
	raw, err := hex.DecodeString(first)
	if err != nil || first == "" {
		return fmt.Errorf("secrets key file %s: no key first", path)
	}
	if id := keyID(raw); id != keep {
		return fmt.Errorf("secrets key file %s: its first key is %s, not %s: rotated meanwhile; run again", path, id, keep)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err == nil {
		_, err = f.WriteString(first + "\n")
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDirOf(path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("secrets key file: %w", err)
	}
	return nil
}

func syncDirOf(path string) error {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
