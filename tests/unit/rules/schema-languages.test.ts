import { describe, expect, it } from 'vitest';
import { parseRule, type Rule } from '../../../src/rules/schema.js';
import { render } from '../../../src/rules/template.js';

const when = { absent: '1m' };
const alarm = { type: 'x', severity: 'major' };
const parse = (extra: Record<string, unknown>): Rule => {
  const r = parseRule({ id: 'r', when, alarm, ...extra }, 'rules/test.yaml', 0);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.rule;
};
const errors = (extra: Record<string, unknown>) => {
  const r = parseRule({ id: 'r', when, alarm, ...extra }, 'rules/test.yaml', 0);
  return r.ok ? [] : r.errors;
};
const VARS = { device: 'smoke-1', zone: 'b3-f12', site: 's', value: '12', rule: 'r', kind: 'fire' };

describe('rule text in both languages', () => {
  it('takes a message per language and compiles each', () => {
    const rule = parse({ alarm: { ...alarm, message: { 'zh-CN': '{device}（{zone}）烟雾 {value}%', en: 'Smoke {value}% at {device} ({zone})' } } });
    expect(render(rule.alarm!.message!['zh-CN'], VARS)).toBe('smoke-1（b3-f12）烟雾 12%');
    expect(render(rule.alarm!.message!.en, VARS)).toBe('Smoke 12% at smoke-1 (b3-f12)');
  });

  it('uses a plain message in every language', () => {
    const rule = parse({ alarm: { ...alarm, message: 'Smoke at {device}' } });
    expect(render(rule.alarm!.message!['zh-CN'], VARS)).toBe('Smoke at smoke-1');
    expect(render(rule.alarm!.message!.en, VARS)).toBe('Smoke at smoke-1');
  });

  it('says a message given in one language in the other too', () => {
    const rule = parse({ alarm: { ...alarm, message: { en: 'Smoke at {device}' } } });
    expect(render(rule.alarm!.message!['zh-CN'], VARS)).toBe('Smoke at smoke-1');
  });

  it('takes the description, the instructions and the work order title in either form', () => {
    const rule = parse({
      description: { 'zh-CN': '烟感', en: 'Smoke detector' },
      alarm: { ...alarm, instructions: '派保安到现场确认' },
      workOrder: { category: 'fire', priority: 'urgent', title: { 'zh-CN': '检查 {device}', en: 'Check {device}' } },
    });
    expect(rule.description).toStrictEqual({ 'zh-CN': '烟感', en: 'Smoke detector' });
    expect(rule.alarm!.instructions).toStrictEqual({ 'zh-CN': '派保安到现场确认', en: '派保安到现场确认' });
    expect(render(rule.workOrder!.title!.en, VARS)).toBe('Check smoke-1');
    expect(render(rule.workOrder!.title!['zh-CN'], VARS)).toBe('检查 smoke-1');
  });

  it('names the language of a template with an unknown placeholder', () => {
    expect(errors({ alarm: { ...alarm, message: { 'zh-CN': '{device} 烟雾', en: 'Smoke at {sensor}' } } })).toStrictEqual([
      'rules/test.yaml: rule "r": alarm.message.en: unknown placeholder {sensor}; use {device}, {zone}, {place}, {site}, {value}, {kind}, {rule}',
    ]);
    expect(errors({ workOrder: { category: 'c', priority: 'low', title: { 'zh-CN': '检查 {设备}', en: 'Check' } } })).toStrictEqual([]);
    expect(errors({ workOrder: { category: 'c', priority: 'low', title: { 'zh-CN': '检查 {building}', en: 'Check' } } })).toStrictEqual([
      'rules/test.yaml: rule "r": workOrder.title.zh-CN: unknown placeholder {building}; use {device}, {zone}, {place}, {site}, {value}, {kind}, {rule}',
    ]);
  });

  it('names the field of a plain template with an unknown placeholder', () => {
    expect(errors({ alarm: { ...alarm, message: 'Smoke at {sensor}' } })).toStrictEqual([
      'rules/test.yaml: rule "r": alarm.message: unknown placeholder {sensor}; use {device}, {zone}, {place}, {site}, {value}, {kind}, {rule}',
    ]);
  });

  it('refuses an unknown language, a language that is not text, no language and a value of neither form', () => {
    expect(errors({ description: { 'zh-CN': '烟感', fr: 'Détecteur' } })).toStrictEqual(['rules/test.yaml: rule "r": description.fr: unknown field']);
    expect(errors({ alarm: { ...alarm, instructions: { en: 3 } } })).toStrictEqual(['rules/test.yaml: rule "r": alarm.instructions.en: must be text']);
    expect(errors({ alarm: { ...alarm, instructions: { en: '' } } })).toStrictEqual(['rules/test.yaml: rule "r": alarm.instructions.en: must not be empty']);
    expect(errors({ alarm: { ...alarm, message: {} } })).toStrictEqual(['rules/test.yaml: rule "r": alarm.message: must give at least one of zh-CN, en']);
    expect(errors({ description: 7 })).toStrictEqual([
      'rules/test.yaml: rule "r": description: must be text, or text per language such as { zh-CN: ..., en: ... }',
    ]);
  });
});
