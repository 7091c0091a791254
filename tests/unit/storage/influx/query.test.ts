import { describe, expect, it } from 'vitest';
import { quoteIdent, quoteString } from '../../../../src/storage/influx/query.js';

describe('quoteIdent', () => {
  it('double-quotes a name and escapes quotes and backslashes in it', () => {
    expect(quoteIdent('temperatureC')).toBe('"temperatureC"');
    expect(quoteIdent('a"b\\c')).toBe('"a\\"b\\\\c"');
  });
});

describe('quoteString', () => {
  it('single-quotes a value and escapes quotes and backslashes, so it cannot end the literal early', () => {
    expect(quoteString('fire-01')).toBe("'fire-01'");
    expect(quoteString("x' OR 1=1 --\\")).toBe("'x\\' OR 1=1 --\\\\'");
  });
});
