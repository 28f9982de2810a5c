// Package kinesistest starts a real Kinesis-compatible server (kinesalite,
// installed by make into tools/kinesalite) for tests, on 127.0.0.1.
package kinesistest

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	kds "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// repoRoot is the module root, three levels above this file.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// need skips the test, or fails it when CI=true: CI must run it.
func need(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and "+format, args...)
	}
	t.Skipf(format, args...)
}

// Start starts tools/kinesalite/start.js on a free 127.0.0.1 port
// and returns its endpoint; it stops with the test.
func Start(t testing.TB) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		need(t, "node is not installed: %v", err)
	}
	dir := filepath.Join(repoRoot(), "tools", "kinesalite")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "kinesalite", "package.json")); err != nil {
		need(t, "kinesalite is not installed (run: npm ci --prefix tools/kinesalite): %v", err)
	}
	cmd := exec.Command(node, "start.js", "--port", "0")
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe() // kinesalite stops when it closes
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start kinesalite: %v", err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if ep, ok := strings.CutPrefix(sc.Text(), "kinesalite ready "); ok {
				ready <- ep
			}
		}
		close(ready)
	}()
	select {
	case ep, ok := <-ready:
		if !ok {
			t.Fatal("kinesalite exited before it was ready")
		}
		return ep
	case <-time.After(30 * time.Second):
		t.Fatal("kinesalite not ready after 30 s")
	}
	return ""
}

// CreateStream creates a stream and waits until it is ACTIVE.
func CreateStream(ctx context.Context, t testing.TB, c *kds.Client, name string, shards int32) {
	t.Helper()
	if _, err := c.CreateStream(ctx, &kds.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(shards)}); err != nil {
		t.Fatalf("CreateStream: %v", err)
	}
	WaitActive(ctx, t, c, name)
}

// WaitActive waits until stream name is ACTIVE.
func WaitActive(ctx context.Context, t testing.TB, c *kds.Client, name string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := c.DescribeStreamSummary(ctx, &kds.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err != nil {
			var nf *types.ResourceNotFoundException
			if !errors.As(err, &nf) {
				t.Fatalf("DescribeStreamSummary: %v", err)
			}
		} else if out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s not active after 30 s", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
