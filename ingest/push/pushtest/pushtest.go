// Package pushtest holds what the tests of the protocols that write
// through push.Writer (remote_write, OTLP) share: a store in a temporary
// directory and a writer over it.
package pushtest

import (
	"testing"

	"rrdash/ingest/push"
	"rrdash/store"
)

// Store opens a store in a temporary directory, closed when the test ends.
func Store(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

// Writer returns a push.Writer over db (not yet running).
func Writer(t testing.TB, db *store.DB, cfg push.WriterConfig) *push.Writer {
	t.Helper()
	w, err := push.NewWriter(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}
