// Package push takes points that clients push: InfluxDB line protocol
// (POST /api/v1/write, and InfluxDB's own /write and /api/v2/write with
// its error JSON, /ping and /health: influx.go), JSON points (POST
// /api/v1/points) and the Graphite plaintext protocol on TCP, and writes
// them to the store. Its Writer, limits and naming (SeriesName) are shared
// with the other HTTP protocols (ingest/promrw, ingest/otlp).
//
// Naming: each numeric field of a line-protocol point becomes series
// `measurement.field;tag1=v1;tag2=v2` (Graphite tag syntax, tags sorted by
// key). Integer (1i) and unsigned (1u) fields are stored as their decimal
// value; booleans as 1 (true) and 0 (false); string fields have no place in
// a numeric series and are ignored and counted. JSON points are named
// `name;k=v…` from their tags, Graphite names keep their own tags, sorted.
//
// Time: the store keeps at most one reading per series and second, in time
// order. The Writer commits adaptively (group commit): a write to an idle
// writer is committed at once, and writes arriving while a commit is being
// prepared join the next one; the points of a commit are applied in time
// order per series, and the batches of one request or connection are
// handed over in order (Enqueue), so a stream's out-of-order points within
// a batch, or spread over batches in flight together, are kept. With
// WriterConfig.MaxDelay set, points instead wait for stragglers within a
// grace window behind their series' newest point. A point in the
// same second as a buffered point of its series replaces it (last write
// wins, as InfluxDB overwrites a point with the same series and time); a
// point at or before the series' last stored second is late: it is counted
// and reported (HTTP: a 400 "partial write" naming the counts; the other
// points are durable), never silently dropped. Sub-second times reach the
// store, which weights them in time as rrdtool does.
//
// Durability: Write returns, and the HTTP handlers answer 2xx, only after
// store.DB.Apply returned for every point of the request, that is after the
// journal fsync. Concurrent requests share journal fsyncs; a request's
// next batches, and a Graphite connection's next lines, are read while its
// earlier batches are made durable.
// Bodies stream: they are parsed in chunks and written in batches as they
// fill, within a global in-flight budget (429 + Retry-After beyond it), so
// a bad line or point is refused by number while the valid ones are stored
// (400 "partial write"), as InfluxDB does. Points beyond the horizon
// (package horizon) are refused on every path. Graphite's acknowledgement
// is the server's clean close after the client's EOF (see
// GraphiteListener).
package push
