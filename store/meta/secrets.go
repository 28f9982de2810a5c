package meta

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
)

// Secret returns the server secret called name, creating it with size
// random bytes the first time. Deleting the row rotates it.
func (m *DB) Secret(ctx context.Context, name string, size int) ([]byte, error) {
	fresh := make([]byte, size)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	// Insert unless present, then read: two servers starting at once agree.
	if _, err := m.db.ExecContext(ctx, `INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, fresh); err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	var v []byte
	if err := m.db.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v); err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return v, nil
}

// UseSecretBox makes the database seal the values of secret variables in
// monitor definitions (call it before serving). Without a box they are
// stored in plain text, and a sealed one cannot be read.
func (m *DB) UseSecretBox(b *SecretBox) { m.box = b }

// envVar is the part of a monitor definition's env entries meta touches;
// the rest of the definition is kept as it is.
type envVar = map[string]json.RawMessage

// walkSecrets calls fn with the value of every secret variable in the
// definition's JSON and stores what it returns; changed reports whether any
// value changed.
func walkSecrets(monitor, definition string, fn func(value, ad string) (string, error)) (string, bool, error) {
	var def map[string]json.RawMessage
	if err := json.Unmarshal([]byte(definition), &def); err != nil {
		return "", false, fmt.Errorf("monitor %q: definition: %w", monitor, err)
	}
	raw, ok := def["env"]
	if !ok {
		return definition, false, nil
	}
	var env []envVar
	if err := json.Unmarshal(raw, &env); err != nil {
		return "", false, fmt.Errorf("monitor %q: env: %w", monitor, err)
	}
	changed := false
	for i, e := range env {
		var secret bool
		var name, value string
		if json.Unmarshal(e["secret"], &secret) != nil || !secret {
			continue
		}
		if err := json.Unmarshal(e["name"], &name); err != nil {
			return "", false, fmt.Errorf("monitor %q: env %d: name: %w", monitor, i, err)
		}
		if err := json.Unmarshal(e["value"], &value); err != nil {
			return "", false, fmt.Errorf("monitor %q: env %s: value: %w", monitor, name, err)
		}
		nv, err := fn(value, monitor+"/"+name)
		if err != nil {
			return "", false, fmt.Errorf("monitor %q: env %s: %w", monitor, name, err)
		}
		if nv != value {
			b, _ := json.Marshal(nv)
			e["value"], changed = b, true
		}
	}
	if !changed {
		return definition, false, nil
	}
	b, err := json.Marshal(env)
	if err != nil {
		return "", false, err
	}
	def["env"] = b
	out, err := json.Marshal(def)
	return string(out), true, err
}

// sealDefinition seals secret values not sealed under the current key
// (plain text, or an older key after a rotation).
func (m *DB) sealDefinition(monitor, definition string) (string, bool, error) {
	if m.box == nil {
		return definition, false, nil
	}
	return walkSecrets(monitor, definition, func(v, ad string) (string, error) {
		if m.box.Current(v) {
			return v, nil
		}
		if IsSealed(v) {
			var err error
			if v, err = m.box.Open(v, ad); err != nil {
				return "", err
			}
		}
		return m.box.Seal(v, ad)
	})
}

// openMonitor opens the sealed secret values of a stored monitor.
func (m *DB) openMonitor(mon Monitor) (Monitor, error) {
	def, _, err := walkSecrets(mon.Name, mon.Definition, func(v, ad string) (string, error) {
		if !IsSealed(v) {
			return v, nil
		}
		if m.box == nil {
			return "", fmt.Errorf("the secret is sealed but no key file is configured ([monitors] secrets_key_file)")
		}
		return m.box.Open(v, ad)
	})
	mon.Definition = def
	return mon, err
}

// SealMonitorSecrets reseals every stored secret that is in plain text or
// under an older key: the migration at start after a key file is set up or
// rotated. It returns how many monitors it rewrote.
func (m *DB) SealMonitorSecrets(ctx context.Context) (int, error) {
	if m.box == nil {
		return 0, nil
	}
	rows, err := m.db.QueryContext(ctx, `SELECT name, definition FROM monitors`)
	if err != nil {
		return 0, fmt.Errorf("seal monitor secrets: %w", err)
	}
	type row struct{ name, def string }
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.name, &r.def); err != nil {
			rows.Close()
			return 0, fmt.Errorf("seal monitor secrets: %w", err)
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("seal monitor secrets: %w", err)
	}
	n := 0
	for _, r := range all {
		def, changed, err := m.sealDefinition(r.name, r.def)
		if err != nil {
			return n, err
		}
		if !changed {
			continue
		}
		// Only if unchanged meanwhile, so a concurrent edit is not lost.
		if _, err := m.db.ExecContext(ctx, `UPDATE monitors SET definition = ? WHERE name = ? AND definition = ?`, def, r.name, r.def); err != nil {
			return n, fmt.Errorf("seal monitor %q secrets: %w", r.name, err)
		}
		n++
	}
	return n, nil
}
