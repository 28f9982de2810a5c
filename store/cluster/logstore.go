package cluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"rrdash/store"
	"rrdash/store/rrdfile"
)

// Log is the replicated log every write of a cluster node goes to (a
// Kinesis stream: ingest/kinesis.Producer). Append returns once every
// entry is durable in the log, and puts the entries of one series in
// order.
type Log interface {
	Append(ctx context.Context, entries []Entry) error
}

// ErrNotReplicated refuses a store change the cluster log does not carry.
var ErrNotReplicated = errors.New("not supported in cluster mode: the cluster log carries series creations and updates only")

// LogStore is the store write interface of a cluster node: the one door
// every ingest path writes through (push.Writer for HTTP push, Graphite,
// UDP, statsd, collectd, remote_write and OTLP; trace-log tailers; code
// monitors; rrdcached). Writes go to the log and are acknowledged when the
// log has them; the node's archives are built only by its log consumer
// (ingest/kinesis.Replica) from the shards it leases. Reads and source
// positions are the local store's.
type LogStore struct {
	db  *store.DB
	log Log

	mu   sync.Mutex
	defs map[string]def // series definitions this node has seen or been given
}

type def struct {
	spec store.Spec
	meta map[string]string
}

// NewLogStore writes to lg and reads from db.
func NewLogStore(db *store.DB, lg Log) *LogStore {
	return &LogStore{db: db, log: lg, defs: map[string]def{}}
}

// Ensure is EnsureWithMeta without metadata.
func (s *LogStore) Ensure(name string, spec store.Spec) (bool, error) {
	return s.EnsureWithMeta(name, spec, nil)
}

// EnsureWithMeta records the series' definition; it travels on the log
// with each write of the series. created reports whether this node knew
// nothing of the series: the replicas create it at its first write.
func (s *LogStore) EnsureWithMeta(name string, spec store.Spec, meta map[string]string) (bool, error) {
	if _, ok, err := s.definition(name); err != nil || ok {
		return false, err
	}
	if err := spec.Validate(); err != nil {
		return false, fmt.Errorf("series %s: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.defs[name]; ok {
		return false, nil
	}
	s.defs[name] = def{spec: spec, meta: maps.Clone(meta)}
	return true, nil
}

// definition finds a series' definition: given to this node, or from the
// local store (the series is in a shard this node consumed).
func (s *LogStore) definition(name string) (def, bool, error) {
	s.mu.Lock()
	d, ok := s.defs[name]
	s.mu.Unlock()
	if ok {
		return d, true, nil
	}
	spec, err := s.db.Spec(name)
	if errors.Is(err, store.ErrNotFound) {
		return def{}, false, nil
	}
	if err != nil {
		return def{}, false, fmt.Errorf("series %s: %w", name, err)
	}
	meta, err := s.db.Meta(name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return def{}, false, fmt.Errorf("series %s: metadata: %w", name, err)
	}
	d = def{spec: spec, meta: meta}
	s.mu.Lock()
	s.defs[name] = d
	s.mu.Unlock()
	return d, true, nil
}

// Create puts a series creation on the log. Replicas create the series
// when it does not exist; overwrite is refused (it would need a delete).
func (s *LogStore) Create(name string, spec store.Spec, overwrite bool) error {
	if overwrite {
		return fmt.Errorf("create %s with overwrite: %w", name, ErrNotReplicated)
	}
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("series %s: %w", name, err)
	}
	// rrdcached's CREATE has no context: bound the wait for the log
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.log.Append(ctx, []Entry{{Series: name, Spec: spec}}); err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	s.mu.Lock()
	s.defs[name] = def{spec: spec}
	s.mu.Unlock()
	return nil
}

// Apply puts the batch's updates on the log, one entry per series in the
// order given, and returns once the log acknowledged all of them. An
// update of a series with no definition, or with the wrong number of
// values, is refused here; what the replicas refuse later (a point not
// newer than the series' last update) they log and count. Positions stay
// local (they say how far this node's own sources, such as trace-log
// files, were read) and are saved once the log has the updates: a crash
// in between makes the source send them again, which the replicas refuse
// as not newer than the series' last update.
func (s *LogStore) Apply(ctx context.Context, b store.Batch) (store.Result, error) {
	var res store.Result
	byName := map[string]int{}
	var entries []Entry
	for i, u := range b.Updates {
		d, ok, err := s.definition(u.Series)
		if err != nil {
			return res, err
		}
		switch {
		case !ok:
			err = fmt.Errorf("series %s: %w", u.Series, store.ErrNotFound)
		case len(u.Values) != len(d.spec.DS):
			err = fmt.Errorf("series %s: %d values for %d data sources", u.Series, len(u.Values), len(d.spec.DS))
		case u.Usec < 0 || u.Usec >= 1e6:
			err = fmt.Errorf("series %s: microseconds %d outside [0, 1e6)", u.Series, u.Usec)
		}
		if err != nil {
			res.Errors = append(res.Errors, &store.UpdateError{Index: i, Err: err})
			if b.StopOnError {
				break
			}
			continue
		}
		j, seen := byName[u.Series]
		if !seen {
			j = len(entries)
			byName[u.Series] = j
			entries = append(entries, Entry{Series: u.Series, Spec: d.spec, Meta: d.meta})
		}
		entries[j].Updates = append(entries[j].Updates, Update{Time: u.Time, Usec: u.Usec, Values: u.Values})
		res.Applied++
	}
	if len(entries) > 0 {
		if err := s.log.Append(ctx, entries); err != nil {
			return store.Result{}, fmt.Errorf("cluster log: %d series: %w", len(entries), err)
		}
	}
	if len(b.Positions) > 0 {
		if _, err := s.db.Apply(ctx, store.Batch{Positions: b.Positions}); err != nil {
			return res, fmt.Errorf("positions: %w", err)
		}
	}
	return res, nil
}

// ApplyAsync is Apply: the log has the batch when it returns.
func (s *LogStore) ApplyAsync(ctx context.Context, b store.Batch) (store.Result, func() error, error) {
	res, err := s.Apply(ctx, b)
	return res, func() error { return nil }, err
}

// Delete is refused: deletions are not on the log.
func (s *LogStore) Delete(names ...string) error {
	return fmt.Errorf("delete: %w", ErrNotReplicated)
}

// Rename is refused: renames are not on the log.
func (s *LogStore) Rename(old, new string) error {
	return fmt.Errorf("rename %s: %w", old, ErrNotReplicated)
}

// ExportRRD is refused: the rrdtool file images rrdcached's FLUSH of a
// NAME.rrd writes for rrdtool's local readers (lastupdate, dump) would be
// of this node's replica, which may not hold the series.
func (s *LogStore) ExportRRD(name string) (*rrdfile.File, error) {
	return nil, fmt.Errorf("rrdtool file image of %s: %w", name, ErrNotReplicated)
}

// ImportRRD is refused: an imported file's history is not on the log.
func (s *LogStore) ImportRRD(b []byte, name string, overwrite bool) error {
	return fmt.Errorf("import %s: %w", name, ErrNotReplicated)
}

// The reads are the local store's.

// Position is the local store's source position.
func (s *LogStore) Position(source string) []byte { return s.db.Position(source) }

// LastUpdate is the local store's.
func (s *LogStore) LastUpdate(name string) (int64, error) { return s.db.LastUpdate(name) }

// Spec is the definition this node knows.
func (s *LogStore) Spec(name string) (store.Spec, error) {
	d, ok, err := s.definition(name)
	if err != nil {
		return store.Spec{}, err
	}
	if !ok {
		return store.Spec{}, fmt.Errorf("series %s: %w", name, store.ErrNotFound)
	}
	return d.spec, nil
}

// Info is the local store's.
func (s *LogStore) Info(name string) (*store.Info, error) { return s.db.Info(name) }

// Fetch is the local store's.
func (s *LogStore) Fetch(name string, req store.FetchRequest) (*store.FetchResult, error) {
	return s.db.Fetch(name, req)
}

// List is the local store's.
func (s *LogStore) List(pattern string) ([]string, error) { return s.db.List(pattern) }

// Checkpoint checkpoints the local store.
func (s *LogStore) Checkpoint(ctx context.Context) error { return s.db.Checkpoint(ctx) }
