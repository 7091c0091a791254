import { describe, expect, it } from 'vitest';
import { logFormatFor } from '../../src/log.js';

describe('LOG_FORMAT', () => {
  it('is readable lines at a terminal and JSON lines otherwise when not set', () => {
    expect(logFormatFor(undefined, true)).toBe('pretty');
    expect(logFormatFor(undefined, false)).toBe('json');
  });

  it('is what LOG_FORMAT says when set', () => {
    expect(logFormatFor('json', true)).toBe('json');
    expect(logFormatFor('pretty', false)).toBe('pretty');
  });
});
