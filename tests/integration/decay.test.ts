import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScenario } from '../../devices/scenarios.js';
import { startDeskSite, type DeskMessage, type DeskSite } from '../helpers/desk-site.js';
import { eventually } from '../helpers/gateway.js';

const ROOM = 'power-b1-power-01';

/**
 * The default pack's transformer forecast and breaker rules, with the forecast's window cut from an hour to a
 * minute so that a cooling failure compressed into 75 s of real time shows it.
 */
const RULES = `
- id: transformer-temperature-forecast
  match: { kind: power }
  when: { telemetry: transformerTempC, forecast: { above: 130, within: 2m }, over: 1m }
  alarm: { type: transformer_temperature_rising, severity: major, message: "{device} at {value} °C, forecast above 130 °C" }
- id: breaker-trip
  match: { kind: power }
  when: { event: breaker_trip }
  autoClear: false
  alarm: { type: breaker_trip, severity: major }
`;

const TINY_SITE = `
site: decay-site
timeZone: Asia/Shanghai
lat: 31.23
lon: 121.47
buildings:
  - { id: b1, name: Building 1, floors: 1, perFloor: { fire: 0, access: 0, lighting: 0, camera: 0 }, households: 20, powerRoom: true }
areas:
  - { id: street, type: street, lighting: 2 }
`;

describe('a slow fault played by the simulator against a real gateway', () => {
  let site: DeskSite;

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'decay-rules-'));
    await writeFile(join(dir, 'power.yaml'), RULES);
    site = await startDeskSite('tests/fixtures/sites/small.yaml', { RULES_DIR: dir }, { intervalMs: 1000, seed: 3 });
  });
  afterAll(async () => {
    await site?.stop();
  });

  const alarm = (type: string) => (m: DeskMessage) => m.topic.includes(`/alarms/`) && m.body.type === type && m.body.source === ROOM && m.body.state === 'active';

  it("forecasts a failing transformer's temperature with an eta it moves as the rise speeds up, before the breaker trips", async () => {
    const started = Date.now();
    expect(site.sim.apply(parseScenario(`transformer-decay:${ROOM}+75s`), true)).toStrictEqual([ROOM]);
    const trip = await eventually(() => site.received.find(alarm('breaker_trip')), 100_000);
    // The trip comes at the end of the compressed decay, not before.
    expect(trip.at - started).toBeGreaterThan(70_000);
    const forecasts = site.received.filter((m) => alarm('transformer_temperature_rising')(m) && m.at < trip.at);
    expect(forecasts.length).toBeGreaterThan(1);
    const etas = forecasts.map((m) => Date.parse(m.body.eta));
    for (const [i, m] of forecasts.entries()) expect(m.body.eta).toBe(new Date(etas[i]).toISOString());
    expect(forecasts[0].body.value).toBeLessThan(130);
    expect(etas[0]).toBeGreaterThan(forecasts[0].at - 1000);
    // A line through a rise that speeds up is late at first: the updates bring the crossing nearer. An eta is
    // republished only when it moves by more than a minute, so on a decay squeezed into 75 s the last one may
    // still be up to a minute late against the trip at 150 °C (at real speed that minute is nothing).
    expect(etas.at(-1)!).toBeLessThan(etas[0]);
    expect(etas.at(-1)!).toBeLessThan(trip.at + 60_000);
  }, 120_000);
});

describe('slow faults planned by the simulator (--decay) against a real gateway', () => {
  let site: DeskSite;

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'decay-rules-'));
    await writeFile(join(dir, 'power.yaml'), RULES);
    // A distribution room, its meters and two street lamps: at 20,000 times faster, a site of lifts and doors
    // would flood the gateway with a day's events every few seconds.
    await writeFile(join(dir, 'site.yaml'), TINY_SITE);
    // Every device a slow fault fits decays; a transformer's three days take 13 s.
    site = await startDeskSite(join(dir, 'site.yaml'), { RULES_DIR: dir }, { intervalMs: 1000, seed: 3, speed: 20_000, decay: { fraction: 1 } });
  });
  afterAll(async () => {
    await site?.stop();
  });

  it('picks the devices by the seed, starts each decay at its onset and ends it in the failure event', async () => {
    const planned = site.sim.decays;
    expect(planned.map((d) => [d.name, d.device]).sort()).toStrictEqual([
      ['lamp-decay', 'lighting-street-01'],
      ['lamp-decay', 'lighting-street-02'],
      ['transformer-decay', ROOM],
    ]);
    const room = planned.find((d) => d.name === 'transformer-decay')!;
    const trip = await eventually(() => site.received.find((m) => m.body.type === 'breaker_trip' && m.body.source === ROOM && m.body.state === 'active'), 45_000);
    // Not before its planned failure: the simulated clock at the trip is past failAt.
    expect(site.sim.clock.now()).toBeGreaterThanOrEqual(room.failAt);
    expect(trip.body.severity).toBe('major');
  }, 60_000);
});
