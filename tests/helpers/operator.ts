import type { MqttClient } from 'mqtt';
import { eventually, type TestGateway } from './gateway.js';

/** A message on an operator topic: `body` is the parsed JSON, or '' for an empty payload (a deleted retained message). */
export interface Seen {
  topic: string;
  retain: boolean;
  body: any;
}

/**
 * An operator account on `sites` with `role` (the API's default, viewer, unless given): its id, MQTT credentials,
 * API token and name.
 */
export async function createOperator(gw: TestGateway, name: string, sites: string[], role?: 'viewer' | 'guard' | 'maintenance' | 'supervisor' | 'admin') {
  const res = await gw.api('POST', '/api/operators', { name, sites, ...(role && { role }) });
  if (res.status !== 201) throw new Error(`operator ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id as string, name, mqtt: res.body.mqtt as { username: string; password: string }, token: res.body.token as string };
}

/** A connected operator client subscribed to `filters`, recording every message it gets. */
export async function watch(gw: TestGateway, creds: { username: string; password: string }, filters: string[]) {
  const client: MqttClient = await gw.connect(creds);
  const seen: Seen[] = [];
  client.on('message', (topic, payload, packet) => {
    seen.push({ topic, retain: packet.retain, body: payload.length === 0 ? '' : JSON.parse(payload.toString('utf8')) });
  });
  await client.subscribeAsync(filters, { qos: 1 });
  return {
    client,
    seen,
    /** Waits until `count` messages have arrived and hands them over (clearing the record). */
    async take(count: number): Promise<Seen[]> {
      await eventually(() => seen.length >= count, 5000, 20);
      return seen.splice(0);
    },
  };
}

/** What a brand-new subscriber to `filters` receives at once: the retained messages, sorted by topic. */
export async function retainedNow(gw: TestGateway, creds: { username: string; password: string }, filters: string[], quietMs = 300) {
  const w = await watch(gw, creds, filters);
  await new Promise((r) => setTimeout(r, quietMs));
  await w.client.endAsync();
  return w.seen.sort((a, b) => a.topic.localeCompare(b.topic));
}
