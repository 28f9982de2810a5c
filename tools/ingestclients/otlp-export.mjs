// Exports metrics to rrdash with the OpenTelemetry JS SDK, as an
// instrumented Node service would: node otlp-export.mjs URL TOKEN
// json|proto cumulative|delta SERVICE. Three export intervals of 1 s, then
// shutdown (a final export); exits non-zero when an export failed.
import { MeterProvider, PeriodicExportingMetricReader, AggregationTemporality } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPMetricExporter as JSONExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';

const [url, token, encoding, temporality, service] = process.argv.slice(2);
const Exporter = encoding === 'proto' ? ProtoExporter : JSONExporter;
let failed = 0;
const exporter = new Exporter({
  url,
  headers: { Authorization: `Bearer ${token}` },
  temporalityPreference: temporality === 'delta' ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE,
});
const origExport = exporter.export.bind(exporter);
exporter.export = (metrics, done) => origExport(metrics, (result) => {
  if (result.code !== 0) {
    failed++;
    console.error('export failed:', result.error && result.error.message);
  }
  done(result);
});
const provider = new MeterProvider({
  resource: resourceFromAttributes({ 'service.name': service }),
  readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 1000, exportTimeoutMillis: 1000 })],
});
const meter = provider.getMeter('rrdash-test');
const jobs = meter.createCounter('jobs.done', { unit: '{job}' });
const workers = meter.createUpDownCounter('workers.active');
const duration = meter.createHistogram('job.duration', { unit: 's', advice: { explicitBucketBoundaries: [0.15, 0.25] } });
meter.createObservableGauge('queue.depth').addCallback((r) => r.observe(7, { queue: 'main' }));

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
for (let i = 1; i <= 3; i++) {
  jobs.add(5, { kind: 'batch' });
  workers.add(1);
  duration.record(i / 10);
  await sleep(1100);
}
await provider.shutdown();
process.exit(failed ? 1 : 0);
