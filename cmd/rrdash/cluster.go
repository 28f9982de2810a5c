package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"rrdash/ingest/kinesis"
	"rrdash/ingest/monitor"
	"rrdash/ingest/push"
	"rrdash/ingest/rrdcached"
	"rrdash/ingest/tracelog"
	"rrdash/rpn"
	"rrdash/store"
	"rrdash/store/cluster"
	"rrdash/store/cluster/objstore"
	"rrdash/ui"
	"rrdash/ui/graphite"
)

// writeStore is the store write interface every ingest path of serve
// writes through: the local *store.DB in single-node mode, the cluster
// log (*cluster.LogStore) in cluster mode.
type writeStore interface {
	push.Sink
	tracelog.Sink
	monitor.Sink
	kinesis.Store
	rrdcached.Store
}

var (
	_ writeStore = (*store.DB)(nil)
	_ writeStore = (*cluster.LogStore)(nil)
	// a tag DEF on a cluster node sums on the shards' holders
	_ rpn.TagSummer = (*cluster.RoutedStore)(nil)
	// and Graphite's sums, averages, minima and maxima on the holders
	_ graphite.HolderRunner = (*cluster.RoutedStore)(nil)
)

// clusterFlags are serve's --cluster-* flags (each overrides its
// [cluster] key).
type clusterFlags struct {
	vals map[string]*string
}

var clusterFlagKeys = []struct{ flag, key, usage string }{
	{"cluster-stream", "stream", "cluster mode: the Kinesis stream every write goes to (default off: single node; env RRDASH_CLUSTER_STREAM)"},
	{"cluster-endpoint", "endpoint", "cluster mode: Kinesis endpoint URL (env RRDASH_CLUSTER_ENDPOINT)"},
	{"cluster-group", "group", "cluster mode: this node's replica group (env RRDASH_CLUSTER_GROUP)"},
	{"cluster-groups", "groups", "cluster mode: every replica group, comma separated, reads fall back in this order (default: the node's group; env RRDASH_CLUSTER_GROUPS)"},
	{"cluster-node", "node", "cluster mode: this node's id, unique in the cluster (env RRDASH_CLUSTER_NODE)"},
	{"cluster-advertise-url", "advertise_url", "cluster mode: the URL other nodes reach this one at, http://HOST:PORT (env RRDASH_CLUSTER_ADVERTISE_URL)"},
	{"cluster-lease-table", "lease_table", "cluster mode: prefix of the DynamoDB lease tables, one per group: PREFIX-GROUP (env RRDASH_CLUSTER_LEASE_TABLE)"},
	{"cluster-lease-endpoint", "lease_endpoint", "cluster mode: DynamoDB endpoint URL (env RRDASH_CLUSTER_LEASE_ENDPOINT)"},
	{"cluster-lease-duration", "lease_duration", "cluster mode: failover time of a shard lease (default 10s; env RRDASH_CLUSTER_LEASE_DURATION)"},
	{"cluster-secret-file", "secret_file", "cluster mode: file with the secret nodes show each other on peer reads (env RRDASH_CLUSTER_SECRET_FILE)"},
	{"cluster-snapshot-bucket", "snapshot_bucket", "cluster mode: S3 bucket for shard snapshots, for a group with no peer group (default none; env RRDASH_CLUSTER_SNAPSHOT_BUCKET)"},
	{"cluster-snapshot-endpoint", "snapshot_endpoint", "cluster mode: S3 endpoint URL of the snapshot bucket (env RRDASH_CLUSTER_SNAPSHOT_ENDPOINT)"},
	{"cluster-snapshot-interval", "snapshot_interval", "cluster mode: how often a shard holder stores a snapshot (default 10m; env RRDASH_CLUSTER_SNAPSHOT_INTERVAL)"},
}

func newClusterFlags(fs *flag.FlagSet) *clusterFlags {
	cf := &clusterFlags{vals: map[string]*string{}}
	for _, f := range clusterFlagKeys {
		cf.vals[f.key] = fs.String(f.flag, "", f.usage)
	}
	return cf
}

// apply copies the flags given into c.
func (cf *clusterFlags) apply(c *ui.ClusterConfig) {
	set := func(key string, dst *string) {
		if v := *cf.vals[key]; v != "" {
			*dst = v
		}
	}
	set("stream", &c.Stream)
	set("endpoint", &c.Endpoint)
	set("group", &c.Group)
	set("node", &c.Node)
	set("advertise_url", &c.AdvertiseURL)
	set("lease_table", &c.LeaseTable)
	set("lease_endpoint", &c.LeaseEndpoint)
	set("lease_duration", &c.LeaseDuration)
	set("secret_file", &c.SecretFile)
	set("snapshot_bucket", &c.SnapshotBucket)
	set("snapshot_endpoint", &c.SnapshotEndpoint)
	set("snapshot_interval", &c.SnapshotInterval)
	if v := *cf.vals["groups"]; v != "" {
		c.Groups = strings.Split(v, ",")
	}
}

// clusterNode is a running cluster node: its write door, its routed reads,
// the peer protocol handler, and the replica building its archives.
type clusterNode struct {
	writes  *cluster.LogStore
	reads   *cluster.RoutedStore
	peer    *cluster.PeerServer
	replica *kinesis.Replica
	leaser  *kinesis.DynamoLeaser
	self    cluster.Node
}

// checkClusterConfig refuses an incomplete [cluster] section: every key a
// node needs is named.
func checkClusterConfig(c ui.ClusterConfig) (time.Duration, error) {
	for _, k := range []struct{ name, v string }{{"group", c.Group}, {"node", c.Node}, {"advertise_url", c.AdvertiseURL},
		{"lease_table", c.LeaseTable}, {"secret_file", c.SecretFile}} {
		if k.v == "" {
			return 0, fmt.Errorf("[cluster] stream is set but %s is not: a cluster node needs stream, group, node, advertise_url, lease_table and secret_file", k.name)
		}
	}
	if strings.ContainsAny(c.Node, "@ ") {
		return 0, fmt.Errorf("[cluster] node %q: no '@' or space", c.Node)
	}
	if u, err := url.Parse(c.AdvertiseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return 0, fmt.Errorf("[cluster] advertise_url %q: want http(s)://HOST:PORT", c.AdvertiseURL)
	}
	if len(c.Groups) > 0 && !slices.Contains(c.Groups, c.Group) {
		return 0, fmt.Errorf("[cluster] groups %v do not include this node's group %q", c.Groups, c.Group)
	}
	d := 10 * time.Second
	if c.LeaseDuration != "" {
		var err error
		if d, err = time.ParseDuration(c.LeaseDuration); err != nil || d < time.Second {
			return 0, fmt.Errorf("[cluster] lease_duration %q: want a duration of at least 1s", c.LeaseDuration)
		}
	}
	if c.SnapshotBucket == "" && (c.SnapshotEndpoint != "" || c.SnapshotInterval != "") {
		return 0, errors.New("[cluster] snapshot_endpoint or snapshot_interval is set but snapshot_bucket is not")
	}
	if _, err := snapshotInterval(c); err != nil {
		return 0, err
	}
	return d, nil
}

func snapshotInterval(c ui.ClusterConfig) (time.Duration, error) {
	if c.SnapshotInterval == "" {
		return 10 * time.Minute, nil
	}
	d, err := time.ParseDuration(c.SnapshotInterval)
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("[cluster] snapshot_interval %q: want a duration of at least 1s", c.SnapshotInterval)
	}
	return d, nil
}

// startCluster starts a node's lease worker and replica (they stop with
// ctx; wg waits for them, and the leases are released at a clean stop).
func startCluster(ctx context.Context, wg *sync.WaitGroup, c ui.ClusterConfig, db *store.DB, log *slog.Logger) (*clusterNode, error) {
	leaseDur, err := checkClusterConfig(c)
	if err != nil {
		return nil, err
	}
	secret, err := os.ReadFile(c.SecretFile)
	if err != nil {
		return nil, fmt.Errorf("[cluster] secret_file: %w", err)
	}
	if s := strings.TrimSpace(string(secret)); len(s) < 16 {
		return nil, fmt.Errorf("[cluster] secret_file %s: want a secret of at least 16 characters", c.SecretFile)
	}
	self := cluster.Node{ID: c.Node, URL: strings.TrimRight(c.AdvertiseURL, "/")}
	kc := kinesis.Config{Stream: c.Stream, Endpoint: c.Endpoint, Region: c.Region, Credentials: kinesis.EnvCredentials(),
		Leases: kinesis.LeaseConfig{Endpoint: c.LeaseEndpoint},
		// leases are taken at shard listings: list often enough that a
		// lease taken over is read within about half its duration
		ListInterval: leaseDur / 2, PollInterval: 250 * time.Millisecond}
	producer := kinesis.NewProducer(kc, log)
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	retention, err := producer.Retention(rctx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("[cluster]: %w", err)
	}
	// Without a snapshot a node that takes a shard over replays it from the
	// stream's oldest record: history older than the retention is not
	// rebuilt there.
	log.Info("cluster: stream retention bounds how far back a node taking a shard over replays it", "stream", c.Stream, "retention", retention)
	ddb := kinesis.NewDynamoClient(kc)
	groups := c.Groups
	if len(groups) == 0 {
		groups = []string{c.Group}
	}
	tables := []kinesis.GroupTable{{Group: c.Group, Table: c.LeaseTable + "-" + c.Group}}
	for _, g := range groups {
		if g != c.Group {
			tables = append(tables, kinesis.GroupTable{Group: g, Table: c.LeaseTable + "-" + g})
		}
	}
	leaser, err := kinesis.NewDynamoLeaser(ddb, kinesis.DynamoConfig{Table: tables[0].Table, Worker: self.WorkerID(), Duration: leaseDur, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("[cluster]: %w", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	err = leaser.CreateTable(tctx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("[cluster]: %w", err)
	}
	replica, err := kinesis.NewReplica(kc, db, leaser, log)
	if err != nil {
		return nil, fmt.Errorf("[cluster]: %w", err)
	}
	topo, err := kinesis.NewTopology(kc, ddb, tables, time.Second)
	if err != nil {
		return nil, fmt.Errorf("[cluster]: %w", err)
	}
	// writes of many series share a record per shard (KPL-style)
	producer.Aggregate(func(ctx context.Context) (*cluster.Router, error) {
		v, err := topo.View(ctx)
		if err != nil {
			return nil, err
		}
		return v.Router, nil
	})
	serving := func(shard string) bool {
		return replica.Serving(shard) && slices.Contains(leaser.Held(), shard)
	}
	n := &clusterNode{
		writes:  cluster.NewLogStore(db, producer),
		reads:   cluster.NewRoutedStore(cluster.RoutedConfig{Local: db, Self: self, Topo: topo, Serving: serving, Secret: strings.TrimSpace(string(secret))}),
		peer:    &cluster.PeerServer{Local: db, Topo: topo, Serving: serving, Secret: strings.TrimSpace(string(secret)), Log: log},
		replica: replica, leaser: leaser, self: self,
	}
	n.peer.Snapshots = replica
	// Graphite's decomposable aggregates run on the holders of the series
	partial := graphite.PartialFunc(db)
	n.reads.RegisterHolder(graphite.HolderPartial, partial)
	n.peer.Holders = map[string]cluster.HolderFunc{graphite.HolderPartial: partial}
	if err := replica.EnableHandoff(n.reads.FetchSnapshot); err != nil {
		return nil, fmt.Errorf("[cluster]: %w", err)
	}
	// after a reshard a child's first owner takes the parents' series
	if err := replica.EnableInherit(n.reads.FetchEnded); err != nil {
		return nil, fmt.Errorf("[cluster]: %w", err)
	}
	if c.SnapshotBucket != "" {
		every, _ := snapshotInterval(c) // checked above
		bucket, err := objstore.New(objstore.Config{Bucket: c.SnapshotBucket, Prefix: c.Stream, Endpoint: c.SnapshotEndpoint, Region: c.Region,
			Credentials: kinesis.EnvCredentials(), Logger: log})
		if err != nil {
			return nil, fmt.Errorf("[cluster]: %w", err)
		}
		member := func(ctx context.Context) (func(shard, name string) bool, error) {
			v, err := topo.View(ctx)
			if err != nil {
				return nil, err
			}
			return func(shard, name string) bool { return v.Router.Shard(name) == shard }, nil
		}
		if err := replica.EnableBucket(bucket, every, member); err != nil {
			return nil, fmt.Errorf("[cluster]: %w", err)
		}
		log.Info("cluster: shard snapshots in object storage", "bucket", c.SnapshotBucket, "endpoint", c.SnapshotEndpoint, "every", every)
		if every >= retention {
			log.Warn("cluster: snapshot_interval is not shorter than the stream's retention: a shard restored from its last snapshot may miss records the stream no longer holds",
				"snapshot_interval", every, "retention", retention)
		}
	} else if len(groups) == 1 {
		log.Warn("cluster: one replica group and no snapshot_bucket: a shard whose only holder dies is rebuilt from the stream, as far back as its retention reaches",
			"retention", retention)
	}
	lctx, stopLeasing := context.WithCancel(context.WithoutCancel(ctx))
	var leasing sync.WaitGroup
	leasing.Go(func() { _ = leaser.Run(lctx) })
	wg.Go(func() {
		if err := replica.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("cluster: replica stopped", "error", err)
		}
		stopLeasing()
		leasing.Wait()
		// A clean stop hands the shards over at once; a kill leaves them to expire.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := leaser.ReleaseAll(rctx); err != nil {
			log.Warn("cluster: leases not released; they expire", "err", err)
		}
	})
	log.Info("cluster node", "node", self.ID, "url", self.URL, "group", c.Group, "groups", groups, "stream", c.Stream,
		"lease_table", tables[0].Table, "lease_duration", leaseDur)
	return n, nil
}
