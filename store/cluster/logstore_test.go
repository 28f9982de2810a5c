package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"rrdash/store"
)

// memLog is a cluster log in memory: what Append was given, or failing.
type memLog struct {
	mu      sync.Mutex
	entries []Entry
	fail    error
}

func (l *memLog) Append(_ context.Context, es []Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return l.fail
	}
	l.entries = append(l.entries, es...)
	return nil
}

// TestLogStoreApply: updates go to the log grouped by series in order,
// with the series' definition; what the log cannot carry or the
// definition refuses is refused by index; nothing reaches the local store;
// a failing log fails the whole batch; positions stay local.
func TestLogStoreApply(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	lg := &memLog{}
	ls := NewLogStore(db, lg)
	spec := store.DefaultTemplate()
	spec.Start = 1_700_000_000
	if created, err := ls.EnsureWithMeta("a", spec, map[string]string{"units": "s"}); err != nil || !created {
		t.Fatalf("ensure: %v %v", created, err)
	}
	if created, err := ls.Ensure("a", spec); err != nil || created {
		t.Fatalf("second ensure: %v %v", created, err)
	}
	if _, err := ls.Ensure("bad", store.Spec{Step: 60}); err == nil {
		t.Fatal("a definition without data sources was taken")
	}
	res, err := ls.Apply(ctx, store.Batch{Updates: []store.Update{
		{Series: "a", Time: spec.Start + 60, Values: []string{"1"}},
		{Series: "unknown", Time: spec.Start + 60, Values: []string{"1"}},
		{Series: "a", Time: spec.Start + 120, Values: []string{"1", "2"}},
		{Series: "a", Time: spec.Start + 180, Usec: 1e6, Values: []string{"1"}},
		{Series: "a", Time: spec.Start + 240, Values: []string{"4"}},
	}, Positions: map[string][]byte{"tracelog:x": []byte("42")}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied != 2 || len(res.Errors) != 3 || res.Errors[0].Index != 1 || !errors.Is(res.Errors[0].Err, store.ErrNotFound) ||
		res.Errors[1].Index != 2 || res.Errors[2].Index != 3 {
		t.Fatalf("result %+v", res)
	}
	if len(lg.entries) != 1 || lg.entries[0].Series != "a" || len(lg.entries[0].Updates) != 2 || lg.entries[0].Meta["units"] != "s" ||
		lg.entries[0].Updates[1].Values[0] != "4" {
		t.Fatalf("log got %+v", lg.entries)
	}
	if _, err := db.Spec("a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the local store has the series: %v", err)
	}
	if string(ls.Position("tracelog:x")) != "42" {
		t.Fatal("the source position was not kept locally")
	}
	res, err = ls.Apply(ctx, store.Batch{StopOnError: true, Updates: []store.Update{
		{Series: "unknown", Time: spec.Start + 300, Values: []string{"1"}},
		{Series: "a", Time: spec.Start + 300, Values: []string{"5"}},
	}})
	if err != nil || res.Applied != 0 || len(res.Errors) != 1 {
		t.Fatalf("stop on error: %+v %v", res, err)
	}
	lg.fail = errors.New("stream gone")
	if _, err := ls.Apply(ctx, store.Batch{Updates: []store.Update{{Series: "a", Time: spec.Start + 360, Values: []string{"6"}}}}); err == nil {
		t.Fatal("a batch the log refused was acknowledged")
	}
	for _, err := range []error{ls.Delete("a"), ls.Rename("a", "b"), ls.ImportRRD(nil, "a", false), ls.Create("a", spec, true)} {
		if !errors.Is(err, ErrNotReplicated) {
			t.Fatalf("got %v, want ErrNotReplicated", err)
		}
	}
}

// TestPeerServerRefuses: no secret, a wrong one, or a shard this node
// does not serve now: no answer from the local store.
func TestPeerServerRefuses(t *testing.T) {
	t.Parallel()
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	router := splitRouter(t, 2)
	ps := &PeerServer{Local: db, Topo: staticTopo{&View{Router: router}}, Secret: benchSecret,
		Serving: func(s string) bool { return s == "s0" }}
	srv := httptest.NewServer(ps)
	defer srv.Close()
	for _, tc := range []struct {
		name, secret, shards string
		want                 int
	}{
		{"no secret", "", "s0", http.StatusForbidden},
		{"wrong secret", "nope", "s0", http.StatusForbidden},
		{"not serving", benchSecret, "s1", http.StatusServiceUnavailable},
		{"one of two not serving", benchSecret, "s0,s1", http.StatusServiceUnavailable},
		{"serving", benchSecret, "s0", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+PeerPrefix+"list?"+url.Values{"shards": {tc.shards}}.Encode(), nil)
			if tc.secret != "" {
				req.Header.Set(secretHeader, tc.secret)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	// A routed read whose only holder does not serve: ErrUnavailable (503).
	rs := NewRoutedStore(RoutedConfig{Local: db, Self: Node{ID: "me"}, Secret: benchSecret, Serving: func(string) bool { return false },
		Topo: staticTopo{&View{Router: router, Groups: []Group{{Name: "a", Owners: map[string]Node{"s0": {ID: "p", URL: srv.URL}, "s1": {ID: "p", URL: srv.URL}}}}}}})
	var name string
	for i := 0; ; i++ {
		if name = fmt.Sprintf("x%d", i); router.Shard(name) == "s1" {
			break
		}
	}
	if _, err := rs.Fetch(name, store.FetchRequest{CF: store.Average, Start: 0, End: 60}); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "s1") {
		t.Fatalf("got %v, want ErrUnavailable naming shard s1", err)
	}
	if _, err := rs.List(""); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("list: got %v, want ErrUnavailable", err)
	}
}

func FuzzReadSnapshot(f *testing.F) {
	var b strings.Builder
	if err := WriteSnapshot(&b, &ShardSnapshot{Shard: "s0", Position: "12"}); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(b.String()))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ReadSnapshot(strings.NewReader(string(data))) // an error, never a panic
	})
}
