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
      'rules/test.yaml: rule "Bad Id": alarm.message: unknown placeholder {temp}; use {device}, {zone}, {site}, {value}, {kind}, {rule}',
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

  it('compiles templates and renders them', () => {
    const r = parseRule({ id: 'r', when: { absent: '1m' }, alarm: { ...alarm, message: 'At {device} ({zone}, {site}): {value} by {rule} of {kind}' } }, 'f', 0);
    if (!r.ok) throw new Error(r.errors.join());
    expect(render(r.rule.alarm!.message!, { device: 'd', zone: 'z', site: 's', value: '1.5', rule: 'r', kind: 'fire' })).toBe('At d (z, s): 1.5 by r of fire');
  });
});
