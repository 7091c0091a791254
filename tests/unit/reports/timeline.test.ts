import { describe, expect, it } from 'vitest';
import { modeSteps } from '../../../src/reports/lift-figures.js';
import { allOnMs } from '../../../src/reports/timeline.js';

const MIN = 60_000;

describe('time on in every timeline', () => {
  it('counts a single timeline from its state at the start, changes carried forward', () => {
    const online = [
      { at: -5 * MIN, on: true },
      { at: 10 * MIN, on: false },
      { at: 40 * MIN, on: true },
    ];
    expect(allOnMs(0, 60 * MIN, [online])).toBe(30 * MIN);
  });

  it('is off before a timeline says anything', () => {
    expect(allOnMs(0, 60 * MIN, [[{ at: 20 * MIN, on: true }]])).toBe(40 * MIN);
    expect(allOnMs(0, 60 * MIN, [[]])).toBe(0);
  });

  it('takes the last of several changes at one instant', () => {
    expect(allOnMs(0, 10 * MIN, [[{ at: 0, on: false }, { at: 0, on: true }]])).toBe(10 * MIN);
  });

  it('counts a lift available only while online and in mode normal', () => {
    const online = [
      { at: 0, on: true },
      { at: 50 * MIN, on: false }, // offline 50..60
    ];
    // normal from before the period; fire 10..20, inspection 30..35, normal again after.
    const mode = modeSteps({ device: 'lift-1', time: 0, mode: 'normal' }, [
      { device: 'lift-1', time: 30 * MIN, mode: 'inspection' },
      { device: 'lift-1', time: 10 * MIN, mode: 'fire' },
      { device: 'lift-1', time: 20 * MIN, mode: 'normal' },
      { device: 'lift-1', time: 35 * MIN, mode: 'normal' },
    ]);
    expect(allOnMs(0, 60 * MIN, [online, mode])).toBe(35 * MIN);
  });

  it('counts a lift whose mode is unknown until its first reading as not available until then', () => {
    const mode = modeSteps(undefined, [{ device: 'lift-1', time: 15 * MIN, mode: 'normal' }]);
    expect(allOnMs(0, 60 * MIN, [[{ at: 0, on: true }], mode])).toBe(45 * MIN);
  });

  it('is 0 over an empty span', () => {
    expect(allOnMs(10, 10, [[{ at: 0, on: true }]])).toBe(0);
  });
});
