package meta

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newBox(t testing.TB) (*SecretBox, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secrets.key")
	if err := RotateKeyFile(path); err != nil {
		t.Fatal(err)
	}
	box, err := LoadSecretBox(path, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return box, path
}

func TestSecretBoxSealOpenRotate(t *testing.T) {
	t.Parallel()
	box, path := newBox(t)
	sealed, err := box.Seal("hunter2", "payments/API_TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	if !IsSealed(sealed) || strings.Contains(sealed, "hunter2") || !box.Current(sealed) {
		t.Fatalf("sealed %q", sealed)
	}
	if again, _ := box.Seal("hunter2", "payments/API_TOKEN"); again == sealed {
		t.Error("two seals of one value are equal (nonce reused)")
	}
	if got, err := box.Open(sealed, "payments/API_TOKEN"); err != nil || got != "hunter2" {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := box.Open(sealed, "other/API_TOKEN"); err == nil || !strings.Contains(err.Error(), "does not authenticate") {
		t.Errorf("opened under another variable's name: %v", err)
	}
	flipped := []byte(sealed)
	flipped[len(flipped)-3] ^= 1
	if _, err := box.Open(string(flipped), "payments/API_TOKEN"); err == nil {
		t.Error("a tampered value opened")
	}

	// Rotation: the new key seals, the old one still opens until resealed.
	if err := RotateKeyFile(path); err != nil {
		t.Fatal(err)
	}
	rotated, err := LoadSecretBox(path, "")
	if err != nil {
		t.Fatal(err)
	}
	if rotated.Current(sealed) {
		t.Error("a value sealed under the old key counts as current")
	}
	if got, err := rotated.Open(sealed, "payments/API_TOKEN"); err != nil || got != "hunter2" {
		t.Fatalf("old value after rotation: %q %v", got, err)
	}
	resealed, err := rotated.Seal("hunter2", "payments/API_TOKEN")
	if err != nil || !rotated.Current(resealed) {
		t.Fatalf("reseal: %q %v", resealed, err)
	}
	// The first box follows its file (a server while rrdash rotate-key
	// runs): it opens the value under the new key and seals under it.
	if got, err := box.Open(resealed, "payments/API_TOKEN"); err != nil || got != "hunter2" {
		t.Errorf("the first box after the rotation: %q %v", got, err)
	}
	if s, err := box.Seal("x", "payments/API_TOKEN"); err != nil || !rotated.Current(s) || !box.Current(resealed) {
		t.Errorf("the first box seals %q (%v), not under the new key", s, err)
	}
	// A file that changed and no longer reads: sealing is refused (the
	// key may be gone), opening under the keys last read goes on.
	if err := os.WriteFile(path, []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := box.Seal("x", "payments/API_TOKEN"); err == nil {
		t.Error("sealed with an unreadable key file")
	}
	if got, err := box.Open(resealed, "payments/API_TOKEN"); err != nil || got != "hunter2" {
		t.Errorf("open with an unreadable key file: %q %v", got, err)
	}
	if _, err := box.Open(SealedPrefix+"00000000:AAAA", "payments/API_TOKEN"); err == nil || !strings.Contains(err.Error(), "not among the keys last read") {
		t.Errorf("an unknown key with an unreadable file: %v", err)
	}
}

func TestLoadSecretBoxRefuses(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	inside := filepath.Join(data, "secrets.key")
	if err := RotateKeyFile(inside); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := strings.Repeat("ab", 32) + "\n"
	tests := []struct {
		name, path, want string
	}{
		{"inside data dir", inside, "inside the data directory"},
		{"readable by others", write("open.key", good, 0o644), "chmod 600"},
		{"short key", write("short.key", "# comment\nabcd\n", 0o600), "short.key:2: want 64 hex digits"},
		{"not hex", write("nothex.key", strings.Repeat("zz", 32)+"\n", 0o600), "want 64 hex digits"},
		{"empty", write("empty.key", "# nothing\n", 0o600), "no key"},
		{"missing", filepath.Join(dir, "missing.key"), "no such file"},
	}
	for _, tc := range tests {
		if _, err := LoadSecretBox(tc.path, data); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := LoadSecretBox(write("good.key", good, 0o600), data); err != nil {
		t.Errorf("good key file: %v", err)
	}
}

// FuzzSecretBoxOpen: any stored value, however malformed, is an error or
// its plain text, never a panic.
func FuzzSecretBoxOpen(f *testing.F) {
	box, _ := newBox(f)
	sealed, err := box.Seal("v", "m/N")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{sealed, "", SealedPrefix, SealedPrefix + "00000000:", SealedPrefix + box.keys[0].id + ":AAAA", sealed[:len(sealed)-4], "plain"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		plain, err := box.Open(v, "m/N")
		if err == nil && v != sealed && plain == "v" && !box.Current(v) {
			t.Errorf("%q opened without being sealed under the box's key", v)
		}
	})
}

func TestMonitorSecretsSealedAtRest(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, where string) {
		ctx := context.Background()
		m := openTest(t, where)
		ana, err := m.EnsureUser(ctx, User{Handle: "ana", Issuer: "t", Subject: "ana"})
		if err != nil {
			t.Fatal(err)
		}
		def := `{"name":"pay","interval":"1m","env":[{"name":"TOKEN","value":"hunter2-secret","secret":true},{"name":"REGION","value":"eu-west"}]}`
		// Stored in plain text before a key file was configured.
		if _, err := m.CreateMonitor(ctx, ana, "pay", def); err != nil {
			t.Fatal(err)
		}
		raw := func() string {
			var d string
			if err := m.db.QueryRowContext(ctx, `SELECT definition FROM monitors WHERE name = 'pay'`).Scan(&d); err != nil {
				t.Fatal(err)
			}
			return d
		}
		box, keyFile := newBox(t)
		m.UseSecretBox(box)
		if n, err := m.SealMonitorSecrets(ctx); err != nil || n != 1 {
			t.Fatalf("migration: %d %v", n, err)
		}
		stored := raw()
		if strings.Contains(stored, "hunter2") || !strings.Contains(stored, SealedPrefix) || !strings.Contains(stored, "eu-west") {
			t.Fatalf("stored definition %s", stored)
		}
		if n, err := m.SealMonitorSecrets(ctx); err != nil || n != 0 {
			t.Errorf("second migration rewrote %d (%v)", n, err)
		}
		check := func(db *DB) {
			t.Helper()
			mon, err := db.GetMonitor(ctx, "pay")
			if err != nil {
				t.Fatal(err)
			}
			list, err := db.ListMonitors(ctx)
			if err != nil || len(list) != 1 {
				t.Fatalf("list: %v %v", list, err)
			}
			for _, d := range []string{mon.Definition, list[0].Definition} {
				if !strings.Contains(d, `"value":"hunter2-secret"`) || strings.Contains(d, SealedPrefix) {
					t.Errorf("read definition %s", d)
				}
			}
		}
		check(m)

		// An update seals too; a rotation reseals under the new key at the next migration.
		if _, err := m.UpdateMonitor(ctx, ana, "pay", def); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(raw(), "hunter2") {
			t.Fatal("update stored the secret in plain text")
		}
		if err := RotateKeyFile(keyFile); err != nil {
			t.Fatal(err)
		}
		rotated, err := LoadSecretBox(keyFile, "")
		if err != nil {
			t.Fatal(err)
		}
		m.UseSecretBox(rotated)
		if n, err := m.SealMonitorSecrets(ctx); err != nil || n != 1 {
			t.Fatalf("reseal after rotation: %d %v", n, err)
		}
		if !strings.Contains(raw(), SealedPrefix+rotated.keys[0].id+":") {
			t.Errorf("not resealed under the new key: %s", raw())
		}
		check(m)

		// Without the key the secret cannot be read, and the error says why.
		m.UseSecretBox(nil)
		if _, err := m.GetMonitor(ctx, "pay"); err == nil || !strings.Contains(err.Error(), "secrets_key_file") {
			t.Errorf("read without a key: %v", err)
		}
	})
}
