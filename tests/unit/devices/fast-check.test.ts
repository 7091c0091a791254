import { describe, expect, it } from 'vitest';
import { KIND_NAMES, KINDS } from '../../../src/devices/kinds/index.js';

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

// The lift's enum values (contract §9) and near misses, so the enum check meets both.
const ODD_VALUES: unknown[] = [0, -1, -0.5, 1, 100, 100.5, 101, 2.5, 3, 1e9, -1e9, true, false, 'x', '', null, [], {}, '50', 'up', 'idle', 'fire', 'out_of_service', 'Up', 'normal '];

describe('the quick telemetry check', () => {
  it.each(KIND_NAMES)('accepts a %s payload only when the schema accepts it as it is', (kind) => {
    const next = random(KIND_NAMES.indexOf(kind) + 1);
    const fields = [...KINDS[kind].fields, 'ts', 'extra'];
    let quickAccepted = 0;
    for (let i = 0; i < 5000; i++) {
      const body: Record<string, unknown> = {};
      const n = Math.floor(next() * 4);
      for (let k = 0; k < n; k++) {
        const field = fields[Math.floor(next() * fields.length)];
        body[field] = next() < 0.5 ? ODD_VALUES[Math.floor(next() * ODD_VALUES.length)] : Math.round(next() * 2000 - 500) / 10;
      }
      if (KINDS[kind].quickCheck(body)) {
        quickAccepted++;
        const zod = KINDS[kind].telemetry.safeParse(body);
        expect(zod.success, JSON.stringify(body)).toBe(true);
        expect(zod.data).toStrictEqual(body);
      }
    }
    expect(quickAccepted).toBeGreaterThan(100);
  });

  it('leaves an ISO timestamp and every refusal to the schema', () => {
    expect(KINDS.fire.quickCheck({ temperatureC: 20, ts: '2026-11-26T10:00:00Z' })).toBe(false);
    expect(KINDS.fire.quickCheck({ temperatureC: 20, ts: 1_700_000_000_000 })).toBe(true);
    expect(KINDS.fire.quickCheck({ batteryPct: 100 })).toBe(true);
    expect(KINDS.fire.quickCheck({ batteryPct: 100.01 })).toBe(false);
    expect(KINDS.parking.quickCheck({ freeSpaces: 2.5 })).toBe(false);
    expect(KINDS.parking.quickCheck({ __proto__: 1 })).toBe(false);
    expect(KINDS.parking.quickCheck(JSON.parse('{"__proto__": 1, "occupied": true}'))).toBe(false);
    expect(KINDS.camera.quickCheck({})).toBe(false);
  });

  it("takes an enum field's values and nothing else", () => {
    expect(KINDS.lift.quickCheck({ direction: 'up', mode: 'out_of_service', floor: -2 })).toBe(true);
    expect(KINDS.lift.quickCheck({ direction: 'UP' })).toBe(false);
    expect(KINDS.lift.quickCheck({ direction: 1 })).toBe(false);
    expect(KINDS.lift.quickCheck({ mode: 'toString' })).toBe(false);
  });
});
