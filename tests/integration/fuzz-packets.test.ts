import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, eventually } from '../helpers/gateway.js';
import { isMalformed, planCases, type Accounts, type PacketCase } from '../helpers/fuzz-packets.js';
import { countLines, FUZZ_SITE as SITE, fuzzSeed, fuzzSize, keepPublishing, startFuzzRig, type FuzzRig } from '../helpers/fuzz-rig.js';
import { pool, runCase, type CaseResult } from '../helpers/fuzz-sockets.js';

const DB = 'fuzz_packets';
/** At least this many malformed packets (FUZZ_PACKETS for more): about 15 s on a 2-core machine. */
const PACKETS = fuzzSize('FUZZ_PACKETS', 10_000);
const seed = fuzzSeed();
/** SUBSCRIBEs of 1,000 refused filters each, spread over the run. */
const BIG_SUBSCRIBES = 10;
const CONCURRENCY = 48;
/** How long a connection that the gateway neither answers nor closes is held (a truncated packet, a bad length). */
const LINGER_MS = 100;
const LOG_LINES_MAX = 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('malformed MQTT packets against a gateway process (contract §3)', () => {
  let rig: FuzzRig;
  let accounts: Accounts;
  let good: MqttClient;

  beforeAll(async () => {
    rig = await startFuzzRig(DB);
    const device = await rig.register('pk-dev', 'lighting');
    const operator = await rig.operator('pk-desk');
    accounts = { device: { ...device, prefix: `sc/${SITE}/lighting/pk-dev/` }, operator, site: SITE };
    good = await connectMqtt(rig.mqttUrl, { ...(await rig.register('pk-good', 'lighting')), clientId: 'pk-good' });
  });
  afterAll(async () => {
    await good?.endAsync(true).catch(() => undefined);
    await rig?.stop();
  });

  it(`stays up, keeps storing and logs little under ${PACKETS} malformed packets`, async () => {
    const started = Date.now();
    const before = await rig.metrics();
    const logStart = rig.gw.output().length;
    const goodDevice = keepPublishing(rig, good, `sc/${SITE}/lighting/pk-good/telemetry`, (i) => ({ brightnessPct: i % 101 }));
    // Only each case's name and expectation are kept: the packets themselves (64 KB client ids) are let go.
    const results: Array<{ c: Pick<PacketCase, 'name' | 'expect'>; r: CaseResult }> = [];
    let connections = 0;
    let readings = 0;
    try {
      await pool(CONCURRENCY, planCases(accounts, seed, PACKETS, BIG_SUBSCRIBES), async (c) => {
        const r = await runCase(rig.gw.mqttPort, c, accounts, `pk-${connections++}`, LINGER_MS);
        results.push({ c: { name: c.name, expect: c.expect }, r });
      });
    } finally {
      readings = await goodDevice.stop();
    }
    const seconds = (Date.now() - started) / 1000;
    await sleep(1000); // what the last connections caused is written
    const log = rig.gw.output().slice(logStart);
    const logLines = countLines(log);
    const sent = results.reduce((n, x) => n + (isMalformed(x.c) ? x.r.sent : 0), 0);
    const byName: Record<string, number> = {};
    for (const { c, r } of results) byName[c.name] = (byName[c.name] ?? 0) + r.sent;
    console.log(
      `fuzz-packets: seed ${seed}, M=${sent} malformed packets (and ${byName['refused-publish'] ?? 0} well-formed refused publishes) ` +
        `sent over ${results.length} connections in ${seconds.toFixed(1)} s; gateway wrote ${logLines} log lines ` +
        `(${(log.length / 1024).toFixed(0)} KB); good device ${readings} readings; ${JSON.stringify(byName)}`,
    );

    expect(rig.alive(), `gateway exited:\n${rig.gw.output().slice(-3000)}`).toBe(true);
    expect((await rig.api('GET', '/health')).status).toBe(200);
    expect(sent).toBeGreaterThanOrEqual(PACKETS * 0.95);
    expect(results.filter((x) => x.r.preambleRefused)).toStrictEqual([]);

    // Contract §3: no wrong password gets in, no filter outside a device's own is granted, and every refusal is counted.
    const connects = results.filter((x) => x.c.expect === 'connect-refused' && x.r.connack !== undefined);
    expect(connects.filter((x) => x.r.connack === 0).map((x) => x.c.name)).toStrictEqual([]);
    const subacks = results.filter((x) => x.r.suback !== undefined);
    expect(subacks.length).toBeGreaterThan(0);
    for (const { r } of subacks) expect(r.suback).toStrictEqual(Array(1000).fill(0x80));
    const refused = (await rig.metrics()).gateway_mqtt_refused_total - (before.gateway_mqtt_refused_total ?? 0);
    expect(refused).toBeGreaterThanOrEqual(connects.length + 1000 * subacks.length);

    const rows = await eventually(async () => {
      const r = await rig.influx.query(`SELECT "brightnessPct" FROM "lighting" WHERE "device" = 'pk-good'`, DB);
      return r.length >= readings ? r : undefined;
    }, 10_000);
    expect(rows.map((r) => r.time)).toStrictEqual(Array.from({ length: readings }, (_, i) => goodDevice.base + i));

    expect(logLines, `the gateway's log during the run:\n${log.slice(0, 4000)}`).toBeLessThan(LOG_LINES_MAX);
  }, Math.max(240_000, PACKETS * 6));
});
