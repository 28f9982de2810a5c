package ui

// ClusterConfig makes `rrdash serve` a node of a cluster: every write it
// accepts goes to the Kinesis stream, its archives are built from the
// shards it leases in its replica group's DynamoDB lease table, and reads
// are routed to the shards' lease holders. Empty Stream: single-node mode.
// cmd/rrdash checks the keys (cluster.go).
type ClusterConfig struct {
	Stream   string `toml:"stream"`   // the Kinesis stream of the cluster log
	Endpoint string `toml:"endpoint"` // Kinesis endpoint URL; empty: AWS's for the region
	Region   string `toml:"region"`   // default us-east-1
	// Group is this node's replica group; Groups all the cluster's groups
	// (reads fall back to them in this order); default [Group].
	Group  string   `toml:"group"`
	Groups []string `toml:"groups"`
	// Node is this node's id, unique in the cluster; AdvertiseURL is where
	// the other nodes reach its HTTP address (http://HOST:PORT).
	Node         string `toml:"node"`
	AdvertiseURL string `toml:"advertise_url"`
	// LeaseTable is the prefix of the groups' DynamoDB lease tables
	// (table LEASE_TABLE-GROUP); LeaseEndpoint the DynamoDB endpoint URL.
	LeaseTable    string `toml:"lease_table"`
	LeaseEndpoint string `toml:"lease_endpoint"`
	// LeaseDuration is the failover time: a lease not renewed for this long
	// is taken over (default 10s).
	LeaseDuration string `toml:"lease_duration"`
	// SecretFile holds the secret the nodes show each other on the peer
	// read protocol (the same file content on every node).
	SecretFile string `toml:"secret_file"`
	// SnapshotBucket keeps shard snapshots in S3-compatible object storage
	// (key prefix: the stream name), every SnapshotInterval (default 10m),
	// for a group with no peer group; SnapshotEndpoint its endpoint URL.
	SnapshotBucket   string `toml:"snapshot_bucket"`
	SnapshotEndpoint string `toml:"snapshot_endpoint"`
	SnapshotInterval string `toml:"snapshot_interval"`
}
