package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// AnnotationStarts returns the start times (Unix ms) of the annotations
// that start within [fromMS, toMS] and carry every one of tags, oldest
// first (Graphite's events() counts them). More than limit is an error
// rather than a short answer: a count must see them all.
func (m *DB) AnnotationStarts(ctx context.Context, fromMS, toMS int64, tags []string, limit int) ([]int64, error) {
	where := []string{"time_ms >= ?", "time_ms <= ?"}
	args := []any{fromMS, toMS}
	for _, t := range tags {
		b, err := json.Marshal(t) // tags are a JSON array of strings
		if err != nil {
			return nil, fmt.Errorf("annotation tag %q: %w", t, err)
		}
		where = append(where, `tags LIKE ? ESCAPE '\'`)
		args = append(args, "%"+escapeLike(string(b))+"%")
	}
	args = append(args, limit+1)
	rows, err := m.db.QueryContext(ctx, `SELECT time_ms FROM annotations WHERE `+strings.Join(where, " AND ")+` ORDER BY time_ms LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("annotation times: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var t int64
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("annotation times: %w", err)
		}
		if len(out) == limit {
			return nil, fmt.Errorf("more than %d annotations from %d to %d ms", limit, fromMS, toMS)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
