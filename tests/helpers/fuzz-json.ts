import fc from 'fast-check';
import { z } from 'zod';

/**
 * JSON written as raw pieces, so the fuzz can send what JSON.stringify cannot write: `1e400`, `-0`, 30-digit
 * integers, bytes that are not UTF-8. A function piece is a timestamp rendered at send time (`now`), so a
 * "4 minutes ahead" `ts` is still 4 minutes ahead when the message leaves, however long the run.
 */
export type Piece = string | Buffer | ((now: number) => string);
export type Text = Piece[];

/** The bytes of a message, its timestamps rendered against `now`. */
export function render(text: Text, now: number): Buffer {
  return Buffer.concat(text.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(typeof p === 'function' ? p(now) : p, 'utf8'))));
}

/** `{"k":v,...}` from entries whose values are already text. */
export function objectText(entries: Array<[string, Text]>): Text {
  const out: Text = ['{'];
  entries.forEach(([key, value], i) => out.push(`${i > 0 ? ',' : ''}${JSON.stringify(key)}:`, ...value));
  out.push('}');
  return out;
}

const DEPTH = 10_000;
/** 1 MiB of text in a string: far beyond ingest's 64 KB bound, built once and shared by every sample. */
const MEGABYTE_STRING = `"${'x'.repeat(1024 * 1024)}"`;
const DEEP_ARRAY = `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`;
const DEEP_OBJECT = `${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}`;
const DEEP_NON_FINITE = `${'{"a":'.repeat(DEPTH)}1e400${'}'.repeat(DEPTH)}`;

/** Numbers as JSON text that parse to something a double can only approximate, or cannot hold at all. */
export const HOSTILE_NUMBERS = [
  '1e400',
  '-1e400',
  '1E400',
  '-1e999',
  '1e308',
  '-1e308',
  '1.7976931348623157e308',
  '5e-324',
  '1e-400',
  '-1e-400',
  '-0',
  '-0.0',
  '1e21',
  '-1e21',
  '123456789012345678901234567890',
  '9007199254740993',
  '-9007199254740993',
  '0.1e1',
  '1E+2',
];

/** Values of the wrong type, or deep, huge, or not even JSON. */
const HOSTILE_OTHERS: Text[] = [
  ['"NaN"'],
  ['"Infinity"'],
  ['"-Infinity"'],
  ['"1"'],
  ['""'],
  ['null'],
  ['true'],
  ['false'],
  ['0'],
  ['[]'],
  ['{}'],
  ['[1e400]'],
  ['{"v":1e400}'],
  ['{"__proto__":{"polluted":true}}'],
  [DEEP_ARRAY],
  [DEEP_OBJECT],
  [DEEP_NON_FINITE],
  [MEGABYTE_STRING],
  ['"', Buffer.from([0xff, 0xfe, 0xc3, 0x28]), '"'], // not UTF-8
  ['"', Buffer.from([0xc0, 0xaf]), '"'], // an overlong encoding of "/"
  ['"', Buffer.from([0xed, 0xa0, 0x80]), '"'], // a UTF-16 surrogate encoded as UTF-8
  ['NaN'], // not JSON from here on
  ['Infinity'],
  ['-Infinity'],
  ['undefined'],
  ['01'],
  ['.5'],
  ['+1'],
  ['1.'],
  ['0x10'],
  ['1e'],
  ["'single'"],
];

/** A value that is wrong, or at least suspicious, wherever it is put. */
export const hostileValue: fc.Arbitrary<Text> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_NUMBERS).map((t): Text => [t]) },
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_OTHERS) },
);

/** Strings an InfluxDB line or a log line could choke on. */
const NASTY_STRINGS = ['"', '\\', 'a\\', '\n', '\r\n', '\t', '\u0000', 'a,b=c d', '\u{1F525}', '\ud800', '\udfff', '\u2028', '\uFEFF'];

function stringValue(min: number, max: number): fc.Arbitrary<Text> {
  const text = fc.oneof(
    { weight: 4, arbitrary: fc.string({ minLength: min, maxLength: Math.min(max, 40) }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: min, maxLength: Math.min(max, 20) }) },
    { weight: 2, arbitrary: fc.array(fc.constantFrom(...NASTY_STRINGS), { minLength: 1, maxLength: 4 }).map((a) => a.join('')) },
    { weight: 1, arbitrary: fc.constantFrom('x'.repeat(max), 'x'.repeat(max + 1), '') },
  );
  return text.map((s): Text => [JSON.stringify(s)]);
}

function numberValue(min: number, max: number, int: boolean): fc.Arbitrary<Text> {
  const lo = Math.max(min, -Number.MAX_VALUE);
  const hi = Math.min(max, Number.MAX_VALUE);
  const inRange = int
    ? fc.integer({ min: Math.max(lo, -(2 ** 31)), max: Math.min(hi, 2 ** 31) })
    : fc.double({ min: lo, max: hi, noNaN: true, noDefaultInfinity: true });
  const edges = [lo, hi, 0].filter(Number.isFinite).map((n) => String(n));
  return fc.oneof(
    { weight: 6, arbitrary: inRange.map((n): Text => [Object.is(n, -0) ? '-0' : JSON.stringify(n)]) },
    { weight: 2, arbitrary: fc.constantFrom(...edges).map((t): Text => [t]) },
    { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_NUMBERS).map((t): Text => [t]) },
  );
}

/**
 * Values for one zod type of a kind's schema, mostly ones it accepts: booleans, numbers within its bounds
 * and at them, strings of its lengths, its enum's options. The oracle, not this, decides what is valid.
 */
export function valueFor(type: z.ZodType): fc.Arbitrary<Text> {
  if (type instanceof z.ZodOptional) return valueFor(type.unwrap() as z.ZodType);
  if (type instanceof z.ZodPipe) return valueFor(type.in as z.ZodType);
  if (type instanceof z.ZodBoolean) return fc.constantFrom(['true'], ['false']);
  if (type instanceof z.ZodNumber) {
    return numberValue(type.minValue ?? Number.NEGATIVE_INFINITY, type.maxValue ?? Number.POSITIVE_INFINITY, type.isInt);
  }
  if (type instanceof z.ZodString) return stringValue(type.minLength ?? 0, type.maxLength ?? 64);
  if (type instanceof z.ZodEnum) {
    const options = type.options.map(String);
    return fc.constantFrom(...options, options[0].toUpperCase(), ` ${options[0]}`).map((s): Text => [JSON.stringify(s)]);
  }
  if (type instanceof z.ZodLiteral) return fc.constantFrom(...[...type.values].map((v): Text => [JSON.stringify(v)]));
  if (type instanceof z.ZodUnion) return fc.oneof(...(type.options as z.ZodType[]).map(valueFor));
  return hostileValue;
}

/** A field's value: usually what its type allows, sometimes hostile. */
export function fieldValue(type: z.ZodType): fc.Arbitrary<Text> {
  return fc.oneof({ weight: 5, arbitrary: valueFor(type) }, { weight: 1, arbitrary: hostileValue });
}

/** Keys no schema has, some of them dangerous to naive object handling. */
export const strangeKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'count', 'time', '', ' ', 'a.b', 'ts '),
  fc.string({ minLength: 1, maxLength: 12 }),
);

/** Payloads that are broken as a whole, whatever the kind. */
export const brokenPayload: fc.Arbitrary<Text> = fc.constantFrom<Text>(
  [''],
  ['{'],
  ['{"on":true'],
  ['{"on":true}}'],
  ['{"on":true} {"on":false}'],
  ['\uFEFF{"on":true}'],
  ['5'],
  ['1e400'],
  ['-1e400'],
  ['"text"'],
  ['null'],
  ['[]'],
  ['[{"on":true}]'],
  [DEEP_ARRAY],
  [DEEP_OBJECT],
  [`{"a":${DEEP_ARRAY}}`],
  [MEGABYTE_STRING],
  [Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
  [Buffer.from('{"type":"\u0000"}')],
  ['{"__proto__":{"ts":1e400}}'],
  ['{"constructor":{"prototype":{"x":1}}}'],
);
