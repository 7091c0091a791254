import { describe, expect, it } from 'vitest';
import { sortableId } from '../../../src/shared/ids.js';

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
