import { describe, expect, it } from 'vitest';
import type { AlarmRaise } from '../../../src/alarms/model.js';
import type { RuleActions } from '../../../src/rules/actions.js';
import { applyChange } from '../../../src/rules/effects.js';
import { parseRule, type Rule } from '../../../src/rules/schema.js';
import type { WorkOrderCreate } from '../../../src/workorders/model.js';

const rule = (() => {
  const r = parseRule(
    {
      id: 'smoke',
      when: { event: 'fire_alarm' },
      alarm: { type: 'fire_alarm', severity: 'critical', message: { 'zh-CN': '{place} 探测器 {device} 报火警', en: 'Fire alarm from {device} in {place}' } },
      workOrder: { category: 'fire', priority: 'urgent', title: { 'zh-CN': '检查{place}', en: 'Check {place} ({zone})' } },
    },
    'rules/fire.yaml',
    0,
  );
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.rule as Rule;
})();

/** Actions that keep what the rule asked for; the site file knows floor b3-f12 of maple-court. */
function actions(withSiteFile: boolean) {
  const raised: AlarmRaise[] = [];
  const opened: WorkOrderCreate[] = [];
  const a: RuleActions = {
    raiseAlarm: (req) => (raised.push(req), { id: 'a1', raised: true }),
    clearAlarm: () => undefined,
    openWorkOrder: (req) => (opened.push(req), 'w1'),
    sendCommand: () => undefined,
    devices: () => [],
    device: () => undefined,
    ...(withSiteFile && {
      placeText: (site: string, zone: string | undefined, language: 'zh-CN' | 'en') =>
        site === 'maple-court' && zone === 'b3-f12' ? { 'zh-CN': '3号楼12层', en: 'Building 3, Floor 12' }[language] : undefined,
    }),
  };
  return { a, raised, opened };
}

const fire = { holds: true, at: 0, source: { id: 'smoke-1', site: 'maple-court', device: 'smoke-1', kind: 'fire', zone: 'b3-f12' } };

describe('{place} in a rule text', () => {
  it("names the floor with its building in each text's own language", () => {
    const { a, raised, opened } = actions(true);
    applyChange(rule, fire, a, () => undefined);
    expect(raised[0].messages).toStrictEqual({ 'zh-CN': '3号楼12层 探测器 smoke-1 报火警', en: 'Fire alarm from smoke-1 in Building 3, Floor 12' });
    expect(opened[0].title).toStrictEqual({ 'zh-CN': '检查3号楼12层', en: 'Check Building 3, Floor 12 (b3-f12)' });
  });

  it('says the zone id where no site file knows the zone', () => {
    const { a, raised } = actions(true);
    applyChange(rule, { ...fire, source: { ...fire.source, zone: 'b9-f1' } }, a, () => undefined);
    expect(raised[0].messages).toStrictEqual({ 'zh-CN': 'b9-f1 探测器 smoke-1 报火警', en: 'Fire alarm from smoke-1 in b9-f1' });
    const without = actions(false);
    applyChange(rule, fire, without.a, () => undefined);
    expect(without.raised[0].messages).toStrictEqual({ 'zh-CN': 'b3-f12 探测器 smoke-1 报火警', en: 'Fire alarm from smoke-1 in b3-f12' });
  });
});
