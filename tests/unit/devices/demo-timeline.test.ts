import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { KIND_NAMES } from '../../../src/devices/kinds/index.js';
import { parseScenario, resolveTargets, SCENARIOS } from '../../../devices/scenarios.js';
import { expandSite, loadSite } from '../../../devices/site.js';

describe("the demo's timeline (devices/sites/demo-timeline.yaml)", async () => {
  const demo = expandSite(await loadSite('devices/sites/demo.yaml'));
  const steps = (parseYaml(await readFile('devices/sites/demo-timeline.yaml', 'utf8')) as string[]).map(parseScenario);

  it('acts on devices of the demo site at every step, within its first five minutes', () => {
    for (const step of steps) {
      expect(resolveTargets(step, demo).length, step.text).toBeGreaterThan(0);
      expect(step.atMs, step.text).toBeLessThanOrEqual(5 * 60_000);
    }
  });

  it('shows a failure of every kind', () => {
    const kinds = new Set(steps.flatMap((s) => resolveTargets(s, demo).map((d) => d.kind)));
    expect(KIND_NAMES.filter((k) => !kinds.has(k))).toStrictEqual([]);
    expect(steps.every((s) => Object.hasOwn(SCENARIOS, s.scenario))).toBe(true);
  });
});
