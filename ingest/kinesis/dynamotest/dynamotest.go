// Package dynamotest starts a real DynamoDB-compatible server (dynalite,
// in memory, installed by make into tools/dynalite) for tests, on
// 127.0.0.1.
package dynamotest

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rrdash/tools/testdeps"
)

// repoRoot is the module root, three levels above this file.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// Start starts tools/dynalite/start.js on a free 127.0.0.1 port and
// returns its endpoint; it stops with the test.
func Start(t testing.TB) string {
	t.Helper()
	node := testdeps.Program(t, "node")
	dir := filepath.Join(repoRoot(), "tools", "dynalite")
	testdeps.File(t, "dynalite (make deps-test)", filepath.Join(dir, "node_modules", "dynalite", "package.json"))
	cmd := exec.Command(node, "start.js", "--port", "0")
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe() // dynalite stops when it closes
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dynalite: %v", err)
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
			if ep, ok := strings.CutPrefix(sc.Text(), "dynalite ready "); ok {
				ready <- ep
			}
		}
		close(ready)
	}()
	select {
	case ep, ok := <-ready:
		if !ok {
			t.Fatal("dynalite exited before it was ready")
		}
		return ep
	case <-time.After(30 * time.Second):
		t.Fatal("dynalite not ready after 30 s")
	}
	return ""
}

// Client returns a DynamoDB client of endpoint with test credentials.
func Client(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "rrdash", SecretAccessKey: "rrdash", Source: "rrdash test"}, nil
		}),
	})
}
