import { describe, expect, it } from 'vitest';
import { compilePath, MAX_PATH_LENGTH, type CompiledPath } from '../../../src/profiles/path.js';

function path(text: string): CompiledPath {
  const r = compilePath(text);
  if (!r.ok) throw new Error(r.error);
  return r.path;
}

function refusal(text: unknown): string {
  const r = compilePath(text);
  if (r.ok) throw new Error(`${String(text)} compiled`);
  return r.error;
}

describe('JSONPath subset: compiling', () => {
  it('compiles $, dotted names, indexes and quoted keys into steps', () => {
    expect(path('$').steps).toStrictEqual([]);
    expect(path('$.data.curFloor').steps).toStrictEqual(['data', 'curFloor']);
    expect(path('$.a[0].b').steps).toStrictEqual(['a', 0, 'b']);
    expect(path("$['key with spaces'][12]").steps).toStrictEqual(['key with spaces', 12]);
    expect(path('$["it\'s"].x-y_z').steps).toStrictEqual(["it's", 'x-y_z']);
    expect(path("$['a\\'b\\\\c']").steps).toStrictEqual(["a'b\\c"]);
    expect(path('$.a').text).toBe('$.a');
  });

  it('refuses anything outside the subset, saying where', () => {
    expect(refusal('data.x')).toBe('"data.x": a path starts with $');
    expect(refusal('$..a')).toMatch(/expected a name .* at character 2$/);
    expect(refusal('$.*')).toMatch(/expected a name/);
    expect(refusal('$[*]')).toMatch(/expected an index such as \[0\]/);
    expect(refusal('$.a[?(@.x>1)]')).toMatch(/expected an index/);
    expect(refusal('$.a[-1]')).toMatch(/expected an index/);
    expect(refusal('$.a[01]')).toMatch(/no leading zeros/);
    expect(refusal('$.a[0:2]')).toMatch(/expected an index/);
    expect(refusal("$['open")).toMatch(/unterminated quoted key/);
    expect(refusal("$['a'")).toMatch(/expected \] after the quoted key/);
    expect(refusal("$['a\\n']")).toMatch(/only .* are escapes/);
    expect(refusal('$a')).toMatch(/expected \. or \[ at character 2/);
    expect(refusal('$.')).toMatch(/expected a name/);
    expect(refusal(42)).toBe('expected a path such as $.data.value');
    expect(refusal(undefined)).toBe('expected a path such as $.data.value');
  });

  it('refuses paths longer than 256 characters or deeper than 32 steps', () => {
    expect(refusal(`$.${'a'.repeat(MAX_PATH_LENGTH)}`)).toBe('path longer than 256 characters');
    expect(path(`$${'.a'.repeat(32)}`).steps).toHaveLength(32);
    expect(refusal(`$${'.a'.repeat(33)}`)).toMatch(/deeper than 32 steps$/);
    expect(refusal(`$${'[0]'.repeat(40)}`)).toMatch(/deeper than 32 steps$/);
  });

  it('refuses huge indexes instead of losing precision', () => {
    expect(path('$[999999999]').steps).toStrictEqual([999_999_999]);
    expect(refusal('$[1000000000]')).toMatch(/an index is at most 999999999/);
    expect(refusal(`$[${'9'.repeat(200)}]`)).toMatch(/an index is at most/);
  });

  it('refuses __proto__, even quoted', () => {
    expect(refusal('$.__proto__')).toMatch(/the key __proto__ cannot be read/);
    expect(refusal("$.a['__proto__'].b")).toMatch(/the key __proto__ cannot be read/);
  });
});

describe('JSONPath subset: reading', () => {
  const lift = { time: 1_700_000_000, data: { curFloor: 7, list: [{ b: 'x' }, null] }, 'key with spaces': true };

  it('reads what the path names and undefined where it leads nowhere', () => {
    expect(path('$').get(lift)).toBe(lift);
    expect(path('$.data.curFloor').get(lift)).toBe(7);
    expect(path('$.data.list[0].b').get(lift)).toBe('x');
    expect(path('$.data.list[1]').get(lift)).toBeNull();
    expect(path("$['key with spaces']").get(lift)).toBe(true);
    expect(path('$.data.missing').get(lift)).toBeUndefined();
    expect(path('$.data.list[2]').get(lift)).toBeUndefined();
    expect(path('$.data.list[1].b').get(lift)).toBeUndefined();
  });

  it('reads own properties only: no prototype, constructor or array method is reachable', () => {
    for (const text of ['$.constructor', '$.constructor.prototype', '$.toString', '$.hasOwnProperty', '$.a.constructor.name', '$.valueOf']) {
      expect(path(text).get({ a: {} }), text).toBeUndefined();
    }
    expect(path('$.length').get([1, 2])).toBeUndefined();
    expect(path('$.map').get([1, 2])).toBeUndefined();
    expect(path('$.length').get('text')).toBeUndefined();
    expect(path('$[0]').get('text')).toBeUndefined();
    expect(path('$.constructor').get(Object.create({ constructor: 'inherited' }))).toBeUndefined();
    // A vendor key named like a prototype member, sent in the payload, is the vendor's data.
    expect(path('$.constructor.prototype').get(JSON.parse('{"constructor":{"prototype":5}}'))).toBe(5);
  });

  it('reads an index from arrays only, and a key from objects only', () => {
    expect(path('$[0]').get({ 0: 'object key' })).toBeUndefined();
    expect(path("$['0']").get(['array item'])).toBeUndefined();
    expect(path("$['0']").get({ 0: 'object key' })).toBe('object key');
  });

  it('answers undefined for any payload that is not what the path expects', () => {
    for (const payload of [null, undefined, 0, 1.5, 'text', true, [], {}, Number.NaN]) {
      expect(path('$.a[0].b').get(payload)).toBeUndefined();
    }
    expect(path('$').get(21.5)).toBe(21.5);
    expect(path('$[999999999]').get([1])).toBeUndefined();
  });

  it('reads a deeply nested payload without recursion', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    expect(path(`$${'.a'.repeat(32)}`).get(deep)).toStrictEqual(expect.objectContaining({ a: expect.anything() }));
  });

  it('compiles once: the compiled path and its steps are frozen', () => {
    const p = path('$.a.b');
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.steps)).toBe(true);
  });
});
