// Package kinesis consumes generic metrics from an AWS Kinesis stream into
// the store, exactly once across restarts and kill -9.
//
// Records hold CIMAA's JSON objects {"timestamp","name","value","units"}
// (one object, an array of them, or newline-delimited JSON); a record the
// KPL aggregated is split into its user records first (kpl.go). Each name is
// a series, created from a template on first sight. Points wait in a grace
// window so that points of a series arriving out of order across shards
// and producers are applied in time order; older ones, and bad records, go
// to a dead-letter file with their shard, sequence number and reason.
//
// Shard checkpoints travel in the same store batch as the points they
// cover (store.Batch.Positions), and a checkpoint only passes records whose
// points are applied or dead-lettered; the tracker documents why a restart
// then neither loses nor repeats a point or a dead letter. The same batch
// records where a restart reads the dead-letter file back from. The first
// batch holding a shard's records, and one every CheckpointInterval, also
// save the grace buffer (buffer.go), so that a restart resumes after the
// records read rather than after the oldest point still buffered. Shards are
// read parents first, so a series moving to a child shard after a split or
// merge keeps its order. Who reads a shard is a Leaser's decision: the
// LocalLeaser grants every shard (consumers of one stream do not
// coordinate); the DynamoLeaser (dynamolease.go) splits the shards among
// the consumers of one DynamoDB lease table with the KCL's schema and
// rules.
package kinesis
