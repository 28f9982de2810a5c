package tracelog

import (
	"bytes"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time the process has used (all threads, GC included).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchLog is a generated syslog-ng file: six processes on three hosts, one
// hour, with D and custom records mixed in as real logs have them.
func benchLog(tb testing.TB) ([]byte, int) {
	tb.Helper()
	procs := []simProc{
		{host: "web1", prog: "zope", pid: 101, threads: 4, rate: 12},
		{host: "web1", prog: "zope2", pid: 102, threads: 4, rate: 10},
		{host: "web2", prog: "zope", pid: 201, threads: 2, rate: 6},
		{host: "web2", prog: "resumelb", pid: 202, threads: 8, rate: 20},
		{host: "web3.example.com", prog: "zope", pid: 301, threads: 1, rate: 2},
		{host: "web3.example.com", prog: "worker", pid: 302, threads: 2, rate: 4},
	}
	start := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC).UnixMicro()
	reqs := simulate(1, procs, start, start+3600e6)
	var buf bytes.Buffer
	n := 0
	for k, l := range simLines(reqs) {
		buf.WriteString(bsdLine(procs[l.proc], l))
		buf.WriteByte('\n')
		n++
		if k%50 == 0 {
			buf.WriteString(bsdLine(procs[l.proc], simLine{l.t, l.proc, "D 1.2 " + stamp(l.t) + " 12 0"}))
			buf.WriteByte('\n')
			n++
		}
	}
	return buf.Bytes(), n
}

// BenchmarkParseDerive measures parse + derive on one core, in lines per second.
func BenchmarkParseDerive(b *testing.B) {
	data, n := benchLog(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		d := NewDeriver(DeriverConfig{Step: 60, Grace: 10}, nil)
		f := &feeder{d: d, now: time.Now, future: 24 * time.Hour}
		f.begin()
		src := newSource(0, "bench.log", time.UTC, "", DefaultNaming, true)
		var off int64
		rest := data
		for len(rest) > 0 {
			i := bytes.IndexByte(rest, '\n')
			if err := f.line(src, off, rest[:i]); err != nil {
				b.Fatal(err)
			}
			off += int64(i + 1)
			rest = rest[i+1:]
		}
		d.Flush()
		if src.stats.Bad != 0 {
			b.Fatalf("%d bad lines", src.stats.Bad)
		}
		_ = d.Rows()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	// On a shared machine wall time includes waiting for a core; CPU time
	// does not: lines per CPU-second is the per-core figure.
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(n)*float64(b.N)/cpu.Seconds(), "lines/cpu-s")
	}
}

// BenchmarkParse measures the parser alone.
func BenchmarkParse(b *testing.B) {
	data, n := benchLog(b)
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	p := NewParser(time.UTC)
	var r Record
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, l := range lines {
			if err := p.Parse(l, &r); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
