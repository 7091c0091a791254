/**
 * `node --import tsx bench/durable-sessions.ts [--messages 5000]`: what a persistent MQTT session costs
 * (src/broker/persistence.ts). The gateway publishes `--messages` QoS 1 messages on an alarm topic to one operator
 * subscribed at QoS 1, first with a clean session (nothing is written), then with a persistent one (each message
 * is queued and written, given its packet id, and removed at its PUBACK), then while the persistent one is away
 * (queued and written), and reports messages a second for each, and for draining the queue at its return.
 */
import { parseArgs } from 'node:util';
import type { MqttClient } from 'mqtt';
import { connectMqtt, startGateway } from '../tests/helpers/gateway.js';
import { createOperator } from '../tests/helpers/operator.js';

const { values: args } = parseArgs({ options: { messages: { type: 'string', default: '5000' } } });
const N = Number(args.messages);
const SITE = 'bench-site';
const TOPIC = `sc/${SITE}/alarms/major/bench/`;
const BATCH = 100;

// Every message queued while away is kept: the bound is not what is measured.
const gw = await startGateway({ MQTT_MAX_QUEUED: String(N) });
const operator = (await createOperator(gw, 'bench-desk', [SITE])).mqtt;
const publish = async () => {
  for (let i = 0; i < N; i += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, N - i) }, (_, j) => gw.gateway.broker.publish(`${TOPIC}${i + j}`, JSON.stringify({ n: i + j }), { qos: 1 }));
    await Promise.all(batch);
  }
};
const received = (client: MqttClient) =>
  new Promise<void>((resolve) => {
    let n = 0;
    client.on('message', () => {
      if (++n === N) resolve();
    });
  });
const rate = (ms: number) => Math.round((N / ms) * 1000);

try {
  const results: Record<string, number> = {};
  for (const clean of [true, false]) {
    const client = await connectMqtt(gw.mqttUrl, { ...operator, clientId: `bench-${clean}`, clean });
    await client.subscribeAsync(`sc/${SITE}/alarms/#`, { qos: 1 });
    const all = received(client);
    const t0 = performance.now();
    await publish();
    await all;
    results[clean ? 'online, clean session (msg/s)' : 'online, persistent session (msg/s)'] = rate(performance.now() - t0);
    await client.endAsync();
  }
  // The persistent operator is away: every message is queued and written, then drained when it returns.
  let t0 = performance.now();
  await publish();
  results['away, queued (msg/s)'] = rate(performance.now() - t0);
  const back = await connectMqtt(gw.mqttUrl, { ...operator, clientId: 'bench-false', clean: false, reconnectPeriod: 0 });
  t0 = performance.now();
  await received(back);
  results['back, queue drained (msg/s)'] = rate(performance.now() - t0);
  await back.endAsync();
  console.log(JSON.stringify({ messages: N, ...results }, null, 2));
} finally {
  await gw.stop();
}
