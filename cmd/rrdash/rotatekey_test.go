package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rrdash/store/meta"
)

// TestRotateKey: rotate-key puts a new key first and reseals every secret
// under it while a second handle on the database (a running server) keeps
// opening and sealing through its own box; --drop-old then leaves one key.
// A crash between the key file and the reseal (the file rotated, nothing
// resealed) is finished by running again; a value no key opens makes
// --drop-old refuse and keep the file.
func TestRotateKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	data := t.TempDir()
	keyFile := filepath.Join(t.TempDir(), "secrets.key")
	if err := meta.RotateKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	srvBox, err := meta.LoadSecretBox(keyFile, data)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := meta.Open(ctx, filepath.Join(data, "metadata.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.UseSecretBox(srvBox)
	ana, err := srv.EnsureUser(ctx, meta.User{Handle: "ana", Issuer: "t", Subject: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pay", "ship"} {
		def := `{"name":"` + name + `","interval":"1m","env":[{"name":"TOKEN","value":"s3cret-` + name + `","secret":true}]}`
		if _, err := srv.CreateMonitor(ctx, ana, name, def); err != nil {
			t.Fatal(err)
		}
	}
	oldIDs, _ := srvBox.KeyIDs()
	rotate := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, append([]string{"--data", data, "rotate-key", "--key-file", keyFile}, args...), nil, &out, &out)
		return out.String(), err
	}
	opens := func() {
		t.Helper()
		for _, name := range []string{"pay", "ship"} {
			m, err := srv.GetMonitor(ctx, name)
			if err != nil || !strings.Contains(m.Definition, "s3cret-"+name) {
				t.Fatalf("the server's handle opens %s: %v %q", name, err, m.Definition)
			}
		}
	}

	out, err := rotate()
	if err != nil {
		t.Fatalf("rotate-key: %v\n%s", err, out)
	}
	ids, _ := srvBox.KeyIDs() // the server's box follows the file
	if len(ids) != 2 || ids[1] != oldIDs[0] || !strings.Contains(out, "resealed the secrets of 2 monitors under key "+ids[0]) ||
		!strings.Contains(out, "secret values by key: "+ids[0]+" 2") {
		t.Fatalf("after rotate-key: keys %v\n%s", ids, out)
	}
	opens()
	// the server seals an edit under the new key
	if _, err := srv.UpdateMonitor(ctx, ana, "pay", `{"name":"pay","interval":"1m","env":[{"name":"TOKEN","value":"s3cret-pay","secret":true}]}`); err != nil {
		t.Fatal(err)
	}
	if use, _ := srv.KeyUse(ctx); use[ids[0]] != 2 || len(use) != 1 {
		t.Errorf("key use after the server's edit: %v", use)
	}

	// a crash after the key file was rotated, before any reseal
	if err := meta.RotateKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	out, err = rotate("--drop-old")
	if err != nil {
		t.Fatalf("rotate-key --drop-old: %v\n%s", err, out)
	}
	ids, _ = srvBox.KeyIDs()
	if len(ids) != 1 || !strings.Contains(out, "dropped 2 older keys") {
		t.Fatalf("after --drop-old: keys %v\n%s", ids, out)
	}
	opens()
	if b, _ := os.ReadFile(keyFile); strings.Count(strings.TrimSpace(string(b)), "\n") != 0 {
		t.Errorf("key file after --drop-old:\n%s", b)
	}

	// a value sealed under a key no longer in the file: --drop-old refuses
	if err := meta.RotateKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	stray := `{"name":"x","interval":"1m","env":[{"name":"T","value":"` + meta.SealedPrefix + `0badc0de:AAAA","secret":true}]}`
	if _, err := srv.CreateMonitor(ctx, ana, "x", "{}"); err != nil {
		t.Fatal(err)
	}
	if err := rawSetDefinition(ctx, data, "x", stray); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(keyFile)
	if out, err := rotate("--drop-old"); err == nil || !strings.Contains(err.Error(), "0badc0de") {
		t.Errorf("--drop-old with a stray value: %v\n%s", err, out)
	}
	if after, _ := os.ReadFile(keyFile); !bytes.Equal(before, after) {
		t.Error("a refused --drop-old changed the key file")
	}
}

// rawSetDefinition stores a definition as it is, without sealing (a
// handle without a box).
func rawSetDefinition(ctx context.Context, data, name, def string) error {
	md, err := meta.Open(ctx, filepath.Join(data, "metadata.db"))
	if err != nil {
		return err
	}
	defer md.Close()
	u, err := md.UserByHandle(ctx, "ana")
	if err != nil {
		return err
	}
	_, err = md.UpdateMonitor(ctx, u, name, def)
	return err
}
