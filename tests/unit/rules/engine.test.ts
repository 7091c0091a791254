import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { threshold } from '../../../src/rules/conditions/threshold.js';
import { inLanguage } from '../../../src/shared/language.js';
import { harness, recordingLogger, rules, SITE, T0, useFakeTime } from './harness.js';

beforeEach(() => useFakeTime());
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

const alarmRule = (id: string, match: string, type = id) => `
- id: ${id}
  match: ${match}
  when: { telemetry: temperatureC, above: 50 }
  alarm: { type: ${type}, severity: major }
`;

describe('matching', () => {
  it('routes a message only to the rules whose match covers the device', () => {
    const h = harness(
      alarmRule('by-kind', '{ kind: fire }') +
        alarmRule('by-site', '{ site: other-site }') +
        alarmRule('by-zone-prefix', '{ zone: "b2-*" }') +
        alarmRule('by-devices', '{ devices: [fire-2] }') +
        alarmRule('by-kind-list', '{ kind: [access, fire], zone: [b1-f1, b9] }'),
    );
    h.telemetry('fire-1', { temperatureC: 60 });
    h.telemetry('fire-2', { temperatureC: 60 });
    h.telemetry('fire-3', { temperatureC: 60 });
    const raised = h.actions.calls.map((c) => c.op === 'raise' && `${c.req.rule}:${c.req.source}`);
    expect(raised.sort()).toStrictEqual(['by-devices:fire-2', 'by-kind-list:fire-1', 'by-kind-list:fire-2', 'by-kind:fire-1', 'by-kind:fire-2', 'by-kind:fire-3', 'by-zone-prefix:fire-3']);
  });

  it('matches tags from the registry', () => {
    const h = harness(`
- id: overload
  match: { kind: energy, tags: { role: building } }
  when: { telemetry: powerKw, above: 225 }
  alarm: { type: meter_overload, severity: major }
`);
    h.telemetry('meter-1', { powerKw: 300 });
    h.telemetry('meter-2', { powerKw: 300 });
    expect(h.actions.edges()).toStrictEqual([['raise', 'meter-1', 0]]);
  });

  it('ignores telemetry without the rule’s field and kinds no rule reads', () => {
    const h = harness(alarmRule('temp', '{ kind: fire }'));
    h.telemetry('fire-1', { batteryPct: 3 });
    h.telemetry('door-1', { batteryPct: 3 });
    expect(h.actions.calls).toStrictEqual([]);
  });

  it('attaches no disabled rule', () => {
    const h = harness(`
- id: off
  enabled: false
  when: { telemetry: temperatureC, above: 50 }
  alarm: { type: off, severity: major }
`);
    h.telemetry('fire-1', { temperatureC: 60 });
    expect(h.actions.calls).toStrictEqual([]);
    expect(h.engine.active()).toStrictEqual([]);
    expect(h.engine.loaded().map((r) => r.id)).toStrictEqual(['off']);
  });
});

describe('actions', () => {
  it('does not clear the alarm when autoClear is false', () => {
    const h = harness(`
- id: sticky
  match: { kind: fire }
  when: { telemetry: temperatureC, above: 50 }
  autoClear: false
  alarm: { type: sticky, severity: major }
`);
    h.telemetry('fire-1', { temperatureC: 60 });
    h.telemetry('fire-1', { temperatureC: 20 });
    expect(h.actions.edges()).toStrictEqual([['raise', 'fire-1', 0]]);
  });

  it('runs the work order and commands of a rule without alarm on each rising edge, in the source’s site', () => {
    const h = harness(`
- id: lights-on-fire
  match: { kind: fire }
  when: { telemetry: temperatureC, above: 50 }
  workOrder: { category: fire, priority: high, title: "Heat at {device} ({value} °C)" }
  commands:
    - { match: { kind: lighting, zone: "{zone}" }, action: "on", params: { brightnessPct: 100 } }
`);
    h.actions.list.push({ id: 'lamp-far', kind: 'lighting', site: 'other-site', zone: 'b1-f1', tags: {}, online: true, lastSeen: null });
    h.telemetry('fire-1', { temperatureC: 60 });
    h.telemetry('fire-1', { temperatureC: 20 });
    h.telemetry('fire-1', { temperatureC: 61 });
    expect(h.actions.calls.map((c) => (c.op === 'workOrder' ? [c.op, inLanguage(c.req.title, 'en'), c.req.alarm] : c.op === 'command' ? [c.op, c.device, c.action, c.params] : [c.op]))).toStrictEqual([
      ['workOrder', 'Heat at fire-1 (60 °C)', undefined],
      ['command', 'lamp-1', 'on', { brightnessPct: 100 }],
      ['workOrder', 'Heat at fire-1 (61 °C)', undefined],
      ['command', 'lamp-1', 'on', { brightnessPct: 100 }],
    ]);
  });

  it('opens the work order once, linked to the alarm, when the alarm is newly raised', () => {
    const h = harness(`
- id: fault
  match: { kind: fire }
  when: { event: fault }
  autoClear: false
  alarm: { type: fire_device_fault, severity: minor }
  workOrder: { category: fire-equipment, priority: high }
`);
    h.event('fire-1', 'fault', { code: 'E1' });
    h.event('fire-1', 'fault', { code: 'E1' });
    expect(h.actions.calls.filter((c) => c.op === 'workOrder')).toStrictEqual([
      {
        op: 'workOrder',
        at: T0,
        req: { site: SITE, title: { 'zh-CN': 'fire_device_fault（fire-1）', en: 'fire_device_fault at fire-1' }, category: 'fire-equipment', priority: 'high', description: undefined, alarm: 'alarm-1', device: 'fire-1', zone: 'b1-f1', rule: 'fault', by: 'rule:fault' },
      },
    ]);
  });

  it('logs a failing action with the rule and goes on with the other actions and rules', () => {
    const { log, records } = recordingLogger();
    const h = harness(
      `
- id: a
  match: { kind: fire }
  when: { telemetry: temperatureC, above: 50 }
  alarm: { type: a, severity: major }
  commands: [ { match: { kind: access, zone: "{zone}" }, action: unlock } ]
- id: b
  match: { kind: fire }
  when: { telemetry: temperatureC, above: 50 }
  alarm: { type: b, severity: major }
`,
      { log },
    );
    const raise = h.actions.raiseAlarm.bind(h.actions);
    vi.spyOn(h.actions, 'raiseAlarm').mockImplementation((req) => {
      if (req.rule === 'a') throw new Error('store is busy');
      return raise(req);
    });
    h.telemetry('fire-1', { temperatureC: 60 });
    expect(h.actions.calls.map((c) => c.op === 'raise' && c.req.rule)).toStrictEqual(['b']);
    const failure = records.find((r) => r.msg === 'rule action failed');
    expect(failure).toMatchObject({ level: 50, rule: 'a', action: 'raiseAlarm', err: { message: 'store is busy' } });
  });
});

describe('isolation and lifecycle', () => {
  it('detaches a failing condition alone, logging it with the rule', () => {
    const { log, records } = recordingLogger();
    vi.spyOn(threshold, 'attach').mockImplementationOnce((ctx) => {
      ctx.subscribe({
        telemetry: {
          fields: ['temperatureC'],
          on: () => {
            throw new Error('condition bug');
          },
        },
      });
      return () => undefined;
    });
    const h = harness(alarmRule('broken', '{ kind: fire }') + alarmRule('fine', '{ kind: fire }'), { log });
    h.telemetry('fire-1', { temperatureC: 60 });
    h.telemetry('fire-2', { temperatureC: 60 });
    expect(h.actions.calls.map((c) => c.op === 'raise' && `${c.req.rule}:${c.req.source}`)).toStrictEqual(['fine:fire-1', 'fine:fire-2']);
    expect(h.engine.active()).toStrictEqual(['fine']);
    expect(records.filter((r) => r.msg === 'rule condition failed; rule detached')).toMatchObject([{ level: 50, rule: 'broken', err: { message: 'condition bug' } }]);
  });

  it('isolates a timer that throws', async () => {
    const { log, records } = recordingLogger();
    vi.spyOn(threshold, 'attach').mockImplementationOnce((ctx) => {
      ctx.clock.at(ctx.clock.now() + 1000, () => {
        throw new Error('timer bug');
      });
      return () => undefined;
    });
    const h = harness(alarmRule('broken', '{ kind: fire }') + alarmRule('fine', '{ kind: fire }'), { log });
    await h.advance(1000);
    h.telemetry('fire-1', { temperatureC: 60 });
    expect(h.engine.active()).toStrictEqual(['fine']);
    expect(records.find((r) => r.msg === 'rule condition failed; rule detached')).toMatchObject({ rule: 'broken', err: { message: 'timer bug' } });
  });

  it('clears every timer and bus listener at stop, and is idempotent', async () => {
    const h = harness(`
- id: smoke
  match: { kind: fire }
  when: { telemetry: smokeObscurationPct, above: 8, for: 10s }
  alarm: { type: smoke, severity: major }
- id: silent
  when: { absent: 1m }
  alarm: { type: silent, severity: minor }
- id: inspection
  when: { schedule: "0 9 * * 1", during: "08:00-10:00" }
  workOrder: { category: fire-inspection, priority: normal }
`);
    h.telemetry('fire-1', { smokeObscurationPct: 9 });
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    h.engine.stop();
    h.engine.stop();
    expect(vi.getTimerCount()).toBe(0);
    h.telemetry('fire-1', { smokeObscurationPct: 9 });
    await h.advance(3_600_000);
    expect(h.actions.calls).toStrictEqual([]);
  });

  it('keeps a half-elapsed `for` across a swap of the rules', async () => {
    const h = harness(alarmRule('other', '{ kind: fire }') + `
- id: smoke
  match: { kind: fire }
  when: { telemetry: smokeObscurationPct, above: 8, for: 10s }
  alarm: { type: smoke, severity: major }
`);
    h.telemetry('fire-1', { smokeObscurationPct: 9 });
    await h.advance(6_000);
    h.engine.setRules(rules(`
- id: smoke
  match: { kind: fire }
  when: { telemetry: smokeObscurationPct, above: 8, for: 10s }
  alarm: { type: smoke, severity: major }
`));
    await h.advance(3_999);
    expect(h.actions.calls).toStrictEqual([]);
    await h.advance(1);
    expect(h.actions.edges()).toStrictEqual([['raise', 'fire-1', 10_000]]);
  });
});
