import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readRules } from '../../../src/rules/loader.js';

interface RawRule {
  id: string;
  description?: unknown;
  alarm?: { type: string; message?: unknown; instructions?: unknown };
  workOrder?: { title?: unknown };
}

/** The pack as written: the loader fills a missing language from the other, which would hide one left out. */
async function rawPack(): Promise<RawRule[]> {
  const files = (await readdir('rules')).filter((f) => f.endsWith('.yaml')).sort();
  return (await Promise.all(files.map(async (f) => parse(await readFile(join('rules', f), 'utf8')) as RawRule[]))).flat();
}

/** Every text a person reads of a rule, by its field. */
function texts(r: RawRule): Array<[string, unknown]> {
  return [
    ['description', r.description],
    ['alarm.message', r.alarm?.message],
    ['alarm.instructions', r.alarm?.instructions],
    ['workOrder.title', r.workOrder?.title],
  ].filter(([field, t]) => t !== undefined || (field === 'alarm.instructions' && r.alarm)) as Array<[string, unknown]>;
}

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
const HAN = /\p{Script=Han}/u;

describe('the default rule pack in both languages (issue 17)', () => {
  it('writes every description, alarm message, instruction and work order title in zh-CN and en', async () => {
    const missing: string[] = [];
    for (const r of await rawPack()) {
      for (const [field, t] of texts(r)) {
        const both = typeof t === 'object' && t !== null && typeof (t as Record<string, unknown>)['zh-CN'] === 'string' && typeof (t as Record<string, unknown>).en === 'string';
        if (!both) missing.push(`${r.id}: ${field}`);
      }
    }
    expect(missing).toStrictEqual([]);
  });

  it('uses the same placeholders in both languages, Chinese in zh-CN and none in en, and no placeholder in instructions', async () => {
    const wrong: string[] = [];
    for (const r of await rawPack()) {
      for (const [field, t] of texts(r)) {
        const { 'zh-CN': zh, en } = t as Record<string, string>;
        if (placeholders(zh).join() !== placeholders(en).join()) wrong.push(`${r.id}: ${field}: placeholders differ`);
        if (!HAN.test(zh) || HAN.test(en)) wrong.push(`${r.id}: ${field}: language`);
        if (field === 'alarm.instructions' && placeholders(zh + en).length > 0) wrong.push(`${r.id}: ${field}: placeholder`);
      }
    }
    expect(wrong).toStrictEqual([]);
  });

  it('loads with the instructions of every alarm type in both languages', async () => {
    const { rules } = await readRules('rules');
    const fire = rules.find((r) => r.rule.id === 'fire-alarm')!.rule;
    const message = fire.alarm?.message;
    expect([message?.['zh-CN'].text, message?.en.text]).toStrictEqual(['{place} 探测器 {device} 报火警', 'Fire alarm from {device} in {place}']);
    expect(fire.alarm?.instructions).toMatchObject({ 'zh-CN': expect.stringContaining('119'), en: expect.stringContaining('119') });
    const trapped = rules.find((r) => r.rule.id === 'lift-passenger-trapped')!.rule;
    expect(trapped.alarm?.instructions?.['zh-CN']).toContain('严禁未经培训人员扒门');
    expect(rules.filter((r) => r.rule.alarm && !r.rule.alarm.instructions).map((r) => r.rule.id)).toStrictEqual([]);
  });
});
