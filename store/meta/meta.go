// Package meta keeps rrdash's metadata — users, sessions, tokens, saved
// graphs, monitors and their state — in SQLite (pure Go driver, the
// embedded default) or PostgreSQL (pgx, for several servers sharing it),
// from one schema and one set of versioned migrations; what differs
// between the engines is in dialect.go.
package meta

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrNotFound is returned when a user or graph does not exist.
var ErrNotFound = errors.New("not found")

// ErrForbidden is returned when a user changes a graph they don't own.
var ErrForbidden = errors.New("forbidden: not the owner")

// ErrExists is returned when a name is taken.
var ErrExists = errors.New("already exists")

// migrations are applied in order; their index+1 is the schema version.
// Never edit one that has shipped: add a new one.
var migrations = []string{
	// 1: users keyed by (issuer, subject) as OIDC identifies them; handle
	// is the URL name (/u/{handle}).
	`CREATE TABLE users (
		id         INTEGER PRIMARY KEY,
		handle     TEXT NOT NULL UNIQUE,
		issuer     TEXT NOT NULL,
		subject    TEXT NOT NULL,
		name       TEXT NOT NULL DEFAULT '',
		email      TEXT NOT NULL DEFAULT '',
		created_at BIGINT NOT NULL,
		UNIQUE (issuer, subject)
	);
	CREATE TABLE graphs (
		id         TEXT PRIMARY KEY,
		owner_id   INTEGER NOT NULL REFERENCES users(id),
		title      TEXT NOT NULL,
		spec       TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL
	);
	CREATE INDEX graphs_owner ON graphs(owner_id, created_at);
	CREATE INDEX graphs_created ON graphs(created_at);`,
	// 2: login sessions, pending OIDC logins and personal API tokens
	// (auth.go). Ids and tokens are stored only as SHA-256 hashes.
	`CREATE TABLE sessions (
		id         TEXT PRIMARY KEY,
		user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		csrf       TEXT NOT NULL,
		id_token   TEXT NOT NULL DEFAULT '',
		created_at BIGINT NOT NULL,
		last_seen  BIGINT NOT NULL
	);
	CREATE INDEX sessions_user ON sessions(user_id);
	CREATE TABLE login_states (
		id         TEXT PRIMARY KEY,
		state      TEXT NOT NULL,
		nonce      TEXT NOT NULL,
		verifier   TEXT NOT NULL,
		return_to  TEXT NOT NULL,
		created_at BIGINT NOT NULL
	);
	CREATE TABLE api_tokens (
		id           INTEGER PRIMARY KEY,
		user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		name         TEXT NOT NULL,
		hash         TEXT NOT NULL UNIQUE,
		created_at   BIGINT NOT NULL,
		last_used_at BIGINT NOT NULL DEFAULT 0
	);
	CREATE INDEX api_tokens_user ON api_tokens(user_id);`,
	// 3: code monitors defined in the UI/API (definition: JSON as the
	// monitor package writes it), the state of every monitor (those of the
	// config file too, hence no foreign key) and the run history.
	`CREATE TABLE monitors (
		name       TEXT PRIMARY KEY,
		owner_id   INTEGER NOT NULL REFERENCES users(id),
		definition TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL
	);
	CREATE TABLE monitor_states (
		name       TEXT PRIMARY KEY,
		state      TEXT NOT NULL,
		updated_at BIGINT NOT NULL
	);
	CREATE TABLE monitor_runs (
		id         INTEGER PRIMARY KEY,
		monitor    TEXT NOT NULL,
		started_ms BIGINT NOT NULL,
		runtime_us BIGINT NOT NULL,
		outcome    TEXT NOT NULL,
		result     TEXT NOT NULL
	);
	CREATE INDEX monitor_runs_time ON monitor_runs(monitor, started_ms);`,
	// 4: server secrets made once and kept (the key of signed PNG links).
	`CREATE TABLE secrets (
		name  TEXT PRIMARY KEY,
		value BLOB NOT NULL
	);`,
	// 5: API token scopes (auth.Scope). Tokens made before had the whole
	// account and keep it as admin; migrate tells how many there were.
	`ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'admin';`,
	// 6: the insertion order of graphs (the newest-first tie break within
	// a second), which SQLite's implicit rowid gave and PostgreSQL has no
	// equivalent of. Existing graphs are numbered by (created_at, id).
	`ALTER TABLE graphs ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
	UPDATE graphs SET seq = (SELECT COUNT(*) FROM graphs g2
		WHERE g2.created_at < graphs.created_at OR (g2.created_at = graphs.created_at AND g2.id <= graphs.id));
	CREATE INDEX graphs_seq ON graphs(seq);`,
	// 7: which server runs each code monitor (servers sharing one
	// PostgreSQL): the owner holds the lease until expires_ms (the
	// database's clock), and last_run_ms is when the monitor last
	// started on any of them (leases.go).
	`CREATE TABLE monitor_leases (
		name        TEXT PRIMARY KEY,
		owner       TEXT NOT NULL,
		expires_ms  BIGINT NOT NULL,
		last_run_ms BIGINT NOT NULL DEFAULT 0
	);
	CREATE INDEX monitor_leases_owner ON monitor_leases(owner);`,
	// 8: user dashboards: a named grid of saved graphs; definition is
	// the layout, default range and zone as JSON (ui's dashboard type).
	`CREATE TABLE dashboards (
		id         TEXT PRIMARY KEY,
		owner_id   INTEGER NOT NULL REFERENCES users(id),
		title      TEXT NOT NULL,
		definition TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL
	);
	CREATE INDEX dashboards_owner ON dashboards(owner_id, created_at);
	CREATE INDEX dashboards_created ON dashboards(created_at);`,
	// 9: annotations: an instant (time_end_ms = time_ms) or a range, with
	// text and tags (a JSON array), drawn on charts.
	`CREATE TABLE annotations (
		id          INTEGER PRIMARY KEY,
		owner_id    INTEGER NOT NULL REFERENCES users(id),
		time_ms     BIGINT NOT NULL,
		time_end_ms BIGINT NOT NULL,
		text        TEXT NOT NULL,
		tags        TEXT NOT NULL DEFAULT '[]',
		created_at  BIGINT NOT NULL
	);
	CREATE INDEX annotations_time ON annotations(time_ms, time_end_ms);`,
}

// scopesVersion is the migration that added token scopes.
const scopesVersion = 5

// DB is the metadata database.
type DB struct {
	db  conn
	now func() time.Time
	// notices are what the last migration changed that the operator
	// should hear about (Open has no logger; the server logs them).
	notices []string
	box     *SecretBox // seals monitor secrets; nil keeps them in plain text
}

// Open opens (creating if needed) the metadata database and migrates it:
// PostgreSQL when where is a postgres:// or postgresql:// URL, else the
// SQLite file at that path.
func Open(ctx context.Context, where string) (*DB, error) {
	name := where
	if IsPostgresURL(where) {
		name = RedactURL(where)
	}
	db, d, err := openEngine(ctx, where)
	if err != nil {
		return nil, fmt.Errorf("metadata %s: %w", name, err)
	}
	m := &DB{db: conn{db, d}, now: time.Now}
	if err := m.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("metadata %s: %w", name, err)
	}
	return m, nil
}

// Engine names the database engine: "sqlite" or "postgres".
func (m *DB) Engine() string { return m.db.d.name }

// Close closes the database.
func (m *DB) Close() error { return m.db.Close() }

// Notices returns what opening the database changed that the operator
// should know, e.g. old API tokens given the admin scope.
func (m *DB) Notices() []string { return m.notices }

// SchemaVersion returns the applied migration count.
func (m *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := m.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

func (m *DB) migrate(ctx context.Context) error {
	err := m.migrationTx(ctx, func(tx lockedTx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	cur, err := m.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if cur > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this rrdash (%d)", cur, len(migrations))
	}
	for v := cur + 1; v <= len(migrations); v++ {
		applied, err := m.applyMigration(ctx, v)
		if err != nil {
			return fmt.Errorf("migration %d: %w", v, err)
		}
		if applied && v == scopesVersion {
			var n int
			if err := m.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_tokens`).Scan(&n); err != nil {
				return fmt.Errorf("migration %d: count api tokens: %w", v, err)
			}
			if n > 0 {
				m.notices = append(m.notices, fmt.Sprintf("%d API token(s) made before token scopes keep their full access as scope admin; "+
					"replace them at /settings/tokens with tokens of a narrower scope (push, read, write)", n))
			}
		}
	}
	return nil
}

// migrationTx runs fn in a transaction that holds the migration lock, so
// servers starting at once on one database migrate it one at a time.
func (m *DB) migrationTx(ctx context.Context, fn func(lockedTx) error) error {
	return m.db.inLockedTx(ctx, m.db.d.beginMigration, fn)
}

// applyMigration runs migration v unless another server sharing the
// database ran it meanwhile (applied is then false).
func (m *DB) applyMigration(ctx context.Context, v int) (applied bool, err error) {
	err = m.migrationTx(ctx, func(tx lockedTx) error {
		var cur int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if cur >= v {
			return nil
		}
		script := migrations[v-1]
		if m.db.d.ddl != nil {
			script = m.db.d.ddl(script)
		}
		for _, st := range splitStatements(script) {
			if _, err := tx.ExecContext(ctx, st); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)`, v, m.now().Unix())
		applied = err == nil
		return err
	})
	return applied, err
}

// User is a person who owns graphs. Issuer+Subject identify them (the OIDC
// way); the local single-user mode uses issuer "local".
type User struct {
	ID      int64  `json:"-"`
	Handle  string `json:"handle"`
	Issuer  string `json:"-"`
	Subject string `json:"-"`
	Name    string `json:"name,omitempty"`
	Email   string `json:"-"`
}

// LocalIssuer marks the built-in single user used until OIDC is configured.
const LocalIssuer = "local"

// EnsureUser returns the user with u's issuer and subject, creating it (and
// updating name and email) as needed. A new user gets u.Handle, or a
// variant with a number when taken.
func (m *DB) EnsureUser(ctx context.Context, u User) (User, error) {
	if u.Issuer == "" || u.Subject == "" || u.Handle == "" {
		return User{}, errors.New("user: issuer, subject and handle are required")
	}
	var out User
	err := m.db.QueryRowContext(ctx, `SELECT id, handle, issuer, subject, name, email FROM users WHERE issuer = ? AND subject = ?`,
		u.Issuer, u.Subject).Scan(&out.ID, &out.Handle, &out.Issuer, &out.Subject, &out.Name, &out.Email)
	switch {
	case err == nil:
		if out.Name != u.Name || out.Email != u.Email {
			if _, err := m.db.ExecContext(ctx, `UPDATE users SET name = ?, email = ? WHERE id = ?`, u.Name, u.Email, out.ID); err != nil {
				return User{}, fmt.Errorf("update user %s: %w", out.Handle, err)
			}
			out.Name, out.Email = u.Name, u.Email
		}
		return out, nil
	case !errors.Is(err, sql.ErrNoRows):
		return User{}, fmt.Errorf("look up user: %w", err)
	}
	handle := u.Handle
	for i := 2; ; i++ {
		// Any conflict does nothing: a taken handle tries the next one,
		// and the same person created meanwhile (by another server on a
		// shared database) is found by the look-up below.
		var id int64
		err := m.db.QueryRowContext(ctx, `INSERT INTO users(handle, issuer, subject, name, email, created_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING RETURNING id`, handle, u.Issuer, u.Subject, u.Name, u.Email, m.now().Unix()).Scan(&id)
		if err == nil {
			u.ID, u.Handle = id, handle
			return u, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return User{}, fmt.Errorf("create user %s: %w", handle, err)
		}
		err = m.db.QueryRowContext(ctx, `SELECT id, handle, issuer, subject, name, email FROM users WHERE issuer = ? AND subject = ?`,
			u.Issuer, u.Subject).Scan(&out.ID, &out.Handle, &out.Issuer, &out.Subject, &out.Name, &out.Email)
		if err == nil {
			return out, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return User{}, fmt.Errorf("look up user: %w", err)
		}
		if i > 1000 {
			return User{}, fmt.Errorf("create user: no free handle like %q", u.Handle)
		}
		handle = fmt.Sprintf("%s%d", u.Handle, i)
	}
}

// UserByHandle finds a user by handle.
func (m *DB) UserByHandle(ctx context.Context, handle string) (User, error) {
	var u User
	err := m.db.QueryRowContext(ctx, `SELECT id, handle, issuer, subject, name, email FROM users WHERE handle = ?`, handle).
		Scan(&u.ID, &u.Handle, &u.Issuer, &u.Subject, &u.Name, &u.Email)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %q: %w", handle, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("user %q: %w", handle, err)
	}
	return u, nil
}

// Graph is a saved graph. Spec is the graph spec as JSON (graph.Spec).
type Graph struct {
	ID        string    `json:"id"`
	Owner     string    `json:"owner"` // handle
	OwnerID   int64     `json:"-"`
	Title     string    `json:"title"`
	Spec      string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// newID returns a 10-character random id from an unambiguous alphabet.
func newID() (string, error) {
	const alphabet = "23456789abcdefghjkmnpqrstuvwxyz"
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:]), nil
}

// CreateGraph saves a new graph owned by owner and returns it.
func (m *DB) CreateGraph(ctx context.Context, owner User, title, spec string) (Graph, error) {
	id, err := newID()
	if err != nil {
		return Graph{}, fmt.Errorf("graph id: %w", err)
	}
	now := m.now().UTC().Truncate(time.Second)
	if _, err := m.db.ExecContext(ctx, `INSERT INTO graphs(id, owner_id, title, spec, created_at, updated_at, seq)
		VALUES (?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM graphs))`,
		id, owner.ID, title, spec, now.Unix(), now.Unix()); err != nil {
		return Graph{}, fmt.Errorf("save graph: %w", err)
	}
	return Graph{ID: id, Owner: owner.Handle, OwnerID: owner.ID, Title: title, Spec: spec, CreatedAt: now, UpdatedAt: now}, nil
}

var graphTable = ownedTable[Graph]{
	kind:    "graph",
	table:   "graphs",
	alias:   "g",
	body:    "spec",
	order:   "g.created_at DESC, g.seq DESC, g.id DESC",
	scan:    scanGraph,
	ownerID: func(g Graph) int64 { return g.OwnerID },
}

func scanGraph(sc interface{ Scan(...any) error }) (Graph, error) {
	var g Graph
	var c, u int64
	if err := sc.Scan(&g.ID, &g.Owner, &g.OwnerID, &g.Title, &g.Spec, &c, &u); err != nil {
		return Graph{}, err
	}
	g.CreatedAt, g.UpdatedAt = time.Unix(c, 0).UTC(), time.Unix(u, 0).UTC()
	return g, nil
}

// Graph returns one graph.
func (m *DB) Graph(ctx context.Context, id string) (Graph, error) {
	return graphTable.get(ctx, m, id)
}

// UpdateGraph changes title and spec of a graph owned by user.
func (m *DB) UpdateGraph(ctx context.Context, user User, id, title, spec string) (Graph, error) {
	g, now, err := graphTable.update(ctx, m, user, id, title, spec)
	if err != nil {
		return Graph{}, err
	}
	g.Title, g.Spec, g.UpdatedAt = title, spec, now
	return g, nil
}

// DeleteGraph deletes a graph owned by user.
func (m *DB) DeleteGraph(ctx context.Context, user User, id string) error {
	return graphTable.delete(ctx, m, user, id)
}

// ListQuery selects graphs: by owner handle (optional) and a title
// substring (optional), newest first.
type ListQuery struct {
	Owner  string
	Search string
	Limit  int
	Offset int
}

// ListGraphs returns graphs newest first.
func (m *DB) ListGraphs(ctx context.Context, q ListQuery) ([]Graph, error) {
	return graphTable.list(ctx, m, q)
}

// Ping checks the database answers (for /-/healthz).
func (m *DB) Ping(ctx context.Context) error { return m.db.PingContext(ctx) }
