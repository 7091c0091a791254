import { describe, expect, it } from 'vitest';
import { checkEvent, checkTelemetry, KIND_NAMES, KINDS } from '../../src/devices/kinds/index.js';
import { firstNonFinite } from '../../src/finite.js';
import { parseRuleFile } from '../../src/rules/loader.js';

describe('firstNonFinite', () => {
  it('finds ±Infinity and NaN anywhere, naming the path', () => {
    expect(firstNonFinite(JSON.parse('{"powerKw":1e400}'))).toBe('powerKw');
    expect(firstNonFinite(JSON.parse('{"a":{"b":[1,2,-1e400]}}'))).toBe('a.b.2');
    expect(firstNonFinite({ x: 1, y: NaN })).toBe('y');
    expect(firstNonFinite(Infinity)).toBe('');
  });

  it('reports the first one in document order', () => {
    expect(firstNonFinite(JSON.parse('{"a":1,"b":1e400,"c":-1e400}'))).toBe('b');
  });

  it('passes finite values, -0, the largest double and strings that look like numbers', () => {
    expect(firstNonFinite(JSON.parse('{"a":-0,"b":1.7976931348623157e308,"c":"Infinity","d":[true,null,"NaN"]}'))).toBeUndefined();
  });

  it('walks a payload nested 100,000 deep without exhausting the stack', () => {
    const deep = JSON.parse(`${'['.repeat(100_000)}1e400${']'.repeat(100_000)}`);
    expect(firstNonFinite(deep)).toBe(Array(100_000).fill('0').join('.'));
  });
});

describe('non-finite numbers in device payloads (contract §2)', () => {
  it.each([
    ['energy', '{"powerKw":1e400}', 'powerKw'],
    ['energy', '{"powerKw":-1e400}', 'powerKw'],
    ['energy', '{"energyKwh":1e400}', 'energyKwh'],
    ['energy', '{"powerKw":1,"energyKwh":1e400}', 'energyKwh'],
    ['fire', '{"temperatureC":1e400}', 'temperatureC'],
    ['lighting', '{"powerW":1e400}', 'powerW'],
  ] as const)('refuses %s telemetry %s naming the field', (kind, text, field) => {
    expect(checkTelemetry(kind, JSON.parse(text))).toStrictEqual({ ok: false, reason: `${field}: must be a finite number` });
  });

  it('refuses every numeric field of every kind when it is infinite', () => {
    for (const kind of KIND_NAMES) {
      for (const field of KINDS[kind].fields) {
        const checked = checkTelemetry(kind, { [field]: Infinity });
        expect(checked, `${kind}.${field}`).toMatchObject({ ok: false });
      }
    }
  });

  it('refuses an infinite detail of an event and an infinite ts', () => {
    expect(checkEvent('fire', JSON.parse('{"type":"fault","code":1e400}'))).toStrictEqual({ ok: false, reason: 'code: must be a finite number' });
    expect(checkTelemetry('fire', JSON.parse('{"temperatureC":20,"ts":1e400}'))).toStrictEqual({ ok: false, reason: 'ts: must be a finite number' });
  });
});

describe('non-finite numbers in rule files', () => {
  it.each([
    ['fire.yaml', '- id: hot\n  match: { kind: fire }\n  when: { telemetry: temperatureC, above: .inf }\n  alarm: { type: hot, severity: major }\n', 'when.above'],
    ['fire.yaml', '- id: hot\n  match: { kind: fire }\n  when: { telemetry: temperatureC, above: -1e400 }\n  alarm: { type: hot, severity: major }\n', 'when.above'],
    [
      'fire.json',
      '[{"id":"hot","match":{"kind":"fire"},"when":{"telemetry":"temperatureC","above":50},"alarm":{"type":"hot","severity":"major"},"commands":[{"match":{"kind":"lighting"},"action":"set","params":{"brightnessPct":1e400}}]}]',
      'commands.0.params.brightnessPct',
    ],
  ])('refuses %s with an infinite value, naming the rule and the field', (file, text, field) => {
    expect(parseRuleFile(file, text)).toStrictEqual({ rules: [], errors: [`${file}: rule "hot": ${field}: must be a finite number`] });
  });
});
