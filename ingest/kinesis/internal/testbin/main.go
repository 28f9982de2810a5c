// Command testbin runs the Kinesis consumer exactly as `rrdash ingest
// kinesis` does, for the kill -9 test while cmd/rrdash does not have the
// subcommand yet:
//
//	testbin DATADIR [kinesis flags…]
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"rrdash/ingest/kinesis"
	"rrdash/store"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: testbin DATADIR [kinesis flags…]")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "testbin:", err)
		os.Exit(1)
	}
}

func run(dir string, args []string) error {
	if dir == "" {
		return fmt.Errorf("no -data directory")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		return err
	}
	runErr := kinesis.RunCommand(ctx, db, kinesis.StoreLookup(db), dir, args, os.Stdout, os.Stderr)
	if err := db.Close(); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}
