import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readRules, RuleLoader, RulesInvalidError, ruleView } from '../../../src/rules/loader.js';
import type { Rule } from '../../../src/rules/schema.js';
import { recordingLogger } from './harness.js';

const FIXTURES = 'tests/fixtures/rules';
let dir: string;
let loaders: RuleLoader[];

/** A stand-in for the engine: the rule sets it was given, in order. */
function engine() {
  const sets: string[][] = [];
  return { sets, setRules: (rules: readonly Rule[]) => void sets.push(rules.map((r) => r.id)) };
}

function loader(folder: string, e = engine()) {
  const { log, records } = recordingLogger();
  const l = new RuleLoader({ dir: folder, engine: e, log, debounceMs: 20 });
  loaders.push(l);
  return { l, e, records };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rules-'));
  await cp(join(FIXTURES, 'valid'), dir, { recursive: true });
  loaders = [];
});
afterEach(async () => {
  for (const l of loaders) l.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('rule loader', () => {
  it('reads every .yaml, .yml and .json file and nothing else', async () => {
    const { l, e } = loader(dir);
    expect(await l.start()).toStrictEqual({ ok: true, rules: 7 });
    expect(e.sets).toStrictEqual([['denied-repeated', 'device-silent', 'weekly-inspection', 'smoke-high', 'heat-rise', 'fire-alarm', 'fire-confirmed']]);
    const first = l.rules()[0];
    // A folder outside the working directory is named by its absolute path.
    expect(first.file).toBe(relative(process.cwd(), dir).startsWith('..') ? join(dir, 'access.yml') : relative(process.cwd(), join(dir, 'access.yml')));
    expect(ruleView(first)).toStrictEqual({
      id: 'denied-repeated',
      file: first.file,
      enabled: true,
      form: 'event-count',
      description: undefined,
      definition: {
        id: 'denied-repeated',
        match: { kind: 'access', zone: 'b1-*' },
        when: { event: 'access_denied', count: 5, within: '2m', per: 'device', during: '22:00-06:00' },
        alarm: { type: 'access_denied_repeated', severity: 'minor' },
      },
    });
  });

  it('names the file, the rule and the field of every problem, and refuses the whole set', async () => {
    const folder = join(FIXTURES, 'broken');
    await expect(readRules(folder)).rejects.toThrow(RulesInvalidError);
    const problems = await readRules(folder).catch((err: RulesInvalidError) => err.problems);
    expect(problems).toStrictEqual([
      'tests/fixtures/rules/broken/fire.yaml: rule "smoke-high": when.for: "5 minutes" is not a duration such as 500ms, 10s, 5m or 2h',
      'tests/fixtures/rules/broken/fire.yaml: rule "heat-high": alarm.message: unknown placeholder {temperature}; use {device}, {zone}, {place}, {site}, {value}, {kind}, {rule}',
      'tests/fixtures/rules/broken/fire.yaml: rule #3: id: must be text',
      'tests/fixtures/rules/broken/fire.yaml: rule #3: when.abve: unknown field',
      'tests/fixtures/rules/broken/fire.yaml: rule #3: when: needs one of above or below',
      'tests/fixtures/rules/broken/not-yaml.yaml: not valid YAML: Nested mappings are not allowed in compact mappings at line 2, column 16',
      'tests/fixtures/rules/broken/object.json: must hold a list of rules',
    ]);
  });

  it('refuses an id used in two files, naming both', async () => {
    const problems = await readRules(join(FIXTURES, 'duplicate')).catch((err: RulesInvalidError) => err.problems);
    expect(problems).toStrictEqual(['tests/fixtures/rules/duplicate/b.yaml: rule "tamper": id: already used in tests/fixtures/rules/duplicate/a.yaml']);
  });

  it('keeps the rules in force when a reload finds a broken file, and logs the problems at warn', async () => {
    const { l, e, records } = loader(dir);
    await l.start();
    const before = l.rules();
    await cp(join(FIXTURES, 'broken', 'fire.yaml'), join(dir, 'zz-broken.yaml'));
    const result = await l.reload();
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors[0]).toMatch(/zz-broken\.yaml: rule "smoke-high": when\.for: "5 minutes" is not a duration/);
    expect(e.sets).toHaveLength(1);
    expect(l.rules()).toBe(before);
    expect(records.find((r) => r.msg === 'rule files refused; the rules in force stay')).toMatchObject({ level: 40, errors: !result.ok && result.errors });
    await rm(join(dir, 'zz-broken.yaml'));
    expect(await l.reload()).toStrictEqual({ ok: true, rules: 7 });
    expect(e.sets).toHaveLength(2);
  });

  it('loads no rules from a missing folder, with a warning', async () => {
    const { l, e, records } = loader(join(dir, 'nope'));
    expect(await l.start()).toStrictEqual({ ok: true, rules: 0 });
    expect(e.sets).toStrictEqual([[]]);
    expect(records.find((r) => r.msg === 'rules folder missing; no rules')).toMatchObject({ level: 40 });
  });

  it('reloads by itself when a file in the folder changes', async () => {
    const { l, e } = loader(dir);
    await l.start();
    await writeFile(join(dir, 'extra.yaml'), '- id: extra\n  when: { absent: 5m }\n  alarm: { type: extra, severity: minor }\n');
    await vi.waitFor(() => expect(e.sets.at(-1)).toContain('extra'), { timeout: 5000, interval: 20 });
    expect(l.rules()).toHaveLength(8);
  });
});
