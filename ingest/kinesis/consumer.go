package kinesis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"rrdash/ingest/kinesis/kds"
	"rrdash/store"
)

// Store is what the consumer needs of the store; *store.DB satisfies it.
type Store interface {
	EnsureWithMeta(name string, spec store.Spec, meta map[string]string) (created bool, err error)
	Apply(ctx context.Context, b store.Batch) (store.Result, error)
	Position(source string) []byte
}

// Consumer reads every shard of a stream into the store.
type Consumer struct {
	cfg    Config
	db     Store
	lookup SeriesLookup
	client *kds.Client
	log    *slog.Logger
	leaser Leaser
	cps    Checkpointer
	dec    *Decoder

	mu    sync.Mutex
	stats Stats
}

// Stats is a snapshot of the consumer's own metrics.
type Stats struct {
	Started          time.Time
	Counts           Counts
	RecordsPerSecond float64 // over the last flush intervals
	Buffered         int     // points in the grace buffer
	Shards           map[string]ShardStats
	CaughtUp         bool // every shard read to its tip, nothing buffered
}

// ShardStats describes one shard being read.
type ShardStats struct {
	MillisBehindLatest int64
	AtTip              bool // the last GetRecords returned nothing
	Finished           bool
}

// Options are the parts of a Consumer other than its configuration.
type Options struct {
	Logger *slog.Logger
	// Lookup returns a series' last update; required (store.DB's
	// LastUpdate is wrapped by cmd, telling "no such series" apart).
	Lookup       SeriesLookup
	Leaser       Leaser       // default: LocalLeaser
	Checkpointer Checkpointer // default: StoreCheckpointer on db
}

// New checks the configuration and builds a consumer.
func New(cfg Config, db Store, opt Options) (*Consumer, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if opt.Lookup == nil {
		return nil, errors.New("kinesis: no series lookup")
	}
	dec, err := NewDecoder(cfg.Decoder)
	if err != nil {
		return nil, fmt.Errorf("kinesis: %w", err)
	}
	c := &Consumer{cfg: cfg, db: db, lookup: opt.Lookup, log: opt.Logger, leaser: opt.Leaser, cps: opt.Checkpointer, dec: dec}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.leaser == nil {
		c.leaser = NewLocalLeaser()
	}
	if c.cps == nil {
		c.cps = StoreCheckpointer{Store: db, Stream: cfg.Stream}
	}
	c.client = NewClient(cfg)
	return c, nil
}

// NewClient builds the Kinesis client of the configuration.
func NewClient(cfg Config) *kds.Client { return kds.New(cfg.awsOptions(cfg.Endpoint)) }

// awsOptions are the AWS client options of the configuration, with the
// service's endpoint URL (empty: AWS's for the region). Without
// credentials, static dummy ones, which kinesalite and dynalite accept.
func (cfg Config) awsOptions(endpoint string) kds.Options {
	creds := cfg.Credentials
	if creds == nil {
		creds = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "rrdash", SecretAccessKey: "rrdash", Source: "rrdash static"}, nil
		})
	}
	return kds.Options{Region: cfg.Region, Credentials: creds, Endpoint: endpoint, HTTPClient: cfg.HTTPClient}
}

// Stats returns a snapshot of the metrics.
func (c *Consumer) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Counts.Bad = maps.Clone(s.Counts.Bad)
	s.Shards = maps.Clone(s.Shards)
	return s
}

// run state owned by the applier goroutine.
type runState struct {
	c          *Consumer
	tr         *tracker
	dl         *deadLetterFile
	known      map[string]shardInfo
	running    map[string]*runningShard
	ended      map[string]Lease // read to the end; lease released once finished is durable
	synced     map[string]bool  // shards given to the leaser's SyncShards
	shardStats map[string]ShardStats
	fresh      bool // no checkpoint at the first listing: StartAt applies
	listed     bool
	batches    chan shardBatch
	nudge      chan struct{}
	caughtUp   bool
	rate       rateMeter
	lastSnap   time.Time // when this run last saved the grace buffer
}

// Run consumes until ctx is done (returns nil) or an error that needs a
// restart (store or dead-letter file failing). Everything durable when it
// returns stays consistent; a kill -9 is handled the same way.
func (c *Consumer) Run(ctx context.Context) error {
	dl, err := openDeadLetters(c.cfg.DeadLetterPath)
	if err != nil {
		return fmt.Errorf("kinesis: %w", err)
	}
	defer dl.Close()
	from, err := c.cps.DeadLetterOffset()
	if err != nil {
		return fmt.Errorf("kinesis: %w", err)
	}
	tr := newTracker(c.dec, c.cfg.Grace, c.cfg.IdleFlush, c.lookup)
	known, err := dl.Scan(from, c.log, tr.rememberDeadLetter)
	if err != nil {
		return fmt.Errorf("kinesis: %w", err)
	}
	restored, err := c.restoreBuffer(tr)
	if err != nil {
		return fmt.Errorf("kinesis: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rs := &runState{
		c: c, tr: tr, dl: dl,
		known: map[string]shardInfo{}, running: map[string]*runningShard{}, ended: map[string]Lease{}, synced: map[string]bool{},
		shardStats: map[string]ShardStats{},
		batches:    make(chan shardBatch, 4),
		nudge:      make(chan struct{}, 1),
	}
	c.mu.Lock()
	c.stats = Stats{Started: time.Now(), Counts: Counts{Bad: map[Reason]int64{}}}
	c.mu.Unlock()
	c.log.Info("kinesis: consumer starting", "stream", c.cfg.Stream, "endpoint", c.cfg.Endpoint,
		"dead_letter", c.cfg.DeadLetterPath, "dead_letters_known", known, "buffered_points_restored", restored, "grace", c.cfg.Grace)
	if _, local := c.leaser.(*LocalLeaser); local {
		// Nothing tells a second consumer of the stream that this one exists.
		c.log.Warn("kinesis: this consumer reads the whole stream; consumers do not coordinate, so every other consumer of it (another data directory or host) reads all of it too",
			"stream", c.cfg.Stream)
	}

	lists := make(chan []shardInfo, 1)
	var wg sync.WaitGroup
	defer func() {
		// Readers and the lister stop on ctx; wait so none outlives Run.
		cancel()
		wg.Wait()
		for _, r := range rs.running {
			<-r.done
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.listLoop(ctx, rs.nudge, lists)
	}()

	tick := time.NewTicker(c.cfg.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case shards := <-lists:
			if err := rs.onShards(ctx, shards); err != nil {
				return err
			}
		case b := <-rs.batches:
			if err := rs.onBatch(b); err != nil {
				return err
			}
		case <-tick.C:
			if err := rs.flush(ctx, false); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
	}
}

// restoreBuffer registers the shards of the saved grace buffer snapshot
// with their positions and puts its points back; it returns how many.
func (c *Consumer) restoreBuffer(tr *tracker) (int64, error) {
	snap, err := decodeBuffer(c.cps.Buffer())
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", c.cfg.Stream, err)
	}
	for id := range snap {
		cp, err := c.cps.Load(id)
		if err != nil {
			return 0, err
		}
		tr.addShard(id, cp)
	}
	if err := tr.restore(snap, time.Now()); err != nil {
		return 0, fmt.Errorf("stream %s: %w", c.cfg.Stream, err)
	}
	return tr.counts.Points, nil
}

func (c *Consumer) template() store.Spec {
	s := c.cfg.Template
	s.DS = slices.Clone(s.DS)
	s.RRA = slices.Clone(s.RRA)
	return s
}
