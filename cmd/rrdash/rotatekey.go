package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"rrdash/store/meta"
	"rrdash/ui"
)

const rotateKeyUsage = `Usage: rrdash [--data DIR] rotate-key [--config FILE] [--key-file PATH] [--drop-old]

Rotates the key that seals monitor secrets in metadata.db ([monitors]
secrets_key_file, or --key-file): a fresh random key goes first in the key
file (written to a temporary file, synced, renamed), the older keys stay
after it, and every stored secret is resealed under the new key. A running
serve notices the changed file at its next seal or open: nothing to restart.

--drop-old, run afterwards, reseals what is left under an older key and
then removes every key but the first from the file; it refuses while any
value is still sealed under an older key (or cannot be opened).

Crash-safe at every step: the key file is replaced whole, and a value is
resealed in one database update while both keys are in the file. Run the
command again after a crash.
`

func runRotateKey(ctx context.Context, dir string, args []string, stdout io.Writer) error {
	opts, pos, err := options(args, map[string]string{"--config": "config", "--key-file": "key", "--data": "data"},
		map[string]string{"--drop-old": "drop", "--help": "help", "-h": "help"})
	if err != nil {
		return err
	}
	if opts["help"] != "" {
		fmt.Fprint(stdout, rotateKeyUsage)
		return nil
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("rotate-key takes no arguments (got %q)", pos)}
	}
	cfgPath := orDefault(opts["config"], os.Getenv("RRDASH_CONFIG"))
	cfg, err := ui.LoadServeConfig(cfgPath, os.Getenv)
	if err != nil {
		return fmt.Errorf("rotate-key: %w", err)
	}
	keyFile := orDefault(opts["key"], cfg.Monitors.SecretsKeyFile)
	if keyFile == "" {
		return usageError{"rotate-key: no key file: give --key-file or set [monitors] secrets_key_file in --config"}
	}
	dir = orDefault(opts["data"], dir)
	if dir == "" {
		dir = orDefault(os.Getenv("RRDASH_DATA"), cfg.Data)
	}
	lines, err := rotateKey(ctx, dataDirOr(dir), keyFile, opts["drop"] != "")
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	if err != nil {
		return fmt.Errorf("rotate-key: %w", err)
	}
	return nil
}

// rotateKey rotates (or, with drop, retires the older keys of) the key
// file and reseals the monitor secrets of dir's metadata.db.
func rotateKey(ctx context.Context, dir, keyFile string, drop bool) ([]string, error) {
	mp := filepath.Join(dir, "metadata.db")
	if _, err := os.Stat(mp); err != nil {
		return nil, fmt.Errorf("metadata database: %w", err)
	}
	var out []string
	if !drop {
		if err := meta.RotateKeyFile(keyFile); err != nil {
			return nil, err
		}
	}
	box, err := meta.LoadSecretBox(keyFile, dir)
	if err != nil {
		return nil, err
	}
	ids, _ := box.KeyIDs()
	if !drop {
		out = append(out, fmt.Sprintf("key file %s: new key %s first, %d older kept", keyFile, ids[0], len(ids)-1))
	}
	md, err := meta.Open(ctx, mp)
	if err != nil {
		return out, err
	}
	defer md.Close()
	md.UseSecretBox(box)
	n, err := md.SealMonitorSecrets(ctx)
	if err != nil {
		return out, fmt.Errorf("resealing: %w (the key file keeps every key; run again)", err)
	}
	out = append(out, fmt.Sprintf("resealed the secrets of %d monitors under key %s", n, ids[0]))
	use, err := md.KeyUse(ctx)
	if err != nil {
		return out, err
	}
	out = append(out, "secret values by key: "+useLine(use))
	if !drop {
		if len(ids) > 1 {
			out = append(out, "the older keys stay in the file; once every server has run with the new key, run rotate-key --drop-old")
		}
		return out, nil
	}
	for id, k := range use {
		if id != ids[0] && k > 0 {
			return out, fmt.Errorf("%d values are not sealed under the current key %s (%s): the older keys are kept", k, ids[0], id)
		}
	}
	if len(ids) == 1 {
		return append(out, "the key file holds one key: nothing to drop"), nil
	}
	if err := meta.DropOldKeys(keyFile, ids[0]); err != nil {
		return out, err
	}
	return append(out, fmt.Sprintf("dropped %d older keys from %s", len(ids)-1, keyFile)), nil
}

func useLine(use map[string]int) string {
	if len(use) == 0 {
		return "none stored"
	}
	keys := make([]string, 0, len(use))
	for k := range use {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, use[k])
	}
	return strings.Join(parts, ", ")
}
