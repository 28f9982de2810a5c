// Package collectd receives collectd's binary network protocol (the
// network plugin's, UDP port 25826): plain, HMAC-SHA-256-signed and
// AES-256-OFB-encrypted packets with collectd's AuthFile and
// SecurityLevel, data-source names and types from types.db. Values become
// points collectd.<plugin>.<type>[.<ds>] tagged host, plugin_instance and
// type_instance, with DERIVE/COUNTER/ABSOLUTE turned into rates as
// collectd's write_graphite does by default, written through push's
// durable writer.
//
// UDP is not acknowledged: see the README for what can be lost.
package collectd
