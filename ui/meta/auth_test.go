package meta

import (
	"context"
	"errors"
	"testing"
	"time"

	"rrdash/auth"
)

func TestSessionStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, _ := openTest(t)
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
}

func TestPendingLoginTakenOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, _ := openTest(t)
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
}

func TestAPITokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, _ := openTest(t)
	alice, _ := m.EnsureUser(ctx, User{Handle: "alice", Issuer: "i", Subject: "a"})
	bob, _ := m.EnsureUser(ctx, User{Handle: "bob", Issuer: "i", Subject: "b"})
	tok, hash := auth.NewAPIToken()
	at, err := m.CreateAPIToken(ctx, alice, "push", hash)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateAPIToken(ctx, bob, "dup", hash); err == nil {
		t.Error("a duplicate token hash was accepted")
	}
	if u, err := m.UserByAPIToken(ctx, auth.HashID(tok)); err != nil || u.ID != alice.ID {
		t.Fatalf("UserByAPIToken = %+v, %v", u, err)
	}
	if _, err := m.UserByAPIToken(ctx, tok); !errors.Is(err, ErrNotFound) {
		t.Errorf("the plain token found a user: %v", err)
	}
	list, err := m.APITokens(ctx, alice)
	if err != nil || len(list) != 1 || list[0].Name != "push" || list[0].LastUsed.Unix() <= 0 {
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
	if _, err := m.UserByAPIToken(ctx, hash); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoked token still works: %v", err)
	}
}
