// Writes points to rrdash's /api/v2/write with InfluxDB's 2.x JS client:
// node influx2-write.mjs URL TOKEN ORG BUCKET SECONDS. Gzip is forced
// (gzipThreshold 0); exits non-zero when a write failed.
import { InfluxDB, Point } from '@influxdata/influxdb-client';

const [url, token, org, bucket, secs] = process.argv.slice(2);
const t = Number(secs);
const api = new InfluxDB({ url, token, writeOptions: { gzipThreshold: 0, maxRetries: 0 } }).getWriteApi(org, bucket, 's');
api.useDefaultTags({ host: 'js' });
api.writePoint(new Point('mem').floatField('used_percent', 42.5).intField('free', 1024).timestamp(t));
api.writePoint(new Point('mem').floatField('used_percent', 43.5).intField('free', 1000).timestamp(t + 1));
try {
  await api.close();
} catch (e) {
  console.error('write failed:', e.message, e.body || '');
  process.exit(1);
}
