package meta

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"rrdash/auth"
)

func TestSessionStore(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, where string) {
		ctx := context.Background()
		m := openTest(t, where)
		u, err := m.EnsureUser(ctx, User{Handle: "alice", Issuer: "https://idp", Subject: "a"})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := m.UserByID(ctx, u.ID); err != nil || got.Handle != "alice" {
			t.Fatalf("UserByID = %+v, %v", got, err)
		}
		if _, err := m.UserByID(ctx, 9999); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown user id: %v", err)
		}
		t0 := time.Unix(1_700_000_000, 0)
		s := auth.Session{ID: "h1", UserID: u.ID, CSRF: "c", IDToken: "idt", Created: t0, LastSeen: t0}
		if err := m.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		if err := m.CreateSession(ctx, s); err == nil {
			t.Error("a duplicate session id was accepted")
		}
		got, err := m.Session(ctx, "h1")
		if err != nil || got.UserID != u.ID || got.CSRF != "c" || got.IDToken != "idt" || !got.Created.Equal(t0) {
			t.Fatalf("Session = %+v, %v", got, err)
		}
		if err := m.TouchSession(ctx, "h1", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, _ := m.Session(ctx, "h1"); !got.LastSeen.Equal(t0.Add(time.Hour)) {
			t.Errorf("last seen %v after touch", got.LastSeen)
		}
		old := auth.Session{ID: "h2", UserID: u.ID, CSRF: "c", Created: t0.Add(-48 * time.Hour), LastSeen: t0}
		idle := auth.Session{ID: "h3", UserID: u.ID, CSRF: "c", Created: t0, LastSeen: t0.Add(-9 * time.Hour)}
		for _, x := range []auth.Session{old, idle} {
			if err := m.CreateSession(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.DeleteExpiredSessions(ctx, t0.Add(-8*time.Hour), t0.Add(-24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		for id, live := range map[string]bool{"h1": true, "h2": false, "h3": false} {
			if _, err := m.Session(ctx, id); (err == nil) != live {
				t.Errorf("session %s: %v, want live=%v", id, err, live)
			}
		}
		if err := m.DeleteSession(ctx, "h1"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Session(ctx, "h1"); !errors.Is(err, auth.ErrNoSession) {
			t.Errorf("deleted session: %v", err)
		}
	})
}

func TestPendingLoginTakenOnce(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, where string) {
		ctx := context.Background()
		m := openTest(t, where)
		t0 := time.Unix(1_700_000_000, 0)
		p := auth.Pending{State: "s", Nonce: "n", Verifier: "v", ReturnTo: "/g/x"}
		if err := m.PutLogin(ctx, "l1", p, t0); err != nil {
			t.Fatal(err)
		}
		if err := m.PutLogin(ctx, "stale", p, t0.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		// Putting a new one drops those older than auth.LoginTTL.
		if err := m.PutLogin(ctx, "l2", p, t0); err != nil {
			t.Fatal(err)
		}
		if _, _, err := m.TakeLogin(ctx, "stale"); !errors.Is(err, auth.ErrNoSession) {
			t.Errorf("stale pending login: %v", err)
		}
		got, created, err := m.TakeLogin(ctx, "l1")
		if err != nil || got != p || !created.Equal(t0) {
			t.Fatalf("TakeLogin = %+v %v %v", got, created, err)
		}
		if _, _, err := m.TakeLogin(ctx, "l1"); !errors.Is(err, auth.ErrNoSession) {
			t.Errorf("second TakeLogin: %v, want ErrNoSession", err)
		}
	})
}

func TestAPITokens(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, where string) {
		ctx := context.Background()
		m := openTest(t, where)
		alice, _ := m.EnsureUser(ctx, User{Handle: "alice", Issuer: "i", Subject: "a"})
		bob, _ := m.EnsureUser(ctx, User{Handle: "bob", Issuer: "i", Subject: "b"})
		tok, hash := auth.NewAPIToken()
		at, err := m.CreateAPIToken(ctx, alice, "push", hash, auth.ScopePush)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.CreateAPIToken(ctx, bob, "dup", hash, auth.ScopeRead); err == nil {
			t.Error("a duplicate token hash was accepted")
		}
		if _, err := m.CreateAPIToken(ctx, bob, "bad scope", "h2", "root"); err == nil || !strings.Contains(err.Error(), `"root"`) {
			t.Errorf("scope root: %v, want an error naming it", err)
		}
		if u, sc, err := m.UserByAPIToken(ctx, auth.HashID(tok)); err != nil || u.ID != alice.ID || sc != auth.ScopePush {
			t.Fatalf("UserByAPIToken = %+v, %q, %v", u, sc, err)
		}
		if _, _, err := m.UserByAPIToken(ctx, tok); !errors.Is(err, ErrNotFound) {
			t.Errorf("the plain token found a user: %v", err)
		}
		list, err := m.APITokens(ctx, alice)
		if err != nil || len(list) != 1 || list[0].Name != "push" || list[0].Scope != auth.ScopePush || list[0].LastUsed.Unix() <= 0 {
			t.Fatalf("APITokens = %+v, %v", list, err)
		}
		if l, _ := m.APITokens(ctx, bob); len(l) != 0 {
			t.Errorf("bob sees %d tokens", len(l))
		}
		if err := m.RevokeAPIToken(ctx, bob, at.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("bob revoked alice's token: %v", err)
		}
		if err := m.RevokeAPIToken(ctx, alice, at.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := m.UserByAPIToken(ctx, hash); !errors.Is(err, ErrNotFound) {
			t.Errorf("revoked token still works: %v", err)
		}
	})
}

// TestTokenScopeMigration opens a database as it was before token scopes
// (schema 4, one token): the token keeps its full access as admin, the
// migration says so once, and new tokens get the scope they are given.
func TestTokenScopeMigration(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, where string) {
		ctx := context.Background()
		db, d, err := openEngine(ctx, where)
		if err != nil {
			t.Fatal(err)
		}
		stmts := []string{`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`}
		for _, mig := range migrations[:scopesVersion-1] {
			if d.ddl != nil {
				mig = d.ddl(mig)
			}
			stmts = append(stmts, splitStatements(mig)...)
		}
		stmts = append(stmts, `INSERT INTO schema_migrations(version, applied_at) VALUES (1, 0), (2, 0), (3, 0), (4, 0)`,
			`INSERT INTO users(id, handle, issuer, subject, created_at) VALUES (1, 'alice', 'i', 'a', 0)`,
			`INSERT INTO api_tokens(user_id, name, hash, created_at) VALUES (1, 'old', 'oldhash', 0)`)
		for _, q := range stmts {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		db.Close()

		m, err := Open(ctx, where)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if n := m.Notices(); len(n) != 1 || !strings.Contains(n[0], "1 API token(s)") || !strings.Contains(n[0], "admin") {
			t.Errorf("notices = %q, want one about the old token", n)
		}
		u, sc, err := m.UserByAPIToken(ctx, "oldhash")
		if err != nil || u.Handle != "alice" || sc != auth.ScopeAdmin {
			t.Fatalf("old token = %+v, %q, %v; want alice with scope admin", u, sc, err)
		}
		if _, err := m.CreateAPIToken(ctx, u, "new", "newhash", auth.ScopePush); err != nil {
			t.Fatal(err)
		}
		if _, sc, err := m.UserByAPIToken(ctx, "newhash"); err != nil || sc != auth.ScopePush {
			t.Errorf("new token scope = %q, %v; want push", sc, err)
		}
		m.Close()
		again, err := Open(ctx, where)
		if err != nil {
			t.Fatal(err)
		}
		defer again.Close()
		if n := again.Notices(); len(n) != 0 {
			t.Errorf("reopening repeats the notice: %q", n)
		}
	})
}
