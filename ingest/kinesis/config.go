package kinesis

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"rrdash/ingest/horizon"
	"rrdash/ingest/kinesis/kds"
	"rrdash/store"
)

// StartAt is where a shard without a checkpoint is read from.
type StartAt string

// Start positions.
const (
	TrimHorizon StartAt = "TRIM_HORIZON" // the oldest record kept
	Latest      StartAt = "LATEST"       // only records put after the consumer first starts
)

// Config configures a Consumer.
type Config struct {
	Stream   string
	Endpoint string // e.g. http://127.0.0.1:4567 for kinesalite; empty: AWS's endpoint for Region
	Region   string
	// Credentials signs requests; nil uses static dummy credentials,
	// which kinesalite accepts.
	Credentials aws.CredentialsProvider
	// HTTPClient is optional (an http.Client with a 30 s timeout otherwise).
	HTTPClient kds.HTTPClient

	StartAt StartAt
	// Grace is how long (in point time) a series' points wait for older
	// points from other shards or producers. Default: the template's step.
	Grace time.Duration
	// IdleFlush applies a series' buffered points once no point of it
	// arrived for this long (wall time). Default: Grace.
	IdleFlush time.Duration
	// FlushInterval is how often buffered points leave for the store.
	FlushInterval time.Duration
	// PollInterval is the wait after a GetRecords that returned nothing;
	// MinCallInterval spaces GetRecords calls on one shard (Kinesis allows
	// five per second per shard).
	PollInterval, MinCallInterval time.Duration
	// ListInterval is how often shards are listed to find new ones.
	ListInterval time.Duration
	// CheckpointInterval is how often the grace buffer is saved with the
	// checkpoints (besides with the first batch of a run), so that a
	// restart resumes after the records read instead of after the oldest
	// point still buffered. Default 30s.
	CheckpointInterval time.Duration
	// Limit is the GetRecords record limit (1..10000).
	Limit int32

	// Template creates series on first sight; its Start is ignored (set
	// from the first point). DS must have exactly one data source.
	Template store.Spec
	Decoder  DecoderConfig
	// DeadLetterPath is the dead-letter file (JSON lines).
	DeadLetterPath string

	// Leases, when Leases.Table is set, shares the stream's shards with
	// the other consumers of that DynamoDB lease table (DynamoLeaser)
	// instead of reading every shard.
	Leases LeaseConfig
}

// LeaseConfig names the DynamoDB lease table of a group of consumers.
type LeaseConfig struct {
	Table    string
	Endpoint string        // DynamoDB endpoint URL; empty: AWS's for the region
	Worker   string        // this consumer's id; default HOST:DATA-DIRECTORY
	Duration time.Duration // failover time (default 10s)
}

// DefaultTemplate is store.DefaultTemplate, the template every source shares.
func DefaultTemplate() store.Spec { return store.DefaultTemplate() }

var defaultRRAs = []string{"1m:2d", "5m:2w", "1h:13M", "1d:10y"}

func templateSpec(step int64, ds, rra []string) (store.Spec, error) {
	if len(ds) == 0 {
		ds = []string{"DS:value:GAUGE:600:U:U"}
	}
	if len(rra) == 0 {
		for _, span := range defaultRRAs {
			for _, cf := range []string{"AVERAGE", "MIN", "MAX", "LAST"} {
				rra = append(rra, "RRA:"+cf+":0.5:"+span)
			}
		}
	}
	args := append(append([]string{}, ds...), rra...)
	s, err := store.ParseSpecArgs(step, 0, args)
	if err != nil {
		return store.Spec{}, fmt.Errorf("series template: %w", err)
	}
	if len(s.DS) != 1 {
		return store.Spec{}, fmt.Errorf("series template: want exactly one data source, got %d", len(s.DS))
	}
	return s, nil
}

func (c *Config) setDefaults() error {
	if c.Stream == "" {
		return errors.New("kinesis: no stream name")
	}
	if !validStreamName(c.Stream) {
		return fmt.Errorf("kinesis: stream name %q: want 1-128 of [a-zA-Z0-9_.-]", c.Stream)
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	switch c.StartAt {
	case "":
		c.StartAt = TrimHorizon
	case TrimHorizon, Latest:
	default:
		return fmt.Errorf("kinesis: start at %q: want TRIM_HORIZON or LATEST", c.StartAt)
	}
	if c.Template.Step == 0 {
		c.Template = DefaultTemplate()
	}
	if len(c.Template.DS) != 1 {
		return fmt.Errorf("kinesis: series template: want exactly one data source, got %d", len(c.Template.DS))
	}
	if err := c.Template.Validate(); err != nil {
		return fmt.Errorf("kinesis: series template: %w", err)
	}
	if c.Grace == 0 {
		c.Grace = time.Duration(c.Template.Step) * time.Second
	}
	if c.IdleFlush == 0 {
		c.IdleFlush = c.Grace
	}
	defaults := []struct {
		v   *time.Duration
		def time.Duration
	}{{&c.FlushInterval, time.Second}, {&c.PollInterval, time.Second}, {&c.MinCallInterval, 200 * time.Millisecond}, {&c.ListInterval, 30 * time.Second}, {&c.CheckpointInterval, 30 * time.Second}}
	for _, d := range defaults {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	for name, d := range map[string]time.Duration{"grace": c.Grace, "idle flush": c.IdleFlush, "flush interval": c.FlushInterval,
		"poll interval": c.PollInterval, "min call interval": c.MinCallInterval, "list interval": c.ListInterval, "checkpoint interval": c.CheckpointInterval} {
		if d < 0 {
			return fmt.Errorf("kinesis: %s %v is negative", name, d)
		}
	}
	if c.Limit == 0 {
		c.Limit = 10000
	}
	if c.Limit < 1 || c.Limit > 10000 {
		return fmt.Errorf("kinesis: limit %d: want 1..10000", c.Limit)
	}
	if c.DeadLetterPath == "" {
		return errors.New("kinesis: no dead-letter file")
	}
	return nil
}

// validStreamName is Kinesis' rule: 1-128 of [a-zA-Z0-9_.-]. (Written out:
// a {1,128} regexp costs milliseconds at every process start.)
func validStreamName(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// Usage is the first line of `rrdash ingest kinesis --help`.
const Usage = "usage: rrdash ingest kinesis --stream NAME [--endpoint URL] [flags]\n" +
	"  Every consumer reads the whole stream: run one per stream (shards are not split between consumers)."

// cliFlags are the command line's values before they become a Config.
type cliFlags struct {
	c                             Config
	startAt, grace, tags, ds, rra string
	step                          int64
	limit                         int
}

func newFlagSet(a *cliFlags, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("rrdash ingest kinesis", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), Usage)
		fs.PrintDefaults()
	}
	c := &a.c
	fs.StringVar(&c.Endpoint, "endpoint", "", "Kinesis endpoint URL, e.g. http://127.0.0.1:4567 (default: AWS's for the region)")
	fs.StringVar(&c.Stream, "stream", "", "stream name (required)")
	fs.StringVar(&c.Region, "region", "us-east-1", "AWS region")
	fs.StringVar(&a.startAt, "start-at", string(TrimHorizon), "where shards without a checkpoint start: TRIM_HORIZON or LATEST")
	fs.StringVar(&a.grace, "grace", "", "grace window for out-of-order points: seconds or a duration like 2m (default: one step)")
	fs.DurationVar(&c.IdleFlush, "idle-flush", 0, "apply a series' buffered points after this long without a new point (default: the grace)")
	fs.DurationVar(&c.FlushInterval, "flush-interval", time.Second, "how often points are written to the store")
	fs.DurationVar(&c.PollInterval, "poll", time.Second, "wait after an empty GetRecords")
	fs.DurationVar(&c.MinCallInterval, "min-call-interval", 200*time.Millisecond, "minimum time between GetRecords calls on a shard")
	fs.DurationVar(&c.ListInterval, "list-interval", 30*time.Second, "how often shards are listed to find new ones")
	fs.DurationVar(&c.CheckpointInterval, "checkpoint-interval", 30*time.Second, "how often the grace buffer is saved with the checkpoints (also with a run's first batch)")
	fs.IntVar(&a.limit, "limit", 10000, "records per GetRecords (1..10000)")
	fs.Int64Var(&a.step, "step", 60, "step of new series in seconds")
	fs.StringVar(&a.ds, "ds", "DS:value:GAUGE:600:U:U", "data source of new series (exactly one)")
	fs.StringVar(&a.rra, "rra", "", "archives of new series, space-separated RRA:CF:xff:steps:rows (default 1m:2d 5m:2w 1h:13M 1d:10y × AVERAGE MIN MAX LAST)")
	fs.StringVar(&a.tags, "tags", "", "extra record fields kept as Graphite tags: comma-separated names, or * for all")
	fs.DurationVar(&c.Decoder.MaxFuture, "max-future", horizon.DefaultMaxFuture, "points more than this after their record's arrival are absurd")
	fs.StringVar(&c.DeadLetterPath, "dead-letter", "", "dead-letter file (default DATA/kinesis-STREAM.deadletter.jsonl)")
	fs.StringVar(&c.Leases.Table, "lease-table", "", "DynamoDB lease table shared with other consumers of the stream, which split its shards (default: none, read every shard)")
	fs.StringVar(&c.Leases.Endpoint, "dynamodb-endpoint", "", "DynamoDB endpoint URL for --lease-table (default: AWS's for the region)")
	fs.StringVar(&c.Leases.Worker, "worker-id", "", "this consumer's id in the lease table (default HOST:DATA-DIRECTORY)")
	fs.DurationVar(&c.Leases.Duration, "lease-duration", 10*time.Second, "a lease not renewed for this long is taken over by another consumer")
	return fs
}

// PrintUsage writes the usage and every flag with its default to w.
func PrintUsage(w io.Writer) {
	newFlagSet(&cliFlags{}, w).Usage()
}

// ParseArgs parses the `rrdash ingest kinesis` arguments. dataDir is the
// store's directory, where the dead-letter file goes by default. -h and
// --help print the usage to stderr and return flag.ErrHelp.
func ParseArgs(args []string, dataDir string, stderr io.Writer) (Config, error) {
	var a cliFlags
	fs := newFlagSet(&a, stderr)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	c, startAt, grace, tags, ds, rra, step, limit := a.c, a.startAt, a.grace, a.tags, a.ds, a.rra, a.step, &a.limit
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("rrdash ingest kinesis: unexpected argument %q", fs.Arg(0))
	}
	c.StartAt = StartAt(strings.ToUpper(startAt))
	c.Limit = int32(*limit)
	if *limit < 1 || *limit > 10000 {
		return Config{}, fmt.Errorf("rrdash ingest kinesis: --limit %d: want 1..10000", *limit)
	}
	if step <= 0 {
		return Config{}, fmt.Errorf("rrdash ingest kinesis: --step %d: must be positive", step)
	}
	var err error
	if c.Template, err = templateSpec(step, []string{ds}, strings.Fields(rra)); err != nil {
		return Config{}, fmt.Errorf("rrdash ingest kinesis: %w", err)
	}
	if grace != "" {
		if c.Grace, err = parseGrace(grace); err != nil {
			return Config{}, fmt.Errorf("rrdash ingest kinesis: --grace: %w", err)
		}
	}
	if tags != "" {
		c.Decoder.Tags = strings.Split(tags, ",")
	}
	if c.Leases.Table == "" {
		var stray []string
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "dynamodb-endpoint" || f.Name == "worker-id" || f.Name == "lease-duration" {
				stray = append(stray, "--"+f.Name)
			}
		})
		if len(stray) > 0 {
			return Config{}, fmt.Errorf("rrdash ingest kinesis: %s need --lease-table", strings.Join(stray, ", "))
		}
	}
	if c.Leases.Table != "" && c.Leases.Worker == "" {
		host, err := os.Hostname()
		if err != nil {
			return Config{}, fmt.Errorf("rrdash ingest kinesis: --worker-id not given and no host name: %w", err)
		}
		abs, err := filepath.Abs(dataDir)
		if err != nil {
			return Config{}, fmt.Errorf("rrdash ingest kinesis: --worker-id: %w", err)
		}
		// Stable across restarts: a restarted consumer retakes its own
		// leases at once instead of waiting for them to expire.
		c.Leases.Worker = host + ":" + abs
	}
	if c.DeadLetterPath == "" && c.Stream != "" {
		if dataDir == "" {
			return Config{}, errors.New("rrdash ingest kinesis: no data directory: give --dead-letter")
		}
		c.DeadLetterPath = filepath.Join(dataDir, "kinesis-"+c.Stream+".deadletter.jsonl")
	}
	if err := c.setDefaults(); err != nil {
		return Config{}, fmt.Errorf("rrdash ingest kinesis: %w", err)
	}
	return c, nil
}

// parseGrace takes whole seconds ("60") or a Go duration ("90s", "2m").
func parseGrace(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > 1<<32 {
			return 0, fmt.Errorf("%q: out of range", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q: want seconds or a duration like 90s", s)
	}
	return d, nil
}
