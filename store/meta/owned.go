package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ownedTable describes a table of user-owned records with one shape (id,
// owner_id, title, a JSON body column, created_at, updated_at), so graphs
// and dashboards share their read, owner-checked update/delete and list code.
type ownedTable[T any] struct {
	kind    string // singular, for errors: "graph"
	table   string // "graphs"
	alias   string // table alias in queries: "g"
	body    string // the JSON column: "spec"
	order   string // ORDER BY clause of list, newest first
	scan    func(sc interface{ Scan(...any) error }) (T, error)
	ownerID func(T) int64
}

func (t ownedTable[T]) cols() string {
	a := t.alias
	return a + ".id, u.handle, " + a + ".owner_id, " + a + ".title, " + a + "." + t.body + ", " + a + ".created_at, " + a + ".updated_at"
}

func (t ownedTable[T]) from() string {
	return ` FROM ` + t.table + ` ` + t.alias + ` JOIN users u ON u.id = ` + t.alias + `.owner_id`
}

func (t ownedTable[T]) get(ctx context.Context, m *DB, id string) (T, error) {
	var zero T
	r, err := t.scan(m.db.QueryRowContext(ctx, `SELECT `+t.cols()+t.from()+` WHERE `+t.alias+`.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return zero, fmt.Errorf("%s %q: %w", t.kind, id, ErrNotFound)
	}
	if err != nil {
		return zero, fmt.Errorf("%s %q: %w", t.kind, id, err)
	}
	return r, nil
}

// owned returns record id if user owns it, else ErrNotFound or ErrForbidden.
func (t ownedTable[T]) owned(ctx context.Context, m *DB, user User, id string) (T, error) {
	var zero T
	r, err := t.get(ctx, m, id)
	if err != nil {
		return zero, err
	}
	if t.ownerID(r) != user.ID {
		return zero, fmt.Errorf("%s %q: %w", t.kind, id, ErrForbidden)
	}
	return r, nil
}

// update sets title and body of user's record id; it returns the record as
// it was and the new updated_at for the caller to apply.
func (t ownedTable[T]) update(ctx context.Context, m *DB, user User, id, title, body string) (T, time.Time, error) {
	var zero T
	r, err := t.owned(ctx, m, user, id)
	if err != nil {
		return zero, time.Time{}, err
	}
	now := m.now().UTC().Truncate(time.Second)
	if _, err := m.db.ExecContext(ctx, `UPDATE `+t.table+` SET title = ?, `+t.body+` = ?, updated_at = ? WHERE id = ? AND owner_id = ?`,
		title, body, now.Unix(), id, user.ID); err != nil {
		return zero, time.Time{}, fmt.Errorf("update %s %q: %w", t.kind, id, err)
	}
	return r, now, nil
}

func (t ownedTable[T]) delete(ctx context.Context, m *DB, user User, id string) error {
	if _, err := t.owned(ctx, m, user, id); err != nil {
		return err
	}
	if _, err := m.db.ExecContext(ctx, `DELETE FROM `+t.table+` WHERE id = ? AND owner_id = ?`, id, user.ID); err != nil {
		return fmt.Errorf("delete %s %q: %w", t.kind, id, err)
	}
	return nil
}

func (t ownedTable[T]) list(ctx context.Context, m *DB, q ListQuery) ([]T, error) {
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
		where = append(where, `LOWER(`+t.alias+`.title) LIKE ? ESCAPE '\'`)
		args = append(args, "%"+escapeLike(strings.ToLower(q.Search))+"%")
	}
	args = append(args, q.Limit, q.Offset)
	rows, err := m.db.QueryContext(ctx, `SELECT `+t.cols()+t.from()+` WHERE `+
		strings.Join(where, " AND ")+` ORDER BY `+t.order+` LIMIT ? OFFSET ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("list %ss: %w", t.kind, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		r, err := t.scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list %ss: %w", t.kind, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}
