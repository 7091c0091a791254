import { afterEach, describe, expect, it, vi } from 'vitest';
import { historyNeed } from '../../../src/rules/replay.js';
import { simulateRule, type SimMessage } from '../../../src/rules/simulate.js';
import { DEVICES, harness, rules, SITE, T0, useFakeTime } from './harness.js';

/** A text a rule gives in one language, as every language says it. */
const both = (text: string) => ({ 'zh-CN': text, en: text });

afterEach(() => vi.useRealTimers());

/** One of each stateful form, each on its own so the live run and the simulation see the same single rule. */
const RULES: Record<string, string> = {
  'smoke-high': `
- id: smoke-high
  match: { kind: fire }
  when: { telemetry: smokeObscurationPct, above: 8, for: 10s, clear: { below: 2, for: 1m } }
  alarm: { type: smoke_high, severity: major, message: "Smoke {value} % at {device}" }`,
  'fire-confirmed': `
- id: fire-confirmed
  match: { kind: fire }
  when: { all: [ { event: fire_alarm }, { telemetry: smokeObscurationPct, above: 4 } ], within: 2m, distinct: true }
  alarm: { type: fire_confirmed, severity: critical, message: "Confirmed fire in {zone}" }`,
  denied: `
- id: denied
  match: { kind: access }
  when: { event: access_denied, count: 3, within: 1m }
  alarm: { type: denied, severity: minor, message: "denied at {device}" }`,
  'camera-silent': `
- id: camera-silent
  match: { kind: camera }
  when: { absent: 1m }
  alarm: { type: camera_silent, severity: major, message: "{device} silent" }`,
  'heat-rise': `
- id: heat-rise
  match: { kind: fire }
  when: { telemetry: temperatureC, rise: 5, within: 30s }
  alarm: { type: heat_rise, severity: major, message: "{device} at {value}" }`,
  'checkpoint-missed': `
- id: checkpoint-missed
  match: { kind: access }
  when: { event: access_denied, missing: 15s }
  alarm: { type: checkpoint_missed, severity: major, message: "{device} not seen" }`,
  'meter-service': `
- id: meter-service
  match: { kind: energy }
  when: { usage: energyKwh, every: 100 }
  alarm: { type: service_due, severity: warning, message: "{device} at {value}" }`,
};

const at = (s: number) => T0 + s * 1000;
const fire = (s: number, device: string, fields: Record<string, number>): SimMessage => ({ ts: at(s), device, kind: 'fire', site: SITE, zone: device === 'fire-3' ? 'b2-f1' : 'b1-f1', telemetry: fields });
const meter = (s: number, energyKwh: number): SimMessage => ({ ts: at(s), device: 'meter-1', kind: 'energy', site: SITE, zone: 'b1', telemetry: { energyKwh } });

const MESSAGES: SimMessage[] = [
  { ts: at(0), device: 'cam-1', kind: 'camera', site: SITE, zone: 'b1-f1', telemetry: { fps: 25 } },
  fire(0, 'fire-1', { smokeObscurationPct: 9, temperatureC: 20 }),
  fire(5, 'fire-1', { smokeObscurationPct: 12 }),
  fire(8, 'fire-1', { smokeObscurationPct: 3 }),
  { ts: at(10), device: 'door-1', kind: 'access', site: SITE, zone: 'b1-f1', event: { type: 'access_denied', details: { method: 'card' } } },
  fire(20, 'fire-1', { smokeObscurationPct: 9, temperatureC: 22 }),
  { ts: at(20), device: 'door-1', kind: 'access', site: SITE, zone: 'b1-f1', event: { type: 'access_denied', details: { method: 'card' } } },
  { ts: at(30), device: 'door-1', kind: 'access', site: SITE, zone: 'b1-f1', event: { type: 'access_denied', details: { method: 'card' } } },
  fire(40, 'fire-1', { temperatureC: 28 }),
  meter(50, 1000),
  fire(60, 'fire-1', { smokeObscurationPct: 1, temperatureC: 28 }),
  { ts: at(65), device: 'fire-2', kind: 'fire', site: SITE, zone: 'b1-f1', event: { type: 'fire_alarm' } },
  fire(100, 'fire-3', { smokeObscurationPct: 30 }),
  meter(150, 1250),
  { ts: at(200), device: 'cam-1', kind: 'camera', site: SITE, zone: 'b1-f1', status: 'offline' },
  meter(250, 1300),
  { ts: at(300), device: 'cam-1', kind: 'camera', site: SITE, zone: 'b1-f1', status: 'online' },
];
const UNTIL = at(400);

/** The same messages through the live engine on fake timers: raise and clear calls as [kind, source, at]. */
async function live(ruleYaml: string): Promise<Array<[string, string, number]>> {
  useFakeTime(T0);
  const h = harness(ruleYaml);
  for (const m of MESSAGES) {
    await h.advance(m.ts - Date.now());
    const origin = { site: m.site, kind: m.kind, device: m.device, zone: m.zone };
    if (m.telemetry) h.bus.emit('telemetryAccepted', { ...origin, ts: m.ts, fields: m.telemetry });
    if (m.event) h.bus.emit('eventAccepted', { ...origin, ts: m.ts, type: m.event.type, details: m.event.details ?? {} });
    if (m.status) h.bus.emit('statusReceived', { ...origin, ts: m.ts, online: m.status === 'online' });
  }
  await h.advance(UNTIL - Date.now());
  h.engine.stop();
  vi.useRealTimers();
  return h.actions.calls.flatMap((c): Array<[string, string, number]> =>
    c.op === 'raise' && c.raised ? [['raised', c.req.source, c.at - T0]] : c.op === 'clear' ? [['cleared', c.key.source, c.at - T0]] : [],
  );
}

describe('simulateRule', () => {
  it.each(Object.keys(RULES))('gives the live engine’s raise and clear moments for %s', async (id) => {
    const [rule] = rules(RULES[id]);
    const simulated = simulateRule(rule, MESSAGES, DEVICES, { timeZone: 'UTC', from: T0, until: UNTIL })
      .filter((o) => (o.kind === 'raised' && !o.repeat) || o.kind === 'cleared')
      .map((o) => [o.kind, 'source' in o ? o.source : '', o.at - T0]);
    expect(simulated).toStrictEqual(await live(RULES[id]));
    expect(simulated.length).toBeGreaterThan(0);
  });

  it('answers what happened, with messages and values, and touches nothing outside', () => {
    const [smoke] = rules(RULES['smoke-high']);
    expect(simulateRule(smoke, MESSAGES, DEVICES, { timeZone: 'UTC', until: UNTIL })).toStrictEqual([
      { at: at(30), kind: 'raised', site: SITE, type: 'smoke_high', source: 'fire-1', value: 9, message: 'Smoke 9 % at fire-1', messages: both('Smoke 9 % at fire-1') },
      { at: at(110), kind: 'raised', site: SITE, type: 'smoke_high', source: 'fire-3', value: 30, message: 'Smoke 30 % at fire-3', messages: both('Smoke 30 % at fire-3') },
      { at: at(120), kind: 'cleared', site: SITE, type: 'smoke_high', source: 'fire-1', message: 'Smoke 9 % at fire-1', messages: both('Smoke 9 % at fire-1') },
    ]);
  });

  it('answers the texts of a rule written in both languages in both, message and title in zh-CN', () => {
    const [rule] = rules(`
- id: fire-alarm
  match: { kind: fire }
  when: { event: fire_alarm }
  alarm: { type: fire_alarm, severity: major, message: { zh-CN: "{device} 报火警", en: "fire at {device}" } }
  workOrder: { category: fire, priority: urgent, title: { zh-CN: "检查 {zone}", en: "Check {zone}" } }
`);
    expect(simulateRule(rule, MESSAGES, DEVICES, { timeZone: 'UTC' })).toStrictEqual([
      { at: at(65), kind: 'raised', site: SITE, type: 'fire_alarm', source: 'fire-2', value: undefined, message: 'fire-2 报火警', messages: { 'zh-CN': 'fire-2 报火警', en: 'fire at fire-2' } },
      { at: at(65), kind: 'workOrder', site: SITE, source: 'fire-2', title: '检查 b1-f1', titles: { 'zh-CN': '检查 b1-f1', en: 'Check b1-f1' } },
    ]);
  });

  it('runs work orders and commands without sending anything', () => {
    const [rule] = rules(`
- id: fire-alarm
  match: { kind: fire }
  when: { event: fire_alarm }
  alarm: { type: fire_alarm, severity: major, message: "fire at {device}" }
  workOrder: { category: fire, priority: urgent, title: "Check {zone}" }
  commands: [ { match: { kind: access, zone: "{zone}" }, action: unlock } ]
`);
    expect(simulateRule(rule, MESSAGES, DEVICES, { timeZone: 'UTC' })).toStrictEqual([
      { at: at(65), kind: 'raised', site: SITE, type: 'fire_alarm', source: 'fire-2', value: undefined, message: 'fire at fire-2', messages: both('fire at fire-2') },
      { at: at(65), kind: 'workOrder', site: SITE, source: 'fire-2', title: 'Check b1-f1', titles: both('Check b1-f1') },
      { at: at(65), kind: 'command', site: SITE, device: 'door-1', action: 'unlock' },
    ]);
  });

  it('replays missing and usage, work orders included', () => {
    const [tour] = rules(RULES['checkpoint-missed']);
    expect(simulateRule(tour, MESSAGES, DEVICES, { timeZone: 'UTC', from: T0, until: UNTIL })).toStrictEqual([
      // door-1's denials at 10, 20 and 30 s each start its count again; door-2 has none.
      { at: at(15), kind: 'raised', site: SITE, type: 'checkpoint_missed', source: 'door-2', value: undefined, message: 'door-2 not seen', messages: both('door-2 not seen') },
      { at: at(45), kind: 'raised', site: SITE, type: 'checkpoint_missed', source: 'door-1', value: undefined, message: 'door-1 not seen', messages: both('door-1 not seen') },
    ]);
    const [service] = rules(`
- id: meter-service
  match: { kind: energy }
  when: { usage: energyKwh, every: 100 }
  workOrder: { category: energy, priority: normal, title: "Service {device} at {value} kWh" }
`);
    expect(simulateRule(service, MESSAGES, DEVICES, { timeZone: 'UTC', from: T0, until: UNTIL })).toStrictEqual([
      { at: at(150), kind: 'workOrder', site: SITE, source: 'meter-1', title: 'Service meter-1 at 1250 kWh', titles: both('Service meter-1 at 1250 kWh') },
      { at: at(250), kind: 'workOrder', site: SITE, source: 'meter-1', title: 'Service meter-1 at 1300 kWh', titles: both('Service meter-1 at 1300 kWh') },
    ]);
  });

  it('reads from history the event a missing rule waits for and the field a usage rule counts', () => {
    const [tour] = rules(RULES['checkpoint-missed'].replace('match: { kind: access }', 'match: { site: maple-court }'));
    expect(historyNeed(tour)).toStrictEqual({ kinds: ['access'], fields: [], events: ['access_denied'], everything: false, sites: ['maple-court'], devices: undefined });
    const [service] = rules(RULES['meter-service']);
    expect(historyNeed(service)).toStrictEqual({ kinds: ['energy'], fields: ['energyKwh'], events: [], everything: false, sites: undefined, devices: undefined });
  });
});
