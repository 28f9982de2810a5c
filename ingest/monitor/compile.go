package monitor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// buildTimeout bounds one `go build` of a monitor script.
const buildTimeout = 5 * time.Minute

// compile returns the path of the binary built from a Go script, building it
// at most once per source version: binaries are cached in CacheDir by the
// sha256 of the source, and concurrent runs of one version share a build.
func (r *Runner) compile(ctx context.Context, src string) (string, error) {
	if r.CacheDir == "" {
		return "", errors.New("go script: the runner has no cache directory for compiled scripts")
	}
	hash := sourceHash(src)
	bin := filepath.Join(r.CacheDir, "go-"+hash)
	r.mu.Lock()
	if err, ok := r.buildErr[hash]; ok {
		r.mu.Unlock()
		return "", err
	}
	if b, ok := r.builds[hash]; ok {
		r.mu.Unlock()
		select {
		case <-b.done:
			return b.path, b.err
		case <-ctx.Done():
			return "", fmt.Errorf("waiting for the build of go script %.12s: %w", hash, ctx.Err())
		}
	}
	b := &buildState{done: make(chan struct{})}
	if r.builds == nil {
		r.builds = map[string]*buildState{}
	}
	r.builds[hash] = b
	r.mu.Unlock()

	b.path, b.err = r.build(ctx, src, hash, bin)
	r.mu.Lock()
	switch {
	case b.err == nil:
	case errors.Is(b.err, errCompile):
		if r.buildErr == nil {
			r.buildErr = map[string]error{}
		}
		r.buildErr[hash] = b.err
		delete(r.builds, hash)
	default: // transient (cancelled, disk): try again next run
		delete(r.builds, hash)
	}
	r.mu.Unlock()
	close(b.done)
	return b.path, b.err
}

var errCompile = errors.New("go script does not compile")

func (r *Runner) build(ctx context.Context, src, hash, bin string) (string, error) {
	if _, err := os.Stat(bin); err == nil {
		return bin, nil // built by an earlier process
	}
	if err := os.MkdirAll(r.CacheDir, 0o700); err != nil {
		return "", fmt.Errorf("go script cache: %w", err)
	}
	dir, err := os.MkdirTemp(r.CacheDir, "build-")
	if err != nil {
		return "", fmt.Errorf("go script build dir: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o600); err != nil {
		return "", fmt.Errorf("go script build: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module monitorscript\n\ngo 1.22\n"), 0o600); err != nil {
		return "", fmt.Errorf("go script build: %w", err)
	}
	tool := r.GoTool
	if tool == "" {
		tool = "go"
	}
	bctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	tmp := filepath.Join(dir, "bin")
	cmd := exec.CommandContext(bctx, tool, "build", "-trimpath", "-o", tmp, ".")
	cmd.Dir = dir
	// GOFLAGS=-mod=mod would let a script pull modules; scripts use the standard library.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly", "CGO_ENABLED=0", "GOTOOLCHAIN=local")
	out := &tailBuffer{limit: 8 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		if bctx.Err() != nil {
			return "", fmt.Errorf("go build of script %.12s: %w", hash, bctx.Err())
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("%w: %s", errCompile, out.String())
		}
		return "", fmt.Errorf("go build of script %.12s: %w", hash, err)
	}
	// Rename is atomic, so another process never runs a half-written binary.
	if err := os.Rename(tmp, bin); err != nil {
		return "", fmt.Errorf("go script cache: %w", err)
	}
	return bin, nil
}
