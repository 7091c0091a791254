import { describe, expect, it } from 'vitest';
import { ALARM_OPERATIONS, canOperate, isOpen, moreSevere, SEVERITIES } from '../../../src/alarms/model.js';

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
