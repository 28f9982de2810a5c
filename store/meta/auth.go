package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"rrdash/auth"
)

// DB implements auth.SessionStore.
var _ auth.SessionStore = (*DB)(nil)

// UserByID finds a user by id.
func (m *DB) UserByID(ctx context.Context, id int64) (User, error) {
	var u User
	err := m.db.QueryRowContext(ctx, `SELECT id, handle, issuer, subject, name, email FROM users WHERE id = ?`, id).
		Scan(&u.ID, &u.Handle, &u.Issuer, &u.Subject, &u.Name, &u.Email)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("user %d: %w", id, err)
	}
	return u, nil
}

// CreateSession stores a new session.
func (m *DB) CreateSession(ctx context.Context, s auth.Session) error {
	_, err := m.db.ExecContext(ctx, `INSERT INTO sessions(id, user_id, csrf, id_token, created_at, last_seen) VALUES (?, ?, ?, ?, ?, ?)`,
		s.ID, s.UserID, s.CSRF, s.IDToken, s.Created.Unix(), s.LastSeen.Unix())
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// Session returns a session by (hashed) id.
func (m *DB) Session(ctx context.Context, id string) (auth.Session, error) {
	s := auth.Session{ID: id}
	var c, l int64
	err := m.db.QueryRowContext(ctx, `SELECT user_id, csrf, id_token, created_at, last_seen FROM sessions WHERE id = ?`, id).
		Scan(&s.UserID, &s.CSRF, &s.IDToken, &c, &l)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.Session{}, auth.ErrNoSession
	}
	if err != nil {
		return auth.Session{}, fmt.Errorf("session: %w", err)
	}
	s.Created, s.LastSeen = time.Unix(c, 0), time.Unix(l, 0)
	return s, nil
}

// TouchSession records activity.
func (m *DB) TouchSession(ctx context.Context, id string, t time.Time) error {
	if _, err := m.db.ExecContext(ctx, `UPDATE sessions SET last_seen = ? WHERE id = ?`, t.Unix(), id); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// DeleteSession deletes one session.
func (m *DB) DeleteSession(ctx context.Context, id string) error {
	if _, err := m.db.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions deletes sessions last seen before idle or
// created before absolute.
func (m *DB) DeleteExpiredSessions(ctx context.Context, idle, absolute time.Time) error {
	if _, err := m.db.ExecContext(ctx, `DELETE FROM sessions WHERE last_seen < ? OR created_at < ?`, idle.Unix(), absolute.Unix()); err != nil {
		return fmt.Errorf("delete expired sessions: %w", err)
	}
	return nil
}

// PutLogin stores a pending login (replacing one with the same id) and
// drops pending logins older than auth.LoginTTL.
func (m *DB) PutLogin(ctx context.Context, id string, p auth.Pending, created time.Time) error {
	if _, err := m.db.ExecContext(ctx, `DELETE FROM login_states WHERE created_at < ?`, created.Add(-auth.LoginTTL).Unix()); err != nil {
		return fmt.Errorf("expire pending logins: %w", err)
	}
	_, err := m.db.ExecContext(ctx, `INSERT INTO login_states(id, state, nonce, verifier, return_to, created_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET state = excluded.state, nonce = excluded.nonce, verifier = excluded.verifier,
		return_to = excluded.return_to, created_at = excluded.created_at`,
		id, p.State, p.Nonce, p.Verifier, p.ReturnTo, created.Unix())
	if err != nil {
		return fmt.Errorf("save pending login: %w", err)
	}
	return nil
}

// TakeLogin returns and deletes a pending login.
func (m *DB) TakeLogin(ctx context.Context, id string) (auth.Pending, time.Time, error) {
	var p auth.Pending
	var c int64
	err := m.db.QueryRowContext(ctx, `DELETE FROM login_states WHERE id = ? RETURNING state, nonce, verifier, return_to, created_at`, id).
		Scan(&p.State, &p.Nonce, &p.Verifier, &p.ReturnTo, &c)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.Pending{}, time.Time{}, fmt.Errorf("no such login in progress: %w", auth.ErrNoSession)
	}
	if err != nil {
		return auth.Pending{}, time.Time{}, fmt.Errorf("pending login: %w", err)
	}
	return p, time.Unix(c, 0), nil
}

// APIToken is a personal API token's record (never the token itself).
type APIToken struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Scope     auth.Scope `json:"scope"`
	CreatedAt time.Time  `json:"created_at"`
	LastUsed  time.Time  `json:"last_used_at"`
}

// CreateAPIToken stores a token's hash and scope for user.
func (m *DB) CreateAPIToken(ctx context.Context, user User, name, hash string, scope auth.Scope) (APIToken, error) {
	if _, err := auth.ParseScope(string(scope)); err != nil {
		return APIToken{}, fmt.Errorf("create api token: %w", err)
	}
	now := m.now().UTC().Truncate(time.Second)
	var id int64
	err := m.db.QueryRowContext(ctx, `INSERT INTO api_tokens(user_id, name, hash, scope, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		user.ID, name, hash, string(scope), now.Unix()).Scan(&id)
	if err != nil {
		return APIToken{}, fmt.Errorf("create api token: %w", err)
	}
	return APIToken{ID: id, Name: name, Scope: scope, CreatedAt: now, LastUsed: time.Unix(0, 0).UTC()}, nil
}

// APITokens lists a user's tokens, newest first.
func (m *DB) APITokens(ctx context.Context, user User) ([]APIToken, error) {
	rows, err := m.db.QueryContext(ctx, `SELECT id, name, scope, created_at, last_used_at FROM api_tokens WHERE user_id = ? ORDER BY id DESC`, user.ID)
	if err != nil {
		return nil, fmt.Errorf("list api tokens: %w", err)
	}
	defer rows.Close()
	out := []APIToken{}
	for rows.Next() {
		var t APIToken
		var c, l int64
		if err := rows.Scan(&t.ID, &t.Name, &t.Scope, &c, &l); err != nil {
			return nil, fmt.Errorf("list api tokens: %w", err)
		}
		t.CreatedAt, t.LastUsed = time.Unix(c, 0).UTC(), time.Unix(l, 0).UTC()
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeAPIToken deletes one of user's tokens; another user's token is
// ErrNotFound (its existence is not revealed).
func (m *DB) RevokeAPIToken(ctx context.Context, user User, id int64) error {
	res, err := m.db.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = ? AND user_id = ?`, id, user.ID)
	if err != nil {
		return fmt.Errorf("revoke api token %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("api token %d: %w", id, ErrNotFound)
	}
	return nil
}

// UserByAPIToken returns the owner and the scope of the token with this
// hash and records its use (at most once a minute).
func (m *DB) UserByAPIToken(ctx context.Context, hash string) (User, auth.Scope, error) {
	var u User
	var tid int64
	var scope string
	err := m.db.QueryRowContext(ctx, `SELECT t.id, t.scope, u.id, u.handle, u.issuer, u.subject, u.name, u.email
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?`, hash).
		Scan(&tid, &scope, &u.ID, &u.Handle, &u.Issuer, &u.Subject, &u.Name, &u.Email)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, "", fmt.Errorf("api token: %w", ErrNotFound)
	}
	if err != nil {
		return User{}, "", fmt.Errorf("api token: %w", err)
	}
	sc, err := auth.ParseScope(scope)
	if err != nil { // a row written by hand: refuse rather than guess
		return User{}, "", fmt.Errorf("api token %d: %w", tid, err)
	}
	now := m.now().Unix()
	if _, err := m.db.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND last_used_at < ?`, now, tid, now-60); err != nil {
		return User{}, "", fmt.Errorf("api token: %w", err)
	}
	return u, sc, nil
}
