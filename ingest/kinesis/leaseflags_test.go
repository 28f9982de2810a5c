package kinesis

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rrdash/ingest/kinesis/dynamotest"
	"rrdash/ingest/kinesis/kinesistest"
)

func TestParseArgsLeaseFlags(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		ok   func(Config) bool
		err  string
	}{
		{[]string{"--stream", "s"}, func(c Config) bool { return c.Leases.Table == "" }, ""},
		{[]string{"--stream", "s", "--lease-table", "rrdash-a", "--dynamodb-endpoint", "http://127.0.0.1:8000", "--worker-id", "n1", "--lease-duration", "3s"},
			func(c Config) bool {
				return c.Leases == LeaseConfig{Table: "rrdash-a", Endpoint: "http://127.0.0.1:8000", Worker: "n1", Duration: 3 * time.Second}
			}, ""},
		{[]string{"--stream", "s", "--lease-table", "rrdash-a"}, func(c Config) bool {
			return strings.HasSuffix(c.Leases.Worker, ":/data/dir") && c.Leases.Duration == 10*time.Second
		}, ""},
		{[]string{"--stream", "s", "--worker-id", "n1"}, nil, "--worker-id need --lease-table"},
		{[]string{"--stream", "s", "--lease-duration", "5s", "--dynamodb-endpoint", "http://x"}, nil, "need --lease-table"},
	} {
		c, err := ParseArgs(tt.args, "/data/dir", io.Discard)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%v: %v, want %q", tt.args, err, tt.err)
			}
			continue
		}
		if err != nil || !tt.ok(c) {
			t.Errorf("%v: %+v, %v", tt.args, c.Leases, err)
		}
	}
}

// TestRunCommandWithLeaseTable: `rrdash ingest kinesis --lease-table`
// creates the table, makes a lease per shard, holds them all as the only
// consumer, and releases them when it stops cleanly.
func TestRunCommandWithLeaseTable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dyn := dynamotest.Start(t)
	ep := kinesistest.Start(t)
	kinesistest.CreateStream(ctx, t, NewClient(Config{Endpoint: ep, Region: "us-east-1"}), "cmd", 2)
	st := newRRDStore()
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	args := []string{"--stream", "cmd", "--endpoint", ep, "--lease-table", "rrdash-cmd", "--dynamodb-endpoint", dyn,
		"--worker-id", "only", "--lease-duration", "600ms", "--list-interval", "100ms", "--poll", "20ms",
		"--dead-letter", filepath.Join(t.TempDir(), "dead.jsonl")}
	go func() { done <- RunCommand(rctx, st, st.lookup, t.TempDir(), args, io.Discard, io.Discard) }()
	l, err := NewDynamoLeaser(dynamotest.Client(dyn), DynamoConfig{Table: "rrdash-cmd", Worker: "observer"})
	if err != nil {
		t.Fatal(err)
	}
	owners := func() map[string]string {
		items, err := l.Leases(ctx)
		if err != nil {
			return nil // the table may not exist yet
		}
		out := map[string]string{}
		for _, it := range items {
			out[it.Shard] = it.Owner
		}
		return out
	}
	for {
		o := owners()
		if len(o) == 2 && o["shardId-000000000000"] == "only" && o["shardId-000000000001"] == "only" {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("ingest stopped: %v", err)
		case <-ctx.Done():
			t.Fatalf("leases %v", o)
		case <-time.After(50 * time.Millisecond):
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if o := owners(); o["shardId-000000000000"] != "" || o["shardId-000000000001"] != "" {
		t.Errorf("after a clean stop the leases are %v, want released", o)
	}
}
