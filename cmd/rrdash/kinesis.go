package main

import (
	"context"
	"io"

	"rrdash/ingest/kinesis"
	"rrdash/store"
)

// runIngestKinesis implements the long-running `rrdash ingest kinesis
// --endpoint URL --stream NAME [--region R] [--start-at TRIM_HORIZON|LATEST]
// [--grace S] …` (see `rrdash ingest kinesis -h`): it consumes every shard
// of the stream into db, exactly once across restarts, until ctx is done.
func runIngestKinesis(ctx context.Context, db *store.DB, args []string, stdout, stderr io.Writer) error {
	// The dead-letter file goes into the data directory unless --dead-letter
	// says otherwise; the store tells its directory once it has Dir.
	var dir string
	if d, ok := any(db).(interface{ Dir() string }); ok {
		dir = d.Dir()
	}
	return kinesis.RunCommand(ctx, db, kinesis.StoreLookup(db), dir, args, stdout, stderr)
}
