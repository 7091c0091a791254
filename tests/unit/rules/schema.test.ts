import { describe, expect, it } from 'vitest';
import { parseRule } from '../../../src/rules/schema.js';
import { render } from '../../../src/rules/template.js';

const alarm = { type: 'x', severity: 'major' };
const errors = (raw: unknown) => {
  const r = parseRule(raw, 'rules/test.yaml', 0);
  return r.ok ? [] : r.errors;
};
const when = (w: unknown, extra: Record<string, unknown> = {}) => parseRule({ id: 'r', when: w, alarm, ...extra }, 'rules/test.yaml', 0);

describe('rule schema', () => {
  it('normalises each `when` form', () => {
    expect(when({ telemetry: 'temperatureC', above: 57, for: '30s', clear: { below: 45, for: '5m' } })).toMatchObject({
      ok: true,
      rule: { when: { form: 'threshold', dir: 'above', level: 57, forMs: 30_000, clear: { level: 45, forMs: 300_000 } }, enabled: true, autoClear: true, match: {} },
    });
    expect(when({ telemetry: 'energyKwh', fall: 1, within: '1h' })).toMatchObject({ rule: { when: { form: 'rate', dir: 'fall', amount: 1, withinMs: 3_600_000 } } });
    expect(when({ event: 'access_denied', count: 5, within: '2m' })).toMatchObject({ rule: { when: { form: 'event-count', per: 'device', count: 5 } } });
    expect(when({ event: 'access_denied', where: { method: 'card' } })).toMatchObject({ rule: { when: { form: 'event', where: { method: ['card'] } } } });
    expect(when({ absent: '500ms' })).toMatchObject({ rule: { when: { form: 'absent', absentMs: 500 } } });
    expect(when({ schedule: '0 9 * * 1', during: '08:00-10:00' })).toMatchObject({ rule: { when: { form: 'schedule', during: { start: 480, end: 600 } } } });
    expect(when({ all: [{ event: 'fire_alarm' }, { telemetry: 'smokeObscurationPct', above: 4 }], within: '2m' })).toMatchObject({
      rule: { when: { form: 'all', per: 'zone', distinct: false, all: [{ form: 'event' }, { form: 'threshold', dir: 'above', level: 4 }] } },
    });
  });

  it('names the file, the rule and the field of a bad duration', () => {
    expect(errors({ id: 'smoke-high', when: { telemetry: 'smokeObscurationPct', above: 8, for: '5 minutes' }, alarm })).toStrictEqual([
      'rules/test.yaml: rule "smoke-high": when.for: "5 minutes" is not a duration such as 500ms, 10s, 5m or 2h',
    ]);
  });

  it('names a rule without an id by its place in the file', () => {
    expect(errors({ when: { absent: '1m' }, alarm })).toStrictEqual(['rules/test.yaml: rule #1: id: must be text']);
  });

  it('refuses unknown fields, unknown placeholders and bad ids', () => {
    expect(errors({ id: 'Bad Id', when: { absent: '1m', fro: 1 }, alarm: { ...alarm, message: '{device} {temp}' } })).toStrictEqual([
      'rules/test.yaml: rule "Bad Id": id: must be lowercase letters, digits, - and _, starting with a letter or digit',
      'rules/test.yaml: rule "Bad Id": when.fro: unknown field',
      'rules/test.yaml: rule "Bad Id": alarm.message: unknown placeholder {temp}; use {device}, {zone}, {place}, {site}, {value}, {kind}, {rule}',
    ]);
  });

  it('checks the cross-field rules', () => {
    expect(errors({ id: 'r', when: { telemetry: 'temperatureC', above: 57, below: 3 }, alarm })).toStrictEqual(['rules/test.yaml: rule "r": when: takes only one of above or below']);
    expect(errors({ id: 'r', when: { telemetry: 'temperatureC', above: 57, clear: { above: 60 } }, alarm })).toStrictEqual([
      'rules/test.yaml: rule "r": when.clear.above: a rule on above clears below a level',
    ]);
    expect(errors({ id: 'r', when: { telemetry: 'temperatureC', above: 57, clear: { below: 60 } }, alarm })).toStrictEqual([
      'rules/test.yaml: rule "r": when.clear.below: must not be above the above level (57)',
    ]);
    expect(errors({ id: 'r', when: { absent: '1m' } })).toStrictEqual(['rules/test.yaml: rule "r": needs at least one action: alarm, workOrder or commands']);
    expect(errors({ id: 'r', when: { absent: '1m' }, alarm: { ...alarm, escalate: { after: '1m', to: 'minor' } } })).toStrictEqual([
      'rules/test.yaml: rule "r": alarm.escalate.to: must be more severe than major',
    ]);
    expect(errors({ id: 'r', when: { event: 'fire_alarm', clearOn: { event: 'reset' } }, autoClear: false, alarm })).toStrictEqual([
      'rules/test.yaml: rule "r": when.clearOn: a rule with autoClear: false is never cleared by an event; remove one of them',
    ]);
  });

  it('refuses a telemetry field or event type the matched kinds do not have', () => {
    expect(errors({ id: 'r', match: { kind: 'fire' }, when: { event: 'door_forced' }, alarm })).toStrictEqual([
      'rules/test.yaml: rule "r": when.event: "door_forced" is not an event type of fire (fire_alarm, fault, test, reset)',
    ]);
    expect(errors({ id: 'r', when: { telemetry: 'smoke', above: 1 }, alarm })[0]).toMatch(/^rules\/test\.yaml: rule "r": when\.telemetry: "smoke" is not a telemetry field \(doorOpen, /);
  });

  it('refuses bad windows, crons and forms', () => {
    expect(errors({ id: 'r', when: { absent: '1m', during: '22h-6h' }, alarm })).toStrictEqual(['rules/test.yaml: rule "r": when.during: "22h-6h" is not a daily window such as "22:00-06:00"']);
    expect(errors({ id: 'r', when: { schedule: '0 99 * * *' }, alarm })).toStrictEqual([
      'rules/test.yaml: rule "r": when.schedule: "0 99 * * *" is not a cron expression: 99 is a invalid expression for hour',
    ]);
    expect(errors({ id: 'r', when: { telemetri: 'x' }, alarm })[0]).toMatch(/^rules\/test\.yaml: rule "r": when: must be one of \{ telemetry, above\|below \}/);
    expect(errors({ id: 'r', when: { all: [{ event: 'fire_alarm' }, { telemetry: 'temperatureC' }], within: '1m' }, alarm })).toStrictEqual([
      'rules/test.yaml: rule "r": when.all.1: needs one of above or below',
    ]);
  });

  it('normalises the forms of contract §9: missing and usage', () => {
    expect(when({ event: 'access_granted', missing: '2h', during: '22:00-06:00' })).toMatchObject({
      ok: true,
      rule: { when: { form: 'missing', event: 'access_granted', missingMs: 7_200_000, per: 'device', during: { start: 1320, end: 360 } } },
    });
    expect(when({ event: 'access_granted', missing: '90m', per: 'device' })).toMatchObject({ rule: { when: { form: 'missing', missingMs: 5_400_000, per: 'device' } } });
    expect(when({ usage: 'energyKwh', every: 2000 })).toStrictEqual({
      ok: true,
      rule: { id: 'r', enabled: true, match: {}, when: { form: 'usage', usage: 'energyKwh', every: 2000, during: undefined }, alarm: { type: 'x', severity: 'major' }, autoClear: true },
    });
  });

  it('refuses a bad missing duration, per or event, naming the field', () => {
    expect(errors({ id: 'tour', when: { event: 'access_granted', missing: '0s', per: 'zone' }, alarm })).toStrictEqual([
      'rules/test.yaml: rule "tour": when.missing: "0s" is too short: it must be at least 1ms',
      'rules/test.yaml: rule "tour": when.per: must be device',
    ]);
    expect(errors({ id: 'tour', when: { event: 'access_granted', missing: 'two hours' }, alarm })).toStrictEqual([
      'rules/test.yaml: rule "tour": when.missing: "two hours" is not a duration such as 500ms, 10s, 5m or 2h',
    ]);
    expect(errors({ id: 'tour', match: { kind: 'energy' }, when: { event: 'access_granted', missing: '2h' }, alarm })).toStrictEqual([
      'rules/test.yaml: rule "tour": when.event: "access_granted" is not an event type of energy (phase_loss, meter_tamper)',
    ]);
    expect(errors({ id: 'tour', when: { event: 'access_granted', missing: '2h', count: 3 }, alarm })).toStrictEqual(['rules/test.yaml: rule "tour": when.count: unknown field']);
  });

  it('refuses a usage step that is not a number above 0, or finite', () => {
    expect(errors({ id: 'svc', when: { usage: 'energyKwh', every: 0 }, alarm })).toStrictEqual(['rules/test.yaml: rule "svc": when.every: must be above 0']);
    expect(errors({ id: 'svc', when: { usage: 'energyKwh', every: -100 }, alarm })).toStrictEqual(['rules/test.yaml: rule "svc": when.every: must be above 0']);
    expect(errors({ id: 'svc', when: { usage: 'energyKwh', every: '2000' }, alarm })).toStrictEqual(['rules/test.yaml: rule "svc": when.every: must be a number']);
    expect(errors({ id: 'svc', when: { usage: 'energyKwh', every: Infinity }, alarm })).toStrictEqual(['rules/test.yaml: rule "svc": when.every: must be a finite number']);
    expect(errors({ id: 'svc', when: { usage: 'energyKwh', every: 100, for: '1m' }, alarm })).toStrictEqual(['rules/test.yaml: rule "svc": when.for: unknown field']);
  });

  it('refuses a usage field that is not a numeric telemetry field of the matched kinds', () => {
    expect(errors({ id: 'svc', match: { kind: 'access' }, when: { usage: 'doorOpen', every: 1 }, alarm })).toStrictEqual([
      'rules/test.yaml: rule "svc": when.usage: "doorOpen" is not a numeric telemetry field of access (batteryPct)',
    ]);
    expect(errors({ id: 'svc', match: { kind: 'energy' }, when: { usage: 'runHours', every: 2000 }, alarm })).toStrictEqual([
      'rules/test.yaml: rule "svc": when.usage: "runHours" is not a numeric telemetry field of energy (energyKwh, powerKw, voltageV, currentA, powerFactor)',
    ]);
  });

  it('takes a usage rule with only a work order, and refuses one whose alarm would never clear', () => {
    expect(errors({ id: 'svc', match: { kind: 'energy' }, when: { usage: 'energyKwh', every: 100 }, workOrder: { category: 'energy', priority: 'low' } })).toStrictEqual([]);
    expect(errors({ id: 'svc', when: { usage: 'energyKwh', every: 100 }, alarm, autoClear: false })).toStrictEqual([
      'rules/test.yaml: rule "svc": autoClear: a usage rule fires and is done: with autoClear: false its alarm stays open and later firings open no work order; remove it',
    ]);
  });

  it('compiles templates and renders them', () => {
    const r = parseRule({ id: 'r', when: { absent: '1m' }, alarm: { ...alarm, message: 'At {device} ({zone}, {site}): {value} by {rule} of {kind}' } }, 'f', 0);
    if (!r.ok) throw new Error(r.errors.join());
    expect(render(r.rule.alarm!.message!.en, { device: 'd', zone: 'z', site: 's', value: '1.5', rule: 'r', kind: 'fire' })).toBe('At d (z, s): 1.5 by r of fire');
  });
});
