/**
 * The naive pipeline the gateway is measured against (issue 2): aedes → JSON.parse → `influx` writePoints,
 * batched like the gateway (size or age), no authentication, no validation, no spool; QoS 1 is acknowledged
 * before anything is stored.
 *
 *   MQTT_PORT=0 INFLUX_URL=http://127.0.0.1:8086 INFLUX_DB=naive node --import tsx bench/naive.ts
 */
import { createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import { InfluxDB, type IPoint } from 'influx';

const BATCH = Number(process.env.INFLUX_BATCH_SIZE ?? 5000);
const FLUSH_MS = Number(process.env.FLUSH_MS ?? 100);

const influx = new InfluxDB(`${process.env.INFLUX_URL ?? 'http://127.0.0.1:8086'}/${process.env.INFLUX_DB ?? 'naive'}`);
await influx.createDatabase(process.env.INFLUX_DB ?? 'naive');

let batch: IPoint[] = [];
let timer: NodeJS.Timeout | undefined;
function flush(): void {
  if (timer) clearTimeout(timer);
  timer = undefined;
  const points = batch;
  batch = [];
  if (points.length > 0) influx.writePoints(points, { precision: 'ms' }).catch((err: Error) => console.error('write failed', err.message));
}

const aedes = await Aedes.createBroker();
aedes.on('publish', (packet, client) => {
  if (!client) return;
  const [, site, kind, device] = packet.topic.split('/');
  const body = JSON.parse(packet.payload.toString()) as Record<string, number>;
  const { ts, ...fields } = body;
  batch.push({ measurement: kind, tags: { site, device }, fields, timestamp: ts });
  if (batch.length >= BATCH) flush();
  else timer ??= setTimeout(flush, FLUSH_MS);
});
const server = createServer(aedes.handle);
server.listen(Number(process.env.MQTT_PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`naive: MQTT on port ${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  flush();
  server.close();
  aedes.close(() => setTimeout(() => process.exit(0), 500));
});
