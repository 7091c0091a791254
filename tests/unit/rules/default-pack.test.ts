import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log.js';
import { readRules, RuleLoader } from '../../../src/rules/loader.js';
import type { Rule } from '../../../src/rules/schema.js';

describe('the default rule pack (rules/)', () => {
  it('validates, every rule with an id of its own', async () => {
    const { rules } = await readRules('rules');
    expect(rules.length).toBeGreaterThanOrEqual(29);
    expect(new Set(rules.map((r) => r.rule.id)).size).toBe(rules.length);
  });

  it('covers what a site needs on day one', async () => {
    const { rules } = await readRules('rules');
    const types = rules.map((r) => r.rule.alarm?.type).filter(Boolean);
    for (const t of ['fire_alarm', 'fire_confirmed', 'smoke_high', 'heat_high', 'heat_rise', 'fire_device_fault', 'door_forced', 'door_held_open',
      'access_denied_repeated', 'lamp_failure', 'lamp_no_power', 'circuit_trip', 'barrier_fault', 'fire_lane_occupied', 'lot_full',
      'meter_overload', 'phase_loss', 'meter_register_back', 'night_load_high', 'video_loss', 'camera_tamper', 'camera_offline',
      'intrusion', 'device_silent', 'battery_low']) {
      expect(types).toContain(t);
    }
    const schedules = rules.filter((r) => r.rule.when.form === 'schedule').map((r) => r.rule.workOrder?.title?.toString());
    expect(schedules).toHaveLength(2);
  });

  it("unlocks the zone's doors and switches on its lights on a fire alarm", async () => {
    const fire = (await readRules('rules')).rules.find((r) => r.rule.id === 'fire-alarm')!.rule;
    expect(fire.commands?.map((c) => [c.match.kind, c.action])).toStrictEqual([
      [['access'], 'unlock'],
      [['lighting'], 'on'],
    ]);
  });
});

describe('loading rules at start', () => {
  it('keeps the valid files in force when another file is broken, and says which', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rules-start-'));
    await cp('rules/fire.yaml', join(dir, 'fire.yaml'));
    await writeFile(join(dir, 'typo.yaml'), '- id: x\n  when: { event: door_forced }\n  alarm: { type: x, severity: serious }\n');
    let set: readonly Rule[] = [];
    const loader = new RuleLoader({ dir, engine: { setRules: (r) => (set = r) }, log: createLogger('silent') });
    const result = await loader.start();
    loader.stop();
    expect(result).toMatchObject({ ok: false, errors: [expect.stringMatching(/typo\.yaml: rule "x": alarm\.severity: must be one of critical, major, minor, warning/)] });
    expect(set.map((r) => r.id)).toContain('fire-alarm');
    expect(set.map((r) => r.id)).not.toContain('x');
  });
});
