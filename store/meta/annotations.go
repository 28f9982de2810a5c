package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Annotation is a note on the time axis: an instant (TimeEnd == Time) or
// a range, with text and tags. Times are Unix milliseconds, as Grafana's
// annotations API has them.
type Annotation struct {
	ID        int64     `json:"id"`
	Owner     string    `json:"owner"` // handle
	Time      int64     `json:"time"`
	TimeEnd   int64     `json:"timeEnd"`
	Text      string    `json:"text"`
	Tags      []string  `json:"tags"`
	CreatedAt time.Time `json:"created_at"`
}

// CreateAnnotation stores a by owner; its ID and CreatedAt are set.
func (m *DB) CreateAnnotation(ctx context.Context, owner User, a Annotation) (Annotation, error) {
	if a.Tags == nil {
		a.Tags = []string{}
	}
	tags, err := json.Marshal(a.Tags)
	if err != nil {
		return Annotation{}, fmt.Errorf("annotation tags: %w", err)
	}
	now := m.now().UTC().Truncate(time.Second)
	// RETURNING, not LastInsertId: PostgreSQL's drivers have no such thing.
	if err := m.db.QueryRowContext(ctx, `INSERT INTO annotations(owner_id, time_ms, time_end_ms, text, tags, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		owner.ID, a.Time, a.TimeEnd, a.Text, string(tags), now.Unix()).Scan(&a.ID); err != nil {
		return Annotation{}, fmt.Errorf("save annotation at %d: %w", a.Time, err)
	}
	a.Owner, a.CreatedAt = owner.Handle, now
	return a, nil
}

// AnnotationQuery selects annotations overlapping [From, To] (Unix ms)
// that carry every one of Tags; at most Limit (default and cap 1000),
// latest first.
type AnnotationQuery struct {
	From, To int64
	Tags     []string
	Limit    int
}

// Annotations returns the annotations q selects.
func (m *DB) Annotations(ctx context.Context, q AnnotationQuery) ([]Annotation, error) {
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 1000
	}
	where := []string{"a.time_end_ms >= ?", "a.time_ms <= ?"}
	args := []any{q.From, q.To}
	for _, t := range q.Tags {
		// Tags are a JSON array of strings; the quoted tag matches one element.
		b, err := json.Marshal(t)
		if err != nil {
			return nil, fmt.Errorf("annotation tag %q: %w", t, err)
		}
		where = append(where, `a.tags LIKE ? ESCAPE '\'`)
		args = append(args, "%"+escapeLike(string(b))+"%")
	}
	args = append(args, q.Limit)
	rows, err := m.db.QueryContext(ctx, `SELECT a.id, u.handle, a.time_ms, a.time_end_ms, a.text, a.tags, a.created_at
		FROM annotations a JOIN users u ON u.id = a.owner_id WHERE `+strings.Join(where, " AND ")+`
		ORDER BY a.time_ms DESC, a.id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("list annotations: %w", err)
	}
	defer rows.Close()
	out := []Annotation{}
	for rows.Next() {
		var a Annotation
		var tags string
		var c int64
		if err := rows.Scan(&a.ID, &a.Owner, &a.Time, &a.TimeEnd, &a.Text, &tags, &c); err != nil {
			return nil, fmt.Errorf("list annotations: %w", err)
		}
		if err := json.Unmarshal([]byte(tags), &a.Tags); err != nil {
			return nil, fmt.Errorf("annotation %d: tags %q: %w", a.ID, tags, err)
		}
		a.CreatedAt = time.Unix(c, 0).UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}

// DeleteAnnotation deletes user's annotation.
func (m *DB) DeleteAnnotation(ctx context.Context, user User, id int64) error {
	res, err := m.db.ExecContext(ctx, `DELETE FROM annotations WHERE id = ? AND owner_id = ?`, id, user.ID)
	if err != nil {
		return fmt.Errorf("delete annotation %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var exists int
		if err := m.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM annotations WHERE id = ?`, id).Scan(&exists); err != nil {
			return fmt.Errorf("delete annotation %d: %w", id, err)
		}
		if exists > 0 {
			return fmt.Errorf("annotation %d: %w", id, ErrForbidden)
		}
		return fmt.Errorf("annotation %d: %w", id, ErrNotFound)
	}
	return nil
}
