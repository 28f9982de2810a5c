package kinesis

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

// TestConsumerSaysItReadsTheWholeStream: until consumers coordinate, each
// one reads every shard, and says so when it starts (issue 23, item 5).
func TestConsumerSaysItReadsTheWholeStream(t *testing.T) {
	t.Parallel()
	var logBuf bytes.Buffer
	db := newRRDStore()
	cfg := Config{Stream: "metrics-a", Endpoint: "http://127.0.0.1:1", DeadLetterPath: filepath.Join(t.TempDir(), "dead.jsonl")}
	c, err := New(cfg, db, Options{Logger: slog.New(slog.NewTextHandler(&logBuf, nil)), Lookup: db.lookup})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the start is all this test needs
	if err := c.Run(ctx); err != nil {
		t.Fatal(err)
	}
	var line string
	for l := range strings.Lines(logBuf.String()) {
		if strings.Contains(l, "reads the whole stream") {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("no start line saying the consumer reads the whole stream in:\n%s", logBuf.String())
	}
	for _, want := range []string{"level=WARN", "stream=metrics-a", "every other consumer"} {
		if !strings.Contains(line, want) {
			t.Errorf("start line %q lacks %q", line, want)
		}
	}
}
