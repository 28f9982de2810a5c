package meta

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"rrdash/store/meta/pgtest"
)

// TestMain stops the PostgreSQL server the tests start.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// engines are the database engines every test runs against; new returns
// a fresh, empty location (a SQLite file or a PostgreSQL database URL).
var engines = []struct {
	name string
	new  func(t testing.TB) string
}{
	{"sqlite", func(t testing.TB) string { return filepath.Join(t.TempDir(), "meta.db") }},
	{"postgres", func(t testing.TB) string { return pgtest.Database(t) }},
}

// forEachEngine runs fn as a parallel subtest per engine.
func forEachEngine(t *testing.T, fn func(t *testing.T, where string)) {
	t.Helper()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			fn(t, e.new(t))
		})
	}
}

func openTest(t *testing.T, where string) *DB {
	t.Helper()
	m, err := Open(context.Background(), where)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestMigrationsIdempotent(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, where string) {
		ctx := context.Background()
		m := openTest(t, where)
		v, err := m.SchemaVersion(ctx)
		if err != nil || v != len(migrations) {
			t.Fatalf("version = %d, %v", v, err)
		}
		m.Close()
		m2, err := Open(ctx, where)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer m2.Close()
		if v, _ := m2.SchemaVersion(ctx); v != len(migrations) {
			t.Errorf("version after reopen = %d", v)
		}
		if _, err := m2.db.ExecContext(ctx, `INSERT INTO schema_migrations(version, applied_at) VALUES (99, 0)`); err != nil {
			t.Fatal(err)
		}
		m2.Close()
		if _, err := Open(ctx, where); err == nil {
			t.Error("opening a database from a newer rrdash succeeded")
		}
	})
}

func TestUsersAndGraphs(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, where string) {
		ctx := context.Background()
		m := openTest(t, where)
		clock := time.Unix(1_700_000_000, 0)
		m.now = func() time.Time { clock = clock.Add(time.Second); return clock }

		alice, err := m.EnsureUser(ctx, User{Handle: "alice", Issuer: "https://idp", Subject: "1", Name: "Alice"})
		if err != nil {
			t.Fatal(err)
		}
		again, err := m.EnsureUser(ctx, User{Handle: "alice", Issuer: "https://idp", Subject: "1", Name: "Alice B"})
		if err != nil || again.ID != alice.ID || again.Name != "Alice B" {
			t.Fatalf("EnsureUser again = %+v, %v", again, err)
		}
		other, err := m.EnsureUser(ctx, User{Handle: "alice", Issuer: "https://other", Subject: "1"})
		if err != nil || other.Handle != "alice2" {
			t.Fatalf("second alice = %+v, %v", other, err)
		}
		if _, err := m.EnsureUser(ctx, User{Handle: "x"}); err == nil {
			t.Error("user without issuer accepted")
		}

		hostile := `50% <script>_x_</script> '"; DROP TABLE graphs;--`
		g1, err := m.CreateGraph(ctx, alice, "first", `{"defs":[]}`)
		if err != nil {
			t.Fatal(err)
		}
		g2, err := m.CreateGraph(ctx, other, hostile, `{"defs":[]}`)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Graph(ctx, g2.ID)
		if err != nil || got.Title != hostile || got.Owner != "alice2" {
			t.Fatalf("Graph = %+v, %v", got, err)
		}
		all, err := m.ListGraphs(ctx, ListQuery{})
		if err != nil || len(all) != 2 || all[0].ID != g2.ID || all[1].ID != g1.ID {
			t.Fatalf("ListGraphs newest first = %+v, %v", all, err)
		}
		for _, tt := range []struct {
			q    ListQuery
			want int
		}{
			{ListQuery{Search: "50%"}, 1},
			{ListQuery{Search: "%"}, 1},
			{ListQuery{Search: "_x_"}, 1},
			{ListQuery{Search: "FIRST"}, 1},
			{ListQuery{Owner: "alice"}, 1},
			{ListQuery{Owner: "nobody"}, 0},
			{ListQuery{Limit: 1}, 1},
		} {
			gs, err := m.ListGraphs(ctx, tt.q)
			if err != nil || len(gs) != tt.want {
				t.Errorf("ListGraphs(%+v) = %d graphs, %v; want %d", tt.q, len(gs), err, tt.want)
			}
		}
		if _, err := m.UpdateGraph(ctx, other, g1.ID, "stolen", "{}"); !errors.Is(err, ErrForbidden) {
			t.Errorf("update by non-owner: %v", err)
		}
		if err := m.DeleteGraph(ctx, other, g1.ID); !errors.Is(err, ErrForbidden) {
			t.Errorf("delete by non-owner: %v", err)
		}
		up, err := m.UpdateGraph(ctx, alice, g1.ID, "renamed", `{"defs":[],"title":"renamed"}`)
		if err != nil || up.Title != "renamed" || !up.UpdatedAt.After(up.CreatedAt) {
			t.Errorf("update = %+v, %v", up, err)
		}
		if err := m.DeleteGraph(ctx, alice, g1.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Graph(ctx, g1.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted graph: %v", err)
		}
		if _, err := m.UserByHandle(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
			t.Errorf("UserByHandle(nobody): %v", err)
		}
	})
}
