import { describe, expect, it } from 'vitest';
import { ALARM_OPERATIONS, canOperate, compact, isOpen, moreSevere, sortableId, SEVERITIES } from '../../../src/alarms/model.js';

describe('alarm transitions (ThingsBoard: ack and clear are separate facts)', () => {
  it('acknowledges only an active alarm and clears only an open one', () => {
    expect(ALARM_OPERATIONS).toStrictEqual({ ack: ['active'], clear: ['active', 'acknowledged'] });
  });

  it.each([
    ['ack', 'active', true],
    ['ack', 'acknowledged', false],
    ['ack', 'cleared', false],
    ['clear', 'active', true],
    ['clear', 'acknowledged', true],
    ['clear', 'cleared', false],
  ] as const)('%s of a %s alarm is allowed: %s', (op, state, allowed) => {
    expect(canOperate(op, state)).toBe(allowed);
  });

  it('counts active and acknowledged alarms as open, cleared ones not', () => {
    expect([isOpen('active'), isOpen('acknowledged'), isOpen('cleared')]).toStrictEqual([true, true, false]);
  });
});

describe('severity order', () => {
  it('runs from critical down to warning', () => {
    expect(SEVERITIES).toStrictEqual(['critical', 'major', 'minor', 'warning']);
    expect(moreSevere('critical', 'major')).toBe(true);
    expect(moreSevere('minor', 'warning')).toBe(true);
  });

  it('is not more severe than itself or a more severe one', () => {
    expect(moreSevere('major', 'major')).toBe(false);
    expect(moreSevere('warning', 'critical')).toBe(false);
  });
});

describe('sortableId', () => {
  it('starts with the prefix and sorts by creation time, also within one millisecond', () => {
    const ids = [sortableId('alm', 1_000), sortableId('alm', 1_000), sortableId('alm', 1_001), sortableId('alm', 2_000_000_000_000)];
    expect(ids.every((id) => /^alm-[0-9a-z]{11}[0-9a-f]{8}$/.test(id))).toBe(true);
    expect([...ids].sort()).toStrictEqual(ids);
  });

  it('never repeats', () => {
    const ids = new Set(Array.from({ length: 5000 }, () => sortableId('wo')));
    expect(ids.size).toBe(5000);
  });
});

describe('compact', () => {
  it('drops undefined properties and keeps falsy values', () => {
    expect(compact({ a: 1, b: undefined, c: 0, d: '', e: false, f: null })).toStrictEqual({ a: 1, c: 0, d: '', e: false, f: null });
  });
});
