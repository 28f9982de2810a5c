package meta

import (
	"context"
	"fmt"
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

var dashboardTable = ownedTable[Dashboard]{
	kind:    "dashboard",
	table:   "dashboards",
	alias:   "d",
	body:    "definition",
	order:   "d.created_at DESC, d.id DESC",
	scan:    scanDashboard,
	ownerID: func(d Dashboard) int64 { return d.OwnerID },
}

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
	return dashboardTable.get(ctx, m, id)
}

// UpdateDashboard changes the title and definition of user's dashboard.
func (m *DB) UpdateDashboard(ctx context.Context, user User, id, title, def string) (Dashboard, error) {
	d, now, err := dashboardTable.update(ctx, m, user, id, title, def)
	if err != nil {
		return Dashboard{}, err
	}
	d.Title, d.Definition, d.UpdatedAt = title, def, now
	return d, nil
}

// DeleteDashboard deletes user's dashboard (its graphs stay).
func (m *DB) DeleteDashboard(ctx context.Context, user User, id string) error {
	return dashboardTable.delete(ctx, m, user, id)
}

// ListDashboards returns dashboards newest first, selected as ListGraphs
// selects graphs (owner handle, title substring).
func (m *DB) ListDashboards(ctx context.Context, q ListQuery) ([]Dashboard, error) {
	return dashboardTable.list(ctx, m, q)
}
