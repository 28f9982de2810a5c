package kinesis

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

func TestDeadLetterFileTornTailAndScan(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "dl.jsonl")
	d, err := openDeadLetters(path)
	if err != nil {
		t.Fatal(err)
	}
	first := []DeadLetter{{Reason: ReasonNotJSON, Shard: "s1", Seq: "1", Data: "x"}, {Reason: ReasonLate, Shard: "s1", Seq: "2", Item: 3, DataBase64: []byte{0xff}}}
	if err := d.Append(first); err != nil {
		t.Fatal(err)
	}
	mid := d.Size()
	if err := d.Append([]DeadLetter{{Reason: ReasonBadValue, Shard: "s2", Seq: "9"}}); err != nil {
		t.Fatal(err)
	}
	full := d.Size()
	d.Close()
	// A crash mid-write leaves a torn line.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"reason":"late","sha`)
	f.Close()

	d, err = openDeadLetters(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Size() != full {
		t.Fatalf("size after reopen %d, want %d (torn line cut)", d.Size(), full)
	}
	log := slog.New(slog.DiscardHandler)
	tests := []struct {
		from int64
		want []dlKey
	}{
		{0, []dlKey{{"s1", "1", 0, 0}, {"s1", "2", 0, 3}, {"s2", "9", 0, 0}}},
		{mid, []dlKey{{"s2", "9", 0, 0}}},
		{full, nil},
		{full + 100, []dlKey{{"s1", "1", 0, 0}, {"s1", "2", 0, 3}, {"s2", "9", 0, 0}}}, // offset past the end: read all
	}
	for _, tc := range tests {
		seen := map[dlKey]bool{}
		_, err := d.Scan(tc.from, log, func(dl *DeadLetter, _ int64) { seen[dl.key()] = true })
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) != len(tc.want) {
			t.Errorf("scan from %d: %v, want %v", tc.from, seen, tc.want)
		}
		for _, k := range tc.want {
			if !seen[k] {
				t.Errorf("scan from %d: missing %v", tc.from, k)
			}
		}
	}
	if err := d.Append([]DeadLetter{{Reason: ReasonLate, Shard: "s3", Seq: "1"}}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if b[len(b)-1] != '\n' || int64(len(b)) != d.Size() {
		t.Fatalf("file %q does not end in whole lines of size %d", b, d.Size())
	}
}
