package push

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// BenchmarkGraphiteExisting: one Graphite plaintext connection per op
// carrying 1,000 existing series × 60 points (time-major, as collectors
// send), over loopback into a writer with serve's configuration and a
// real store (default template); an op ends at the server's clean close,
// that is once every point is durable.
func BenchmarkGraphiteExisting(b *testing.B) {
	db := openStore(b)
	w, err := NewWriter(db, WriterConfig{})
	if err != nil {
		b.Fatal(err)
	}
	g, err := ListenGraphite("127.0.0.1:0", w, GraphiteConfig{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- g.Serve(ctx) }()
	defer func() { cancel(); <-served }()
	const series, points = 1000, 60
	sec := int64(base)
	stream := func() string {
		var s strings.Builder
		for p := range points {
			for k := range series {
				fmt.Fprintf(&s, "bench.host%d.cpu %d.5 %d\n", k, (k+p)%100, sec+int64(p)*60)
			}
		}
		sec += points * 60
		return s.String()
	}
	send := func(body string) {
		c, err := net.Dial("tcp", g.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, body); err != nil {
			b.Fatal(err)
		}
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(5 * time.Minute))
		if _, err := io.Copy(io.Discard, c); err != nil {
			b.Fatalf("not acknowledged: %v", err)
		}
	}
	send(stream()) // creates the series
	n := 0
	for b.Loop() {
		b.StopTimer()
		body := stream()
		b.StartTimer()
		send(body)
		n += series * points
	}
	if st := g.Stats(); st.Late+st.Refused+st.Bad > 0 {
		b.Fatalf("%+v", st)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "points/s")
}
