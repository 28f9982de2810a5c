package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Dashboard is a user's dashboard: a grid of saved graphs. Definition is
// its layout, default range and zone as JSON, which ui reads and checks.
type Dashboard struct {
	ID         string    `json:"id"`
	Owner      string    `json:"owner"` // handle
	OwnerID    int64     `json:"-"`
	Title      string    `json:"title"`
	Definition string    `json:"-"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// CreateDashboard saves a new dashboard owned by owner.
func (m *DB) CreateDashboard(ctx context.Context, owner User, title, def string) (Dashboard, error) {
	id, err := newID()
	if err != nil {
		return Dashboard{}, fmt.Errorf("dashboard id: %w", err)
	}
	now := m.now().UTC().Truncate(time.Second)
	if _, err := m.db.ExecContext(ctx, `INSERT INTO dashboards(id, owner_id, title, definition, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		id, owner.ID, title, def, now.Unix(), now.Unix()); err != nil {
		return Dashboard{}, fmt.Errorf("save dashboard %q: %w", title, err)
	}
	return Dashboard{ID: id, Owner: owner.Handle, OwnerID: owner.ID, Title: title, Definition: def, CreatedAt: now, UpdatedAt: now}, nil
}

const dashCols = `d.id, u.handle, d.owner_id, d.title, d.definition, d.created_at, d.updated_at`

func scanDashboard(sc interface{ Scan(...any) error }) (Dashboard, error) {
	var d Dashboard
	var c, u int64
	if err := sc.Scan(&d.ID, &d.Owner, &d.OwnerID, &d.Title, &d.Definition, &c, &u); err != nil {
		return Dashboard{}, err
	}
	d.CreatedAt, d.UpdatedAt = time.Unix(c, 0).UTC(), time.Unix(u, 0).UTC()
	return d, nil
}

// Dashboard returns one dashboard.
func (m *DB) Dashboard(ctx context.Context, id string) (Dashboard, error) {
	d, err := scanDashboard(m.db.QueryRowContext(ctx, `SELECT `+dashCols+` FROM dashboards d JOIN users u ON u.id = d.owner_id WHERE d.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Dashboard{}, fmt.Errorf("dashboard %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Dashboard{}, fmt.Errorf("dashboard %q: %w", id, err)
	}
	return d, nil
}

// UpdateDashboard changes the title and definition of user's dashboard.
func (m *DB) UpdateDashboard(ctx context.Context, user User, id, title, def string) (Dashboard, error) {
	d, err := m.Dashboard(ctx, id)
	if err != nil {
		return Dashboard{}, err
	}
	if d.OwnerID != user.ID {
		return Dashboard{}, fmt.Errorf("dashboard %q: %w", id, ErrForbidden)
	}
	now := m.now().UTC().Truncate(time.Second)
	if _, err := m.db.ExecContext(ctx, `UPDATE dashboards SET title = ?, definition = ?, updated_at = ? WHERE id = ? AND owner_id = ?`,
		title, def, now.Unix(), id, user.ID); err != nil {
		return Dashboard{}, fmt.Errorf("update dashboard %q: %w", id, err)
	}
	d.Title, d.Definition, d.UpdatedAt = title, def, now
	return d, nil
}

// DeleteDashboard deletes user's dashboard (its graphs stay).
func (m *DB) DeleteDashboard(ctx context.Context, user User, id string) error {
	d, err := m.Dashboard(ctx, id)
	if err != nil {
		return err
	}
	if d.OwnerID != user.ID {
		return fmt.Errorf("dashboard %q: %w", id, ErrForbidden)
	}
	if _, err := m.db.ExecContext(ctx, `DELETE FROM dashboards WHERE id = ? AND owner_id = ?`, id, user.ID); err != nil {
		return fmt.Errorf("delete dashboard %q: %w", id, err)
	}
	return nil
}

// ListDashboards returns dashboards newest first, selected as ListGraphs
// selects graphs (owner handle, title substring).
func (m *DB) ListDashboards(ctx context.Context, q ListQuery) ([]Dashboard, error) {
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 100
	}
	where := []string{"1=1"}
	var args []any
	if q.Owner != "" {
		where = append(where, "u.handle = ?")
		args = append(args, q.Owner)
	}
	if q.Search != "" {
		where = append(where, `LOWER(d.title) LIKE ? ESCAPE '\'`)
		args = append(args, "%"+escapeLike(strings.ToLower(q.Search))+"%")
	}
	args = append(args, q.Limit, q.Offset)
	rows, err := m.db.QueryContext(ctx, `SELECT `+dashCols+` FROM dashboards d JOIN users u ON u.id = d.owner_id WHERE `+
		strings.Join(where, " AND ")+` ORDER BY d.created_at DESC, d.id DESC LIMIT ? OFFSET ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("list dashboards: %w", err)
	}
	defer rows.Close()
	var out []Dashboard
	for rows.Next() {
		d, err := scanDashboard(rows)
		if err != nil {
			return nil, fmt.Errorf("list dashboards: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
