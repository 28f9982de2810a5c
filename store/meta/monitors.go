package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Monitor is a code monitor defined in the UI or API. Definition is its
// JSON (the monitor package's format); meta does not interpret it.
type Monitor struct {
	Name       string    `json:"name"`
	Owner      string    `json:"owner"` // handle
	OwnerID    int64     `json:"-"`
	Definition string    `json:"-"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

const monitorCols = `m.name, u.handle, m.owner_id, m.definition, m.created_at, m.updated_at`

func scanMonitor(sc interface{ Scan(...any) error }) (Monitor, error) {
	var m Monitor
	var c, u int64
	if err := sc.Scan(&m.Name, &m.Owner, &m.OwnerID, &m.Definition, &c, &u); err != nil {
		return Monitor{}, err
	}
	m.CreatedAt, m.UpdatedAt = time.Unix(c, 0).UTC(), time.Unix(u, 0).UTC()
	return m, nil
}

// CreateMonitor saves a new monitor owned by owner.
func (m *DB) CreateMonitor(ctx context.Context, owner User, name, definition string) (Monitor, error) {
	now := m.now().UTC().Truncate(time.Second)
	stored, _, err := m.sealDefinition(name, definition)
	if err != nil {
		return Monitor{}, err
	}
	res, err := m.db.ExecContext(ctx, `INSERT INTO monitors(name, owner_id, definition, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(name) DO NOTHING`, name, owner.ID, stored, now.Unix(), now.Unix())
	if err != nil {
		return Monitor{}, fmt.Errorf("save monitor %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Monitor{}, fmt.Errorf("monitor %q: %w", name, ErrExists)
	}
	return Monitor{Name: name, Owner: owner.Handle, OwnerID: owner.ID, Definition: definition, CreatedAt: now, UpdatedAt: now}, nil
}

// GetMonitor returns one monitor.
func (m *DB) GetMonitor(ctx context.Context, name string) (Monitor, error) {
	mon, err := scanMonitor(m.db.QueryRowContext(ctx, `SELECT `+monitorCols+` FROM monitors m JOIN users u ON u.id = m.owner_id WHERE m.name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return Monitor{}, fmt.Errorf("monitor %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return Monitor{}, fmt.Errorf("monitor %q: %w", name, err)
	}
	return m.openMonitor(mon)
}

// ListMonitors returns every monitor by name.
func (m *DB) ListMonitors(ctx context.Context) ([]Monitor, error) {
	rows, err := m.db.QueryContext(ctx, `SELECT `+monitorCols+` FROM monitors m JOIN users u ON u.id = m.owner_id ORDER BY m.name`)
	if err != nil {
		return nil, fmt.Errorf("list monitors: %w", err)
	}
	defer rows.Close()
	var out []Monitor
	for rows.Next() {
		mon, err := scanMonitor(rows)
		if err == nil {
			mon, err = m.openMonitor(mon)
		}
		if err != nil {
			return nil, fmt.Errorf("list monitors: %w", err)
		}
		out = append(out, mon)
	}
	return out, rows.Err()
}

// UpdateMonitor replaces the definition of a monitor owned by user.
func (m *DB) UpdateMonitor(ctx context.Context, user User, name, definition string) (Monitor, error) {
	mon, err := m.GetMonitor(ctx, name)
	if err != nil {
		return Monitor{}, err
	}
	if mon.OwnerID != user.ID {
		return Monitor{}, fmt.Errorf("monitor %q: %w", name, ErrForbidden)
	}
	now := m.now().UTC().Truncate(time.Second)
	stored, _, err := m.sealDefinition(name, definition)
	if err != nil {
		return Monitor{}, err
	}
	if _, err := m.db.ExecContext(ctx, `UPDATE monitors SET definition = ?, updated_at = ? WHERE name = ? AND owner_id = ?`,
		stored, now.Unix(), name, user.ID); err != nil {
		return Monitor{}, fmt.Errorf("update monitor %q: %w", name, err)
	}
	mon.Definition, mon.UpdatedAt = definition, now
	return mon, nil
}

// DeleteMonitor deletes a monitor owned by user, with its state and runs.
func (m *DB) DeleteMonitor(ctx context.Context, user User, name string) error {
	mon, err := m.GetMonitor(ctx, name)
	if err != nil {
		return err
	}
	if mon.OwnerID != user.ID {
		return fmt.Errorf("monitor %q: %w", name, ErrForbidden)
	}
	tx, err := m.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete monitor %q: %w", name, err)
	}
	defer tx.Rollback()
	for _, q := range []string{
		`DELETE FROM monitors WHERE name = ? AND owner_id = ?`,
		`DELETE FROM monitor_states WHERE name = ?`,
		`DELETE FROM monitor_runs WHERE monitor = ?`,
		`DELETE FROM monitor_leases WHERE name = ?`,
	} {
		args := []any{name}
		if strings.Contains(q, "owner_id") {
			args = append(args, user.ID)
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("delete monitor %q: %w", name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete monitor %q: %w", name, err)
	}
	return nil
}

// SaveMonitorState stores a monitor's state (opaque JSON).
func (m *DB) SaveMonitorState(ctx context.Context, name, state string) error {
	if _, err := m.db.ExecContext(ctx, `INSERT INTO monitor_states(name, state, updated_at) VALUES (?, ?, ?)
		ON CONFLICT(name) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
		name, state, m.now().Unix()); err != nil {
		return fmt.Errorf("save state of monitor %q: %w", name, err)
	}
	return nil
}

// MonitorStates returns every saved monitor state by name.
func (m *DB) MonitorStates(ctx context.Context) (map[string]string, error) {
	rows, err := m.db.QueryContext(ctx, `SELECT name, state FROM monitor_states`)
	if err != nil {
		return nil, fmt.Errorf("monitor states: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, s string
		if err := rows.Scan(&n, &s); err != nil {
			return nil, fmt.Errorf("monitor states: %w", err)
		}
		out[n] = s
	}
	return out, rows.Err()
}

// DeleteMonitorState forgets a monitor's state.
func (m *DB) DeleteMonitorState(ctx context.Context, name string) error {
	if _, err := m.db.ExecContext(ctx, `DELETE FROM monitor_states WHERE name = ?`, name); err != nil {
		return fmt.Errorf("delete state of monitor %q: %w", name, err)
	}
	return nil
}

// MonitorRun is one run in the history. Result is its JSON record.
type MonitorRun struct {
	ID      int64
	Monitor string
	Start   time.Time
	Runtime time.Duration
	Outcome string
	Result  string // empty when the query asked for summaries
}

// AddMonitorRun appends a run and keeps only the newest keep runs of the
// monitor (keep <= 0 keeps all; runs started in the same millisecond as
// the oldest kept one are kept too).
func (m *DB) AddMonitorRun(ctx context.Context, r MonitorRun, keep int) error {
	tx, err := m.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save run of monitor %q: %w", r.Monitor, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO monitor_runs(monitor, started_ms, runtime_us, outcome, result) VALUES (?, ?, ?, ?, ?)`,
		r.Monitor, r.Start.UnixMilli(), r.Runtime.Microseconds(), r.Outcome, r.Result); err != nil {
		return fmt.Errorf("save run of monitor %q: %w", r.Monitor, err)
	}
	if keep > 0 {
		// Runs older than the keep-th newest go (ties with it stay), found
		// through the (monitor, started_ms) index.
		if _, err := tx.ExecContext(ctx, `DELETE FROM monitor_runs WHERE monitor = ? AND started_ms <
			(SELECT started_ms FROM monitor_runs WHERE monitor = ? ORDER BY started_ms DESC LIMIT 1 OFFSET ?)`, r.Monitor, r.Monitor, keep-1); err != nil {
			return fmt.Errorf("prune runs of monitor %q: %w", r.Monitor, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save run of monitor %q: %w", r.Monitor, err)
	}
	return nil
}

// RunQuery selects runs of one monitor, newest first: From and To bound
// the start (zero: unbounded), Outcomes keeps only those (empty: all).
type RunQuery struct {
	Monitor  string
	From, To time.Time
	Outcomes []string
	Limit    int  // 0 or more than 1000 means 1000
	Summary  bool // leave Result empty (sparklines and markers need no output)
}

// MonitorRuns returns runs newest first.
func (m *DB) MonitorRuns(ctx context.Context, q RunQuery) ([]MonitorRun, error) {
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 1000
	}
	where := []string{"monitor = ?"}
	args := []any{q.Monitor}
	if !q.From.IsZero() {
		where = append(where, "started_ms >= ?")
		args = append(args, q.From.UnixMilli())
	}
	if !q.To.IsZero() {
		where = append(where, "started_ms <= ?")
		args = append(args, q.To.UnixMilli())
	}
	if len(q.Outcomes) > 0 {
		where = append(where, "outcome IN (?"+strings.Repeat(", ?", len(q.Outcomes)-1)+")")
		for _, o := range q.Outcomes {
			args = append(args, o)
		}
	}
	args = append(args, q.Limit)
	result := "result"
	if q.Summary {
		result = "''"
	}
	rows, err := m.db.QueryContext(ctx, `SELECT id, monitor, started_ms, runtime_us, outcome, `+result+` FROM monitor_runs WHERE `+
		strings.Join(where, " AND ")+` ORDER BY started_ms DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("runs of monitor %q: %w", q.Monitor, err)
	}
	defer rows.Close()
	var out []MonitorRun
	for rows.Next() {
		var r MonitorRun
		var ms, us int64
		if err := rows.Scan(&r.ID, &r.Monitor, &ms, &us, &r.Outcome, &r.Result); err != nil {
			return nil, fmt.Errorf("runs of monitor %q: %w", q.Monitor, err)
		}
		r.Start, r.Runtime = time.UnixMilli(ms).UTC(), time.Duration(us)*time.Microsecond
		out = append(out, r)
	}
	return out, rows.Err()
}
