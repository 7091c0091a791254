import { describe, expect, it } from 'vitest';
import { compact } from '../../../src/shared/compact.js';

describe('compact', () => {
  it('drops undefined properties and keeps falsy values', () => {
    expect(compact({ a: 1, b: undefined, c: 0, d: '', e: false, f: null })).toStrictEqual({ a: 1, c: 0, d: '', e: false, f: null });
  });
});
