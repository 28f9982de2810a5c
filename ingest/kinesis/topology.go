package kinesis

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"rrdash/ingest/kinesis/dynamo"
	"rrdash/ingest/kinesis/kds"
	"rrdash/store/cluster"
)

// Topology is the cluster's view from Kinesis and DynamoDB: the stream's
// open shards and their hash-key ranges (ListShards), and each replica
// group's lease owners (a scan of the group's lease table; owners are
// cluster.Node worker ids). It is cached for TTL.
type Topology struct {
	kc     *kds.Client
	stream string
	groups []topoGroup // this node's group first
	ttl    time.Duration

	mu   sync.Mutex
	view *cluster.View
	at   time.Time
}

type topoGroup struct {
	name  string
	table *DynamoLeaser // only its Leases scan is used
}

// GroupTable names a replica group and its lease table.
type GroupTable struct {
	Group, Table string
}

// NewTopology reads stream's shards and the groups' lease tables (this
// node's group first).
func NewTopology(cfg Config, ddb *dynamo.Client, groups []GroupTable, ttl time.Duration) (*Topology, error) {
	t := &Topology{kc: NewClient(cfg), stream: cfg.Stream, ttl: ttl}
	for _, g := range groups {
		l, err := NewDynamoLeaser(ddb, DynamoConfig{Table: g.Table, Worker: "topology-reader"})
		if err != nil {
			return nil, err
		}
		t.groups = append(t.groups, topoGroup{name: g.Group, table: l})
	}
	return t, nil
}

// Invalidate drops the cached view.
func (t *Topology) Invalidate() {
	t.mu.Lock()
	t.view = nil
	t.mu.Unlock()
}

// View returns the cached view, or a new one when it is older than TTL.
func (t *Topology) View(ctx context.Context) (*cluster.View, error) {
	t.mu.Lock()
	defer t.mu.Unlock() // one refresh at a time; others wait for it
	if t.view != nil && time.Since(t.at) < t.ttl {
		return t.view, nil
	}
	v := &cluster.View{}
	var open []cluster.ShardRange
	in := &kds.ListShardsInput{StreamName: aws.String(t.stream)}
	for {
		res, err := t.kc.ListShards(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("ListShards %s: %w", t.stream, err)
		}
		for _, s := range res.Shards {
			if s.SequenceNumberRange != nil && s.SequenceNumberRange.EndingSequenceNumber != nil {
				continue // closed: its series are in its children now
			}
			if s.HashKeyRange == nil {
				return nil, fmt.Errorf("shard %s has no hash-key range", aws.ToString(s.ShardId))
			}
			r, err := cluster.ParseRange(aws.ToString(s.ShardId), aws.ToString(s.HashKeyRange.StartingHashKey), aws.ToString(s.HashKeyRange.EndingHashKey))
			if err != nil {
				return nil, err
			}
			open = append(open, r)
		}
		if res.NextToken == nil {
			break
		}
		in = &kds.ListShardsInput{NextToken: res.NextToken}
	}
	router, err := cluster.NewRouter(open)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", t.stream, err)
	}
	v.Router = router
	for _, g := range t.groups {
		items, err := g.table.Leases(ctx)
		if err != nil {
			return nil, fmt.Errorf("group %s: %w", g.name, err)
		}
		grp := cluster.Group{Name: g.name, Owners: map[string]cluster.Node{}, Ended: map[string]cluster.Node{}}
		for _, it := range items {
			if it.Checkpoint == CheckpointShardEnd && it.EndedBy != "" {
				if n, err := cluster.ParseWorkerID(it.EndedBy); err == nil {
					grp.Ended[it.Shard] = n
				}
			}
			if it.Owner == "" {
				continue
			}
			if n, err := cluster.ParseWorkerID(it.Owner); err == nil {
				grp.Owners[it.Shard] = n
			}
		}
		v.Groups = append(v.Groups, grp)
	}
	t.view, t.at = v, time.Now()
	return v, nil
}
