package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// MonitorClaim is the answer to a server asking to run a monitor.
type MonitorClaim struct {
	// Run: this server holds the monitor's lease and runs it now (its
	// start is recorded as the monitor's last run).
	Run bool
	// TakenOver: Run, and the monitor last ran elsewhere (its state is
	// the other server's).
	TakenOver bool
	// Wait is how long to wait before asking again when Run is false.
	Wait time.Duration
}

// ClaimMonitorRun asks, for server node, to start a run of monitor name.
// It is granted when no other server holds a live lease on the monitor
// and its last run, on any server, started at least minGap ago; the lease
// then lasts ttl (kept alive by RenewMonitorLeases). Expiry and the last
// run are on the database's clock, so servers' clocks need not agree.
func (m *DB) ClaimMonitorRun(ctx context.Context, name, node string, minGap, ttl time.Duration) (MonitorClaim, error) {
	if node == "" || ttl <= 0 {
		return MonitorClaim{}, errors.New("claim monitor run: node and a positive lease ttl are required")
	}
	var prevOwner string
	err := m.db.QueryRowContext(ctx, `SELECT owner FROM monitor_leases WHERE name = ?`, name).Scan(&prevOwner)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return MonitorClaim{}, fmt.Errorf("claim monitor %q: %w", name, err)
	}
	// One conditional write: the lease is ours if free, expired or ours
	// already, and only when the last run is old enough.
	var last int64
	err = m.db.QueryRowContext(ctx, `INSERT INTO monitor_leases(name, owner, expires_ms, last_run_ms) VALUES (?, ?, {now_ms} + ?, {now_ms})
		ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, expires_ms = excluded.expires_ms, last_run_ms = excluded.last_run_ms
		WHERE (monitor_leases.owner = excluded.owner OR monitor_leases.expires_ms < excluded.last_run_ms)
			AND monitor_leases.last_run_ms <= excluded.last_run_ms - ?
		RETURNING last_run_ms`, name, node, ttl.Milliseconds(), minGap.Milliseconds()).Scan(&last)
	if err == nil {
		return MonitorClaim{Run: true, TakenOver: prevOwner != "" && prevOwner != node}, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return MonitorClaim{}, fmt.Errorf("claim monitor %q: %w", name, err)
	}
	// Not now: ask again when the gap has passed, or the other server's
	// lease could have expired, whichever is later.
	var owner string
	var expires, now int64
	err = m.db.QueryRowContext(ctx, `SELECT owner, expires_ms, last_run_ms, {now_ms} FROM monitor_leases WHERE name = ?`, name).
		Scan(&owner, &expires, &last, &now)
	if errors.Is(err, sql.ErrNoRows) { // deleted meanwhile: ask again at once
		return MonitorClaim{}, nil
	}
	if err != nil {
		return MonitorClaim{}, fmt.Errorf("claim monitor %q: %w", name, err)
	}
	at := last + minGap.Milliseconds()
	if owner != node && expires > at {
		at = expires + 1
	}
	return MonitorClaim{Wait: time.Duration(max(at-now, 0)) * time.Millisecond}, nil
}

// RenewMonitorLeases extends every live lease node holds by ttl and
// returns how many it holds.
func (m *DB) RenewMonitorLeases(ctx context.Context, node string, ttl time.Duration) (int, error) {
	res, err := m.db.ExecContext(ctx, `UPDATE monitor_leases SET expires_ms = {now_ms} + ? WHERE owner = ? AND expires_ms >= {now_ms}`,
		ttl.Milliseconds(), node)
	if err != nil {
		return 0, fmt.Errorf("renew monitor leases of %s: %w", node, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("renew monitor leases of %s: %w", node, err)
	}
	return int(n), nil
}

// ReleaseMonitorLeases gives up node's leases (a server shutting down), so
// other servers take its monitors at their next due run rather than after
// the leases expire.
func (m *DB) ReleaseMonitorLeases(ctx context.Context, node string) error {
	if _, err := m.db.ExecContext(ctx, `UPDATE monitor_leases SET expires_ms = 0 WHERE owner = ?`, node); err != nil {
		return fmt.Errorf("release monitor leases of %s: %w", node, err)
	}
	return nil
}

// MonitorLease is one row of the lease table.
type MonitorLease struct {
	Name, Owner      string
	Expires, LastRun time.Time
}

// MonitorLeases lists the leases, by monitor name.
func (m *DB) MonitorLeases(ctx context.Context) ([]MonitorLease, error) {
	rows, err := m.db.QueryContext(ctx, `SELECT name, owner, expires_ms, last_run_ms FROM monitor_leases ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("monitor leases: %w", err)
	}
	defer rows.Close()
	var out []MonitorLease
	for rows.Next() {
		var l MonitorLease
		var e, r int64
		if err := rows.Scan(&l.Name, &l.Owner, &e, &r); err != nil {
			return nil, fmt.Errorf("monitor leases: %w", err)
		}
		l.Expires, l.LastRun = time.UnixMilli(e).UTC(), time.UnixMilli(r).UTC()
		out = append(out, l)
	}
	return out, rows.Err()
}
