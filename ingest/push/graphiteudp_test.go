package push

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"rrdash/ingest/horizon"
)

// TestGraphiteUDP sends plaintext lines in datagrams (a bad line among
// them) and checks the points are stored in their slots.
func TestGraphiteUDP(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	w, err := NewWriter(db, WriterConfig{Template: exactTemplate(t), MaxDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	g, err := ListenGraphiteUDP("127.0.0.1:0", w, horizon.Horizon{}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- g.Serve(ctx) }()
	c, err := net.Dial("udp", g.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 20; i++ {
		fmt.Fprintf(c, "u.a %d %d\r\nu.b;z=1;a=2 %d %d\n", i, base+i, 2*i, base+i)
	}
	fmt.Fprintf(c, "not a line\n")
	for deadline := time.Now().Add(time.Minute); g.Stats().Points < 40 || g.Stats().Bad < 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", g.Stats())
		}
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	a, b := stored(t, db, "u.a", base-1, base+20), stored(t, db, "u.b;a=2;z=1", base-1, base+20)
	for i := 0; i < 20; i++ {
		if a[int64(base+i)] != float64(i) || b[int64(base+i)] != float64(2*i) {
			t.Fatalf("second %d: %v %v", i, a, b)
		}
	}
	if st := g.Stats(); st.Packets != 21 || st.Lines != 41 || st.Bad != 1 || st.Overload != 0 {
		t.Errorf("stats %+v", st)
	}
}
