// Package rrdcached serves the rrdcached protocol (rrdcached 1.7.2's) over
// the store, so that real rrdtool --daemon, collectd's rrdcached plugin and
// scripts that speak to rrdcached write into and read from rrdash.
//
// It is a thin adapter: UPDATE goes through store.DB.ApplyAsync and is
// answered only once the journal holds it on disk (the store's group commit
// joins the fsyncs of every connection); reads go to Fetch, Info, Spec and
// List. There is no write-back cache, so FLUSH, PENDING and QUEUE have
// nothing to wait for: every acknowledged update is already durable.
//
// File names map to series names as rrdcached maps paths under its base
// directory (-b, with -B): relative names resolve under the data directory,
// absolute names must lie under it, ".." is refused, and a trailing ".rrd"
// is dropped: web1.rrd is series web1, sub/dir/x.rrd is series sub/dir/x.
package rrdcached
