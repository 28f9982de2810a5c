package meta

import (
	"bufio"
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/crypto/chacha20poly1305"
)

// SealedPrefix starts a value sealed by a SecretBox; the key id follows.
const SealedPrefix = "rrdash-sealed:v1:"

// SecretBox seals monitor secret values with XChaCha20-Poly1305 (random
// 192-bit nonces, so no nonce bookkeeping) under keys read from a key file
// kept outside the data directory: a stolen metadata.db alone reveals
// nothing. The file holds one hex key per line; the first seals, all open,
// so a key is rotated by putting a new one first (see RotateKeyFile) and
// resealing.
//
// The box follows its file: when the file changes (another process —
// rrdash rotate-key — rotated it), the next Seal or Open reads it again,
// so a running server seals under the new key and opens values resealed
// under it without a restart.
type SecretBox struct {
	path, dataDir string

	mu    sync.Mutex
	keys  []boxKey  // keys[0] seals
	stamp fileStamp // the file the keys were read from
}

// fileStamp tells a changed key file (rotations replace it by rename).
type fileStamp struct {
	ino, size int64
	mtime     int64
}

func stampOf(fi os.FileInfo) fileStamp {
	st := fileStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino = int64(sys.Ino)
	}
	return st
}

type boxKey struct {
	id   string // first 8 hex digits of the key's SHA-256
	aead cipher.AEAD
}

// LoadSecretBox reads the key file at path. It refuses a file inside
// dataDir (a copy of the data directory would carry its key along) or one
// that group or others may read.
func LoadSecretBox(path, dataDir string) (*SecretBox, error) {
	keys, stamp, err := readKeyFile(path, dataDir)
	if err != nil {
		return nil, err
	}
	return &SecretBox{path: path, dataDir: dataDir, keys: keys, stamp: stamp}, nil
}

// current returns the keys, read again when the file changed. A file that
// changed and does not read is an error: sealing under a key the file may
// no longer hold would make values nobody can open.
func (b *SecretBox) current() ([]boxKey, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.path == "" {
		return b.keys, nil
	}
	fi, err := os.Stat(b.path)
	if err == nil && stampOf(fi) == b.stamp {
		return b.keys, nil
	}
	keys, stamp, err := readKeyFile(b.path, b.dataDir)
	if err != nil {
		return b.keys, err
	}
	b.keys, b.stamp = keys, stamp
	return keys, nil
}

// KeyIDs are the ids of the keys in the file, the sealing one first.
func (b *SecretBox) KeyIDs() ([]string, error) {
	keys, err := b.current()
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.id
	}
	return ids, err
}

func readKeyFile(path, dataDir string) ([]boxKey, fileStamp, error) {
	if err := outside(path, dataDir); err != nil {
		return nil, fileStamp{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("secrets key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("secrets key file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fileStamp{}, fmt.Errorf("secrets key file %s: mode %v lets others read it; chmod 600", path, fi.Mode().Perm())
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("secrets key file: %w", err)
	}
	box := &SecretBox{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		raw, err := hex.DecodeString(line)
		if err != nil || len(raw) != chacha20poly1305.KeySize {
			return nil, fileStamp{}, fmt.Errorf("secrets key file %s:%d: want %d hex digits (a 256-bit key)", path, n, 2*chacha20poly1305.KeySize)
		}
		aead, err := chacha20poly1305.NewX(raw)
		if err != nil {
			return nil, fileStamp{}, fmt.Errorf("secrets key file %s:%d: %w", path, n, err)
		}
		box.keys = append(box.keys, boxKey{id: keyID(raw), aead: aead})
	}
	if len(box.keys) == 0 {
		return nil, fileStamp{}, fmt.Errorf("secrets key file %s: no key", path)
	}
	return box.keys, stampOf(fi), nil
}

// keyID names a key: the first 8 hex digits of its SHA-256.
func keyID(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:4])
}

// outside refuses a key file in the data directory.
func outside(path, dataDir string) error {
	if dataDir == "" {
		return nil
	}
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			return filepath.Clean(p)
		}
		if r, err := filepath.EvalSymlinks(filepath.Dir(a)); err == nil {
			return filepath.Join(r, filepath.Base(a))
		}
		return a
	}
	p, d := abs(path), abs(dataDir)
	if rel, err := filepath.Rel(d, p); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
		return fmt.Errorf("secrets key file %s is inside the data directory %s; keep it elsewhere", path, dataDir)
	}
	return nil
}

// RotateKeyFile puts a fresh random key first in the key file at path,
// creating the file (mode 0600) if needed. Older keys stay to open values
// sealed under them until they are resealed.
func RotateKeyFile(path string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("secrets key file: %w", err)
	}
	k := make([]byte, chacha20poly1305.KeySize)
	if _, err := rand.Read(k); err != nil {
		return fmt.Errorf("secrets key: %w", err)
	}
	tmp := path + ".tmp"
	out := append([]byte(hex.EncodeToString(k)+"\n"), old...)
	if err := os.WriteFile(tmp, out, 0o600); err != nil {
		return fmt.Errorf("secrets key file: %w", err)
	}
	f, err := os.Open(tmp)
	if err == nil {
		err = f.Sync()
		f.Close()
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDirOf(path) // the rename itself survives a crash
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("secrets key file: %w", err)
	}
	return nil
}

// Seal encrypts plain under the first key. ad (the monitor and variable
// name) is authenticated, so a sealed value cannot be moved to another
// variable.
func (b *SecretBox) Seal(plain, ad string) (string, error) {
	keys, err := b.current()
	if err != nil {
		return "", fmt.Errorf("sealing a secret: %w", err)
	}
	k := keys[0]
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("sealing a secret: %w", err)
	}
	ct := k.aead.Seal(nonce, nonce, []byte(plain), []byte(ad))
	return SealedPrefix + k.id + ":" + base64.RawStdEncoding.EncodeToString(ct), nil
}

// IsSealed reports whether v is a sealed value.
func IsSealed(v string) bool { return strings.HasPrefix(v, SealedPrefix) }

// Current reports whether v is sealed under the first key (no resealing needed).
func (b *SecretBox) Current(v string) bool {
	keys, err := b.current()
	return err == nil && strings.HasPrefix(v, SealedPrefix+keys[0].id+":")
}

// Open decrypts a sealed value; ad must be the one it was sealed with.
func (b *SecretBox) Open(v, ad string) (string, error) {
	rest, ok := strings.CutPrefix(v, SealedPrefix)
	if !ok {
		return "", errors.New("secret value is not sealed")
	}
	id, data, ok := strings.Cut(rest, ":")
	if !ok {
		return "", errors.New("sealed secret: no key id")
	}
	keys, rerr := b.current()
	for _, k := range keys {
		if k.id != id {
			continue
		}
		ct, err := base64.RawStdEncoding.DecodeString(data)
		if err != nil || len(ct) < chacha20poly1305.NonceSizeX+k.aead.Overhead() {
			return "", fmt.Errorf("sealed secret under key %s: malformed", id)
		}
		plain, err := k.aead.Open(nil, ct[:chacha20poly1305.NonceSizeX], ct[chacha20poly1305.NonceSizeX:], []byte(ad))
		if err != nil {
			return "", fmt.Errorf("sealed secret under key %s: does not authenticate (altered, or sealed for another variable)", id)
		}
		return string(plain), nil
	}
	if rerr != nil {
		return "", fmt.Errorf("sealed secret under key %s: not among the keys last read (%v)", id, rerr)
	}
	return "", fmt.Errorf("sealed secret under key %s: that key is not in the key file", id)
}
