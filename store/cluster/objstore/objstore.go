// Package objstore keeps cluster shard snapshots in S3-compatible object
// storage, for a replica group with no peer group to hand a dead node's
// shards over from: the shard holders put a snapshot now and then, and a
// node taking a shard over restores the newest one and reads the stream
// from its position.
package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"rrdash/store/cluster"
)

// Config names the bucket.
type Config struct {
	Bucket   string
	Prefix   string // key prefix, e.g. the stream name
	Endpoint string // e.g. http://127.0.0.1:4568; empty: AWS's for Region
	Region   string // default us-east-1
	// Credentials signs requests; nil: static dummy credentials (s3rver).
	Credentials aws.CredentialsProvider
	Logger      *slog.Logger
}

// Bucket is a bucket of shard snapshots: key PREFIX/SHARD/POSITION.snap.gz,
// POSITION zero-padded to 64 digits so that keys sort as positions do.
type Bucket struct {
	client *s3Client
	cfg    Config
	log    *slog.Logger
}

// New checks cfg and builds the client (path-style addressing, which
// S3-compatible servers expect).
func New(cfg Config) (*Bucket, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("objstore: no bucket")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	creds := cfg.Credentials
	if creds == nil {
		creds = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "S3RVER", SecretAccessKey: "S3RVER", Source: "rrdash static"}, nil
		})
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Bucket{client: newS3Client(cfg.Endpoint, cfg.Region, creds), cfg: cfg, log: log}, nil
}

// CreateBucket creates the bucket unless it exists (tests; production
// buckets are made by their owners).
func (b *Bucket) CreateBucket(ctx context.Context) error {
	err := b.client.createBucket(ctx, b.cfg.Bucket)
	if err != nil && !isS3Code(err, "BucketAlreadyOwnedByYou", "BucketAlreadyExists") {
		return fmt.Errorf("objstore: create bucket %s: %w", b.cfg.Bucket, err)
	}
	return nil
}

func (b *Bucket) dir(shard string) string {
	if b.cfg.Prefix == "" {
		return shard + "/"
	}
	return strings.TrimSuffix(b.cfg.Prefix, "/") + "/" + shard + "/"
}

const posDigits = 64

// Put stores a snapshot under its position.
func (b *Bucket) Put(ctx context.Context, snap *cluster.ShardSnapshot) error {
	if snap.Position == "" || len(snap.Position) > posDigits || strings.Trim(snap.Position, "0123456789") != "" {
		return fmt.Errorf("objstore: snapshot of %s: position %q is not a sequence number", snap.Shard, snap.Position)
	}
	// The request is signed with the body's SHA-256: buffer the compressed form.
	var body bytes.Buffer
	if err := cluster.WriteSnapshot(&body, snap); err != nil {
		return fmt.Errorf("objstore: %w", err)
	}
	key := b.dir(snap.Shard) + strings.Repeat("0", posDigits-len(snap.Position)) + snap.Position + ".snap.gz"
	// A snapshot at a position already stored is the same state: a key is
	// written once, never overwritten, so a put cut short (the replica
	// stopping mid-request) cannot truncate a good snapshot that a node
	// taking the shard over is about to read.
	have, err := b.keys(ctx, snap.Shard)
	if err != nil {
		return err
	}
	if slices.Contains(have, key) {
		return nil
	}
	if err := b.client.putObject(ctx, b.cfg.Bucket, key, body.Bytes()); err != nil {
		return fmt.Errorf("objstore: put %s: %w", key, err)
	}
	b.log.Info("cluster: shard snapshot stored", "shard", snap.Shard, "position", snap.Position, "series", len(snap.Series), "bytes", body.Len(), "key", key)
	// Older snapshots of the shard are of no more use once this one is
	// stored; the one before it is kept in case this one is unreadable.
	keys := append(have, key)
	slices.Sort(keys)
	for _, k := range keys[:max(len(keys)-2, 0)] {
		if err := b.client.deleteObject(ctx, b.cfg.Bucket, k); err != nil {
			b.log.Warn("cluster: old shard snapshot not deleted", "key", k, "err", err)
		}
	}
	return nil
}

// keys lists the snapshot keys of shard, oldest first.
func (b *Bucket) keys(ctx context.Context, shard string) ([]string, error) {
	all, err := b.client.listKeys(ctx, b.cfg.Bucket, b.dir(shard))
	if err != nil {
		return nil, fmt.Errorf("objstore: list %s: %w", b.dir(shard), err)
	}
	var keys []string
	for _, k := range all {
		if strings.HasSuffix(k, ".snap.gz") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

// Newest fetches the newest snapshot of shard; nil, nil when there is none.
func (b *Bucket) Newest(ctx context.Context, shard string) (*cluster.ShardSnapshot, error) {
	keys, err := b.keys(ctx, shard)
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	newest := keys[len(keys)-1]
	body, err := b.client.getObject(ctx, b.cfg.Bucket, newest)
	if err != nil {
		return nil, fmt.Errorf("objstore: get %s: %w", newest, err)
	}
	defer body.Close()
	snap, err := cluster.ReadSnapshot(body)
	if err != nil {
		return nil, fmt.Errorf("objstore: %s: %w", newest, err)
	}
	if snap.Shard != shard || snap.Position == "" {
		return nil, fmt.Errorf("objstore: %s holds a snapshot of %q at %q", newest, snap.Shard, snap.Position)
	}
	return snap, nil
}
