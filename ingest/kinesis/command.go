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

	"github.com/aws/aws-sdk-go-v2/aws"

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
	c, err := New(cfg, db, Options{Logger: log, Lookup: lookup})
	if err != nil {
		return err
	}
	runErr := c.Run(ctx)
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
