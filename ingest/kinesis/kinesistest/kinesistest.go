// Package kinesistest starts a real Kinesis-compatible server (kinesalite,
// installed by make into tools/kinesalite) for tests, on 127.0.0.1.
package kinesistest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"rrdash/ingest/kinesis/kds"
	"rrdash/tools/testdeps"
)

// Start starts tools/kinesalite/start.js on a free 127.0.0.1 port
// and returns its endpoint; it stops with the test.
func Start(t testing.TB) string {
	t.Helper()
	return testdeps.NodeServer(t, "kinesalite")
}

// CreateStream creates a stream and waits until it is ACTIVE.
func CreateStream(ctx context.Context, t testing.TB, c *kds.Client, name string, shards int32) {
	t.Helper()
	if err := c.CreateStream(ctx, &kds.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(shards)}); err != nil {
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
			var nf *kds.ResourceNotFoundException
			if !errors.As(err, &nf) {
				t.Fatalf("DescribeStreamSummary: %v", err)
			}
		} else if out.StreamDescriptionSummary.StreamStatus == kds.StreamStatusActive {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s not active after 30 s", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
