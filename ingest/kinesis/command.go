package kinesis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"rrdash/ingest/kinesis/dynamo"
	"rrdash/store"
)

// RunCommand runs `rrdash ingest kinesis ARGS` until ctx is done: it
// parses the arguments, consumes the stream into db and prints a summary to
// stdout when it stops. dataDir holds the default dead-letter file.
func RunCommand(ctx context.Context, db Store, lookup SeriesLookup, dataDir string, args []string, stdout, stderr io.Writer) error {
	cfg, err := ParseArgs(args, dataDir, stderr)
	if err != nil {
		return err
	}
	cfg.Credentials = EnvCredentials()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	opt := Options{Logger: log, Lookup: lookup}
	var leaser *DynamoLeaser
	if cfg.Leases.Table != "" {
		if leaser, err = NewDynamoLeaser(NewDynamoClient(cfg), DynamoConfig{Table: cfg.Leases.Table, Worker: cfg.Leases.Worker,
			Duration: cfg.Leases.Duration, Logger: log}); err != nil {
			return err
		}
		if err := leaser.CreateTable(ctx); err != nil {
			return err
		}
		opt.Leaser = leaser
	}
	c, err := New(cfg, db, opt)
	if err != nil {
		return err
	}
	var leasing sync.WaitGroup
	lctx, stopLeasing := context.WithCancel(ctx)
	if leaser != nil {
		leasing.Go(func() { leaser.Run(lctx) })
	}
	runErr := c.Run(ctx)
	stopLeasing()
	leasing.Wait()
	if leaser != nil {
		// A clean stop hands the shards over at once; a kill leaves them
		// to expire.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if err := leaser.ReleaseAll(rctx); err != nil {
			log.Warn("kinesis: leases not released; they expire", "err", err)
		}
		cancel()
	}
	s := c.Stats()
	fmt.Fprintf(stdout, "kinesis %s: %d records, %d points applied, %d skipped as already handled, %d dead-lettered\n",
		cfg.Stream, s.Counts.Records, s.Counts.Applied, s.Counts.Replayed, sum(s.Counts.Bad))
	for _, r := range slices.Sorted(maps.Keys(s.Counts.Bad)) {
		fmt.Fprintf(stdout, "  %s: %d\n", r, s.Counts.Bad[r])
	}
	return runErr
}

// EnvCredentials uses AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
// AWS_SESSION_TOKEN when set (nil otherwise: static dummy credentials,
// which kinesalite takes). Read once here, at the command's edge.
func EnvCredentials() aws.CredentialsProvider {
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return nil
	}
	creds := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: os.Getenv("AWS_SESSION_TOKEN"), Source: "environment"}
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil })
}

// LastUpdater is the part of store.DB that StoreLookup needs.
type LastUpdater interface {
	LastUpdate(name string) (int64, error)
}

// StoreLookup tells the consumer a series' last update from the store.
func StoreLookup(db LastUpdater) SeriesLookup {
	return func(name string) (int64, bool, error) {
		last, err := db.LastUpdate(name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return 0, false, nil
		case err != nil:
			return 0, false, err
		}
		return last, true, nil
	}
}

// NewDynamoClient builds the DynamoDB client of the lease table, with the
// Kinesis client's region, credentials and HTTP client.
func NewDynamoClient(cfg Config) *dynamo.Client {
	return dynamo.New(cfg.awsOptions(cfg.Leases.Endpoint))
}
