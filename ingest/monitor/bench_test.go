package monitor

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func BenchmarkParseMetrics(b *testing.B) {
	var sb strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&sb, "log line %d with some ordinary text in it\n", i)
		if i%20 == 0 {
			fmt.Fprintf(&sb, "METRIC m%d %d.5 ms\n", i, i)
		}
	}
	sb.WriteString(`{"metrics": {"a": 1, "b": {"value": 2, "unit": "s"}}}` + "\n")
	in := []byte(sb.String())
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := ParseMetrics(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAlertObserve(b *testing.B) {
	p := DefaultPolicy()
	var s AlertState
	at := time.Unix(1_800_000_000, 0)
	i := 0
	for b.Loop() {
		s.Observe(p, i%3 != 0, at)
		i++
	}
}

// BenchmarkRunPython measures a whole run of a trivial Python script:
// temp dir, gate, rlimits, process group, capture, cleanup.
func BenchmarkRunPython(b *testing.B) {
	d := Definition{Name: "bench", Language: Python, Source: "print('METRIC x 1')\n", Interval: time.Minute, Timeout: 30 * time.Second}
	m, err := d.Compile()
	if err != nil {
		b.Fatal(err)
	}
	r := &Runner{WorkRoot: b.TempDir(), CacheDir: b.TempDir(), Limits: DefaultLimits(), Logger: quiet}
	for b.Loop() {
		if res := r.Run(context.Background(), m); res.Outcome != OK {
			b.Fatalf("%s: %s", res.Outcome, res.Reason)
		}
	}
}

// BenchmarkRunGoCached measures a run of a compiled, cached Go script.
func BenchmarkRunGoCached(b *testing.B) {
	d := Definition{Name: "bench", Language: Go, Source: "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"METRIC x 1\") }\n", Interval: time.Minute, Timeout: 30 * time.Second}
	m, err := d.Compile()
	if err != nil {
		b.Fatal(err)
	}
	r := &Runner{WorkRoot: b.TempDir(), CacheDir: b.TempDir(), Limits: DefaultLimits(), Logger: quiet}
	if res := r.Run(context.Background(), m); res.Outcome != OK {
		b.Fatalf("%s: %s", res.Outcome, res.Reason)
	}
	for b.Loop() {
		if res := r.Run(context.Background(), m); res.Outcome != OK {
			b.Fatalf("%s: %s", res.Outcome, res.Reason)
		}
	}
}
