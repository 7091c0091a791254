import { describe, expect, it } from 'vitest';
import { awaitsAck, isOpen, moreSevere, SEVERITIES, type AlarmState, type Severity } from '../../../src/alarms/model.js';

describe('open alarms (contract §11: a critical alarm waits for its acknowledgement)', () => {
  const alarm = (state: AlarmState, acknowledged: boolean, severity: Severity = 'major', lifeSafety?: true) => ({ state, acknowledged, severity, lifeSafety });

  it('counts active and acknowledged alarms as open, a cleared ordinary one not', () => {
    expect([isOpen(alarm('active', false)), isOpen(alarm('acknowledged', true)), isOpen(alarm('cleared', false))]).toStrictEqual([true, true, false]);
  });

  it('keeps a critical or life-safety alarm cleared before anyone acknowledged it open, and closes it once acknowledged', () => {
    expect(awaitsAck(alarm('cleared', false, 'critical'))).toBe(true);
    expect(awaitsAck(alarm('cleared', false, 'major', true))).toBe(true);
    expect(isOpen(alarm('cleared', false, 'critical'))).toBe(true);
    expect(isOpen(alarm('cleared', true, 'critical'))).toBe(false);
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
