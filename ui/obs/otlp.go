package obs

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// OTLP export: the registry's snapshot encoded as an OTLP/HTTP protobuf
// ExportMetricsServiceRequest and POSTed to the collector.
//
// Why not the OpenTelemetry SDK's exporter: its protobuf and gRPC packages
// (pulled in by go.opentelemetry.io/proto/otlp) added about 3 ms of package
// initialisation and 7 MB to every `rrdash` start, the CLI's included,
// whether or not OTLP is configured. The wire format of the few messages
// needed is small and stable; the tests decode it with the official
// generated types.

// OTLPConfig is the exporter's configuration, normally from the standard
// OpenTelemetry environment variables (OTLPConfigFromEnv).
type OTLPConfig struct {
	URL         string            // full metrics URL, e.g. http://collector:4318/v1/metrics
	Headers     map[string]string // extra request headers (authentication)
	Timeout     time.Duration     // per export (default 10s)
	Interval    time.Duration     // between exports (default 60s)
	Gzip        bool              // compress request bodies
	ServiceName string            // resource service.name (default "rrdash")
	Resource    map[string]string // further resource attributes
	Client      *http.Client
	Logger      *slog.Logger
}

// OTLPConfigured reports whether the environment asks for OTLP export
// (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_METRICS_ENDPOINT).
func OTLPConfigured(getenv func(string) string) bool {
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") != ""
}

// OTLPConfigFromEnv reads the OpenTelemetry exporter variables:
// OTEL_EXPORTER_OTLP_[METRICS_]ENDPOINT (the generic one gets /v1/metrics
// appended, the metrics one is used as is), …_HEADERS (k=v,k2=v2,
// URL-encoded values), …_TIMEOUT (ms), …_COMPRESSION (gzip or none),
// …_PROTOCOL (only http/protobuf), OTEL_METRIC_EXPORT_INTERVAL (ms),
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
func OTLPConfigFromEnv(getenv func(string) string) (OTLPConfig, error) {
	var c OTLPConfig
	pick := func(k string) (string, string) {
		if v := getenv("OTEL_EXPORTER_OTLP_METRICS_" + k); v != "" {
			return v, "OTEL_EXPORTER_OTLP_METRICS_" + k
		}
		return getenv("OTEL_EXPORTER_OTLP_" + k), "OTEL_EXPORTER_OTLP_" + k
	}
	if v := getenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"); v != "" {
		c.URL = v
	} else if v := getenv("OTEL_EXPORTER_OTLP_ENDPOINT"); v != "" {
		c.URL = strings.TrimSuffix(v, "/") + "/v1/metrics"
	} else {
		return c, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT is not set")
	}
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("OTLP endpoint %q: want an http:// or https:// URL", c.URL)
	}
	if v, k := pick("PROTOCOL"); v != "" && v != "http/protobuf" {
		return c, fmt.Errorf("%s=%q: rrdash exports only http/protobuf", k, v)
	}
	if v, k := pick("HEADERS"); v != "" {
		h, err := parseKV(v)
		if err != nil {
			return c, fmt.Errorf("%s: %w", k, err)
		}
		c.Headers = h
	}
	ms := func(v, k string) (time.Duration, error) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%s=%q: want a positive number of milliseconds", k, v)
		}
		return time.Duration(n) * time.Millisecond, nil
	}
	var err error
	if v, k := pick("TIMEOUT"); v != "" {
		if c.Timeout, err = ms(v, k); err != nil {
			return c, err
		}
	}
	if v := getenv("OTEL_METRIC_EXPORT_INTERVAL"); v != "" {
		if c.Interval, err = ms(v, "OTEL_METRIC_EXPORT_INTERVAL"); err != nil {
			return c, err
		}
	}
	switch v, k := pick("COMPRESSION"); v {
	case "", "none":
	case "gzip":
		c.Gzip = true
	default:
		return c, fmt.Errorf("%s=%q: want gzip or none", k, v)
	}
	if v := getenv("OTEL_RESOURCE_ATTRIBUTES"); v != "" {
		if c.Resource, err = parseKV(v); err != nil {
			return c, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
		}
	}
	c.ServiceName = getenv("OTEL_SERVICE_NAME")
	return c, nil
}

func parseKV(s string) (map[string]string, error) {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%q: want key=value", kv)
		}
		uv, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%q: %w", kv, err)
		}
		m[strings.TrimSpace(k)] = uv
	}
	return m, nil
}

// OTLPExporter pushes a registry to an OTLP/HTTP collector.
type OTLPExporter struct {
	cfg   OTLPConfig
	reg   *Registry
	start time.Time
	res   []byte // encoded Resource
}

// NewOTLPExporter returns an exporter of reg.
func NewOTLPExporter(reg *Registry, cfg OTLPConfig) *OTLPExporter {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	attrs := map[string]string{}
	for k, v := range cfg.Resource {
		attrs[k] = v
	}
	switch {
	case cfg.ServiceName != "":
		attrs["service.name"] = cfg.ServiceName
	case attrs["service.name"] == "":
		attrs["service.name"] = "rrdash"
	}
	if host, err := os.Hostname(); err == nil && attrs["host.name"] == "" {
		attrs["host.name"] = host
	}
	var res []byte
	for _, k := range sortedKeys(attrs) {
		res = pbMsg(res, 1, appendKV(nil, k, attrs[k]))
	}
	return &OTLPExporter{cfg: cfg, reg: reg, start: time.Now(), res: res}
}

// Flush implements RequestSink: the `otlp` monitoring sink exports the
// registry — where every request is already counted by route and status
// (rrdash_http_requests_total, rrdash_http_request_duration_seconds) — at
// each flush; its flush interval is OTEL_METRIC_EXPORT_INTERVAL. The
// points themselves carry nothing the cumulative totals lack. A failed
// export is retried; a later one carries the same totals, so nothing is
// lost but resolution.
func (e *OTLPExporter) Flush(ctx context.Context, _ []Request) error { return e.Export(ctx) }

// Close implements RequestSink: one last export, so the last counts arrive.
func (e *OTLPExporter) Close() error { return e.Export(context.Background()) }

// Interval is the time between exports.
func (e *OTLPExporter) Interval() time.Duration { return e.cfg.Interval }

// Export sends one snapshot.
func (e *OTLPExporter) Export(ctx context.Context) error {
	body := e.Encode(e.reg.Gather(), time.Now())
	ctype := "application/x-protobuf"
	var enc string
	if e.cfg.Gzip {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(body)
		zw.Close()
		body, enc = b.Bytes(), "gzip"
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("OTLP export to %s: %w", e.cfg.URL, err)
	}
	req.Header.Set("Content-Type", ctype)
	if enc != "" {
		req.Header.Set("Content-Encoding", enc)
	}
	for k, v := range e.cfg.Headers {
		req.Header.Set(k, v)
	}
	resp, err := e.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("OTLP export to %s: %w", e.cfg.URL, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("OTLP export to %s: %s: %s", e.cfg.URL, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

// OTLPName maps a Prometheus-style name to an OpenTelemetry one and its
// unit: rrdash_journal_fsync_seconds → rrdash.journal.fsync (s),
// rrdash_store_updates_total → rrdash.store.updates (1).
func OTLPName(prom string) (name, unit string) {
	switch {
	case strings.HasSuffix(prom, "_seconds"):
		prom, unit = strings.TrimSuffix(prom, "_seconds"), "s"
	case strings.HasSuffix(prom, "_total"):
		prom, unit = strings.TrimSuffix(prom, "_total"), "1"
	}
	return strings.ReplaceAll(prom, "_", "."), unit
}

// OTLP field numbers (opentelemetry/proto/metrics/v1 and friends).
const (
	aggCumulative = 2
)

// Encode returns the ExportMetricsServiceRequest for fams: counters as
// monotonic cumulative sums, gauges as gauges, histograms as cumulative
// explicit-bucket histograms.
func (e *OTLPExporter) Encode(fams []Family, now time.Time) []byte {
	start, ts := uint64(e.start.UnixNano()), uint64(now.UnixNano())
	var scope []byte
	scope = pbMsg(scope, 1, pbString(nil, 1, "rrdash")) // InstrumentationScope.name
	for _, f := range fams {
		if len(f.Points) == 0 {
			continue
		}
		name, unit := OTLPName(f.Name)
		var m []byte
		m = pbString(m, 1, name)
		m = pbString(m, 2, f.Help)
		m = pbString(m, 3, unit)
		attrs := func(b []byte, field int, p Point) []byte {
			for i, l := range f.Labels {
				b = pbMsg(b, field, appendKV(nil, l, p.LabelValues[i]))
			}
			return b
		}
		var data []byte
		for _, p := range f.Points {
			var dp []byte
			switch f.Kind {
			case KindCounter, KindGauge:
				dp = attrs(dp, 7, p)
				if f.Kind == KindCounter {
					dp = pbFixed64(dp, 2, start)
				}
				dp = pbFixed64(dp, 3, ts)
				dp = pbFixed64(dp, 4, math.Float64bits(p.Value)) // as_double
			case KindHistogram:
				dp = attrs(dp, 9, p)
				dp = pbFixed64(dp, 2, start)
				dp = pbFixed64(dp, 3, ts)
				dp = pbFixed64(dp, 4, p.Count)
				dp = pbFixed64(dp, 5, math.Float64bits(p.Sum))
				var packed []byte
				for _, n := range p.Buckets {
					packed = binary.LittleEndian.AppendUint64(packed, n)
				}
				dp = pbBytes(dp, 6, packed)
				packed = nil
				for _, b := range f.Buckets {
					packed = binary.LittleEndian.AppendUint64(packed, math.Float64bits(b))
				}
				dp = pbBytes(dp, 7, packed)
			}
			data = pbMsg(data, 1, dp)
		}
		switch f.Kind {
		case KindCounter:
			data = pbVarint(data, 2, aggCumulative)
			data = pbVarint(data, 3, 1) // is_monotonic
			m = pbMsg(m, 7, data)
		case KindGauge:
			m = pbMsg(m, 5, data)
		case KindHistogram:
			data = pbVarint(data, 2, aggCumulative)
			m = pbMsg(m, 9, data)
		}
		scope = pbMsg(scope, 2, m) // ScopeMetrics.metrics
	}
	var rm []byte
	rm = pbMsg(rm, 1, e.res) // ResourceMetrics.resource
	rm = pbMsg(rm, 2, scope) // ResourceMetrics.scope_metrics
	return pbMsg(nil, 1, rm) // ExportMetricsServiceRequest.resource_metrics
}

func appendKV(b []byte, k, v string) []byte {
	b = pbString(b, 1, k)
	return pbMsg(b, 2, pbString(nil, 1, v)) // AnyValue.string_value
}

// Protocol-buffer wire format: tag = field<<3 | wire type.
func pbTag(b []byte, field, wire int) []byte {
	return binary.AppendUvarint(b, uint64(field)<<3|uint64(wire))
}

func pbVarint(b []byte, field int, v uint64) []byte {
	return binary.AppendUvarint(pbTag(b, field, 0), v)
}

func pbFixed64(b []byte, field int, v uint64) []byte {
	return binary.LittleEndian.AppendUint64(pbTag(b, field, 1), v)
}

func pbBytes(b []byte, field int, v []byte) []byte {
	b = binary.AppendUvarint(pbTag(b, field, 2), uint64(len(v)))
	return append(b, v...)
}

func pbString(b []byte, field int, s string) []byte {
	b = binary.AppendUvarint(pbTag(b, field, 2), uint64(len(s)))
	return append(b, s...)
}

// pbMsg appends an embedded message (always, even empty).
func pbMsg(b []byte, field int, msg []byte) []byte { return pbBytes(b, field, msg) }

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
