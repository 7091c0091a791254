/** The stored readings an anomaly baseline learns from (issue 18), read from a real InfluxDB. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baselineHistory } from '../../src/storage/influx/baseline-history.js';
import { InfluxQuery } from '../../src/storage/influx/query.js';
import { startInflux, type InfluxServer } from '../helpers/influx.js';

const DB = 'baselines';
const T0 = Date.parse('2026-11-02T00:00:00Z');
const MINUTE = 60_000;

describe('baseline history from InfluxDB', () => {
  let influx: InfluxServer;
  const read = () => baselineHistory(new InfluxQuery({ url: influx.url, db: DB, timeoutMs: 5000 }));

  beforeAll(async () => {
    influx = await startInflux();
    await influx.query(`CREATE DATABASE ${DB}`);
    // Five hours of a lamp's minute readings: on (40 W and a bit) on even minutes, off (0 W) on odd ones.
    const lines = Array.from({ length: 300 }, (_, i) => `lighting,site=s1,device=l1,zone=z powerW=${i % 2 ? 0 : 40 + i / 100},on=${i % 2 ? 'false' : 'true'},brightnessPct=100i ${T0 + i * MINUTE}`);
    lines.push(`lighting,site=s2,device=l1,zone=z powerW=99,on=true ${T0}`);
    const res = await fetch(`${influx.url}/write?db=${DB}&precision=ms`, { method: 'POST', body: lines.join('\n') });
    expect(res.status).toBe(204);
  });
  afterAll(async () => {
    await influx?.stop();
  });

  it('answers the first reading of each quarter hour (or of its parts), oldest first, the same every time', async () => {
    const q = { site: 's1', kind: 'lighting', device: 'l1', field: 'powerW', from: T0, to: T0 + 300 * MINUTE, perHour: 3 };
    const rows = await read()(q);
    // 3 an hour rounds up to one a quarter hour: the readings of minutes 0, 15, 30... (the lamp is off on odd ones).
    expect(rows).toStrictEqual(Array.from({ length: 20 }, (_, k) => [T0 + 15 * k * MINUTE, k % 2 ? 0 : 40 + (15 * k) / 100]));
    expect(await read()(q)).toStrictEqual(rows);
    // 8 an hour: two parts of 7.5 minutes each quarter hour, each answered with its start and its first reading
    // (minutes 0, 8, 15, 23, 30, 38, 45, 53).
    const eight = await read()({ ...q, to: T0 + 60 * MINUTE, perHour: 8 });
    expect(eight.map(([ts]) => (ts - T0) / MINUTE)).toStrictEqual([0, 7.5, 15, 22.5, 30, 37.5, 45, 52.5]);
    expect(eight.map(([, v]) => v)).toStrictEqual([40, 40.08, 0, 0, 40.3, 40.38, 0, 0]);
  });

  it("keeps only the readings stored with the rule's `where` values", async () => {
    const on = await read()({ site: 's1', kind: 'lighting', device: 'l1', field: 'powerW', from: T0, to: T0 + 300 * MINUTE, perHour: 60, where: { on: true, brightnessPct: 100 } });
    expect(on).toHaveLength(150);
    expect(on.every(([, v]) => v >= 40)).toBe(true);
    const off = await read()({ site: 's1', kind: 'lighting', device: 'l1', field: 'powerW', from: T0, to: T0 + 300 * MINUTE, perHour: 60, where: { on: false } });
    expect(off.every(([, v]) => v === 0)).toBe(true);
  });

  it('fails, and tells at most once a minute, when InfluxDB does not answer', async () => {
    const told: number[] = [];
    const down = baselineHistory(new InfluxQuery({ url: 'http://127.0.0.1:9', db: DB, timeoutMs: 1000 }), (_err, _q, failures) => told.push(failures));
    const q = { site: 's1', kind: 'lighting', device: 'l1', field: 'powerW', from: T0, to: T0 + MINUTE, perHour: 1 };
    await expect(down(q)).rejects.toThrow(/InfluxDB query failed/);
    await expect(down(q)).rejects.toThrow(/InfluxDB query failed/);
    expect(told).toStrictEqual([1]);
  });
});
