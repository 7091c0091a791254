import fc from 'fast-check';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KIND_NAMES, KINDS, type KindName } from '../../src/devices/kinds/index.js';
import { connectMqtt, nextMessage } from '../helpers/gateway.js';
import { countProblems, refusalProblems, storageProblems } from '../helpers/fuzz-checks.js';
import { Ledger, summarise, type Refusal } from '../helpers/fuzz-ledger.js';
import { render } from '../helpers/fuzz-json.js';
import { judge } from '../helpers/fuzz-oracle.js';
import { payloadSample, shapeOf, type PayloadSample } from '../helpers/fuzz-payloads.js';
import { answered, FUZZ_SITE as SITE, fuzzSeed, fuzzSize, keepPublishing, startFuzzRig, type FuzzRig } from '../helpers/fuzz-rig.js';

const DB = 'fuzz_payloads';
const REJECTED = `sc/${SITE}/gateway/rejected`;
/** 3,000 messages keep this file near 30 s on a 2-core machine; `npm run fuzz` sends many more. */
const seed = fuzzSeed();
const runs = fuzzSize('FUZZ_RUNS', 3000);
const WARM_UP = 500;
const RSS_SLACK = 20 * 1024 * 1024;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

/** The names a reason may start with: the payload's own keys, and every field the kind's schemas know. */
function fieldNames(kind: KindName, payload: Buffer): string[] {
  const known = [...KINDS[kind].fields, ...Object.values(KINDS[kind].events).flatMap((e) => Object.keys(shapeOf(e)))];
  try {
    const body: unknown = JSON.parse(payload.toString('utf8'));
    return typeof body === 'object' && body !== null && !Array.isArray(body) ? [...Object.keys(body), ...known] : known;
  } catch {
    return known; // not JSON: the reason must name `payload`
  }
}

/** The must-show cases: each non-finite number refused with a reason that names its field. */
const NON_FINITE = [
  { kind: 'energy', body: '{"powerKw":1e400}', reason: 'powerKw: must be a finite number' },
  { kind: 'fire', body: '{"temperatureC":1e400}', reason: 'temperatureC: must be a finite number' },
  { kind: 'lighting', body: '{"powerW":1e400}', reason: 'powerW: must be a finite number' },
  { kind: 'energy', body: '{"energyKwh":1e400}', reason: 'energyKwh: must be a finite number' },
  { kind: 'energy', body: '{"powerKw":-1e400}', reason: 'powerKw: must be a finite number' },
  { kind: 'energy', body: '{"powerKw":1,"energyKwh":1e400}', reason: 'energyKwh: must be a finite number' },
] as const;
/** A reading each of those devices may send, stored after every refusal: the refused message must not be beside it. */
const MARKER: Record<string, Record<string, number>> = { energy: { energyKwh: 1 }, fire: { temperatureC: 20 }, lighting: { powerW: 1 } };

describe('fuzzed device payloads against a gateway process (contract §2, §7)', () => {
  let rig: FuzzRig;
  let desk: MqttClient;
  const clients: Record<string, MqttClient> = {};
  /** Every refusal the desk saw, by device, in order. */
  const seen = new Map<string, Refusal[]>();

  beforeAll(async () => {
    rig = await startFuzzRig(DB, {}, true);
    const ids = [...KIND_NAMES.flatMap((k) => [[`fz-${k}`, k], [`fz-${k}-rt`, k], [`nf-${k}`, k]]), ['fz-good', 'lighting']];
    for (const [id, kind] of ids) clients[id] = await connectMqtt(rig.mqttUrl, { ...(await rig.register(id, kind)), clientId: id });
    desk = await connectMqtt(rig.mqttUrl, await rig.operator('fuzz-desk'));
    desk.on('message', (topic, payload) => {
      if (topic !== REJECTED) return;
      const body = JSON.parse(payload.toString()) as Refusal;
      const list = seen.get(String(body.device)) ?? [];
      list.push(body);
      seen.set(String(body.device), list);
    });
    await desk.subscribeAsync(REJECTED);
  });
  afterAll(async () => {
    await Promise.all([...Object.values(clients), desk].map((c) => c?.endAsync(true).catch(() => undefined)));
    await rig?.stop();
  });

  const markers: Record<string, number[]> = {};
  it.each(NON_FINITE)('refuses $body from a $kind device with "$reason" and stores nothing of it', async ({ kind, body, reason }) => {
    const device = `nf-${kind}`;
    const topic = `sc/${SITE}/${kind}/${device}/telemetry`;
    const rejected = nextMessage(desk, (t, p) => t === REJECTED && JSON.parse(p.toString()).device === device);
    rejected.catch(() => undefined); // awaited below, unless the publish fails first
    await answered(rig, clients[device].publishAsync(topic, Buffer.from(body), { qos: 1 }), 'PUBACK');
    expect(JSON.parse((await answered(rig, rejected, 'refusal')).payload.toString())).toStrictEqual({ topic, device, reason });

    // Acknowledged only once stored: the refused message, had it been stored, would be in InfluxDB by then.
    const ts = Date.now() - 60_000 + (markers[device] ??= []).length;
    markers[device].push(ts);
    await answered(rig, clients[device].publishAsync(topic, JSON.stringify({ ...MARKER[kind], ts }), { qos: 1 }), 'PUBACK');
    const rows = await rig.influx.query(`SELECT * FROM "${kind}" WHERE "device" = '${device}'`, DB);
    const stored = rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k, v]) => v !== null && !['site', 'zone', 'device'].includes(k))));
    expect(stored).toStrictEqual(markers[device].map((time) => ({ time, ...MARKER[kind] })));
  });

  it(`survives ${runs} fuzzed payloads: stores exactly the valid ones, refuses the others naming the field, and keeps its memory`, async () => {
    expect(rig.alive(), 'the gateway is not running').toBe(true);
    seen.clear(); // the must-show cases' refusals
    const started = Date.now();
    const ledger = new Ledger();
    const before = await rig.metrics();
    const good = keepPublishing(rig, clients['fz-good'], `sc/${SITE}/lighting/fz-good/telemetry`, (i) => ({ on: true, brightnessPct: i % 101 }));
    let readings = 0;
    let warm = { accepted: 0, refused: 0 };
    let rssBefore = Number.NaN;
    try {
      await sendAll(ledger, fc.sample(payloadSample, { seed: seed + 1, numRuns: WARM_UP }));
      await sleep(2000);
      rssBefore = await rig.rss();
      warm = { accepted: ledger.accepted, refused: ledger.refused };
      await sendAll(ledger, fc.sample(payloadSample, { seed, numRuns: runs }));
    } finally {
      readings = await good.stop();
    }

    expect(rig.alive(), `gateway exited:\n${rig.gw.output().slice(-3000)}`).toBe(true);
    expect((await rig.api('GET', '/health')).status).toBe(200);
    const problems = [
      ...(await countProblems(rig, before, ledger, readings)),
      ...refusalProblems(ledger, seen),
      ...(await storageProblems(rig, ledger, { device: 'fz-good', readings })),
    ];
    await sleep(3000);
    const rssAfter = await rig.rss();
    const after = await rig.metrics();
    const influxErrors = (after.gateway_influx_write_errors_total ?? 0) - (before.gateway_influx_write_errors_total ?? 0);
    console.log(
      `fuzz-payloads: seed ${seed}, N=${runs} payloads tried: ${ledger.accepted - warm.accepted} accepted, ${ledger.refused - warm.refused} refused ` +
        `(and ${WARM_UP} warm-up); good device ${readings} readings; InfluxDB write errors ${influxErrors}; ` +
        `RSS ${mb(rssBefore)} MB before, ${mb(rssAfter)} MB after; ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    expect(summarise(problems)).toStrictEqual({});
    expect(rssAfter - rssBefore).toBeLessThan(RSS_SLACK);
  }, Math.max(120_000, runs * 60));

  /** Sends one sample; a valid message without `ts` goes to the `-rt` device at QoS 1, one per millisecond. */
  async function send(ledger: Ledger, s: PayloadSample): Promise<void> {
    const now = Date.now();
    const payload = render(s.text, now);
    const verdict = judge(s.kind, s.suffix, payload, now);
    const untimed = verdict.ok && verdict.ms === undefined;
    const device = untimed ? `fz-${s.kind}-rt` : `fz-${s.kind}`;
    const topic = `sc/${SITE}/${s.kind}/${device}/${s.suffix}`;
    const preview = payload.toString('utf8', 0, 160);
    ledger.note(s.suffix === 'telemetry' ? s.kind : 'events', { device, topic, preview, keys: fieldNames(s.kind, payload), verdict });
    await answered(rig, clients[device].publishAsync(topic, payload, { qos: untimed ? 1 : s.qos }), `PUBACK on ${topic}`);
    // Two points of one series in the same millisecond are one point in InfluxDB: the next receive time is later.
    if (untimed) for (const acked = Date.now(); Date.now() <= acked; ) await sleep(1);
  }

  /** Each kind's samples in order on its own connections, the kinds side by side. */
  function sendAll(ledger: Ledger, samples: PayloadSample[]): Promise<unknown> {
    return Promise.all(
      KIND_NAMES.map(async (kind) => {
        for (const s of samples) if (s.kind === kind) await send(ledger, s);
      }),
    );
  }
});
