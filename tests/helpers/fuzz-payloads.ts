import fc from 'fast-check';
import type { z } from 'zod';
import { KIND_NAMES, KINDS, type KindName } from '../../src/devices/kinds/index.js';
import { brokenPayload, fieldValue, hostileValue, objectText, strangeKey, type Text } from './fuzz-json.js';

/** One message of the fuzz run: who sends it, on which topic suffix, at which QoS. */
export interface PayloadSample {
  kind: KindName;
  suffix: 'telemetry' | 'event';
  text: Text;
  qos: 0 | 1;
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const YEAR = 365 * DAY;

/** The zod shape of an object schema (telemetry schemas are refined strict objects, which keep it). */
export function shapeOf(schema: z.ZodType): Record<string, z.ZodType> {
  return (schema as unknown as { shape: Record<string, z.ZodType> }).shape;
}

type IsoStyle = 'Z' | 'ms' | '+08:00' | '-05:30' | '+0530' | '+02' | 'local' | 'space' | 'comma' | 'nanos' | 'date';
const ISO_STYLES: IsoStyle[] = ['Z', 'ms', '+08:00', '-05:30', '+0530', '+02', 'local', 'space', 'comma', 'nanos', 'date'];
const OFFSET_MINUTES: Partial<Record<IsoStyle, number>> = { '+08:00': 480, '-05:30': -330, '+0530': 330, '+02': 120 };

/** `ms` written the way devices write ISO-8601 (contract §2), in one of their styles. */
function isoAt(ms: number, style: IsoStyle): string {
  const offset = OFFSET_MINUTES[style];
  if (offset !== undefined) {
    const suffix = style === '+0530' ? '+0530' : style;
    return new Date(ms + offset * MINUTE).toISOString().slice(0, 19) + suffix;
  }
  const utc = new Date(ms).toISOString();
  if (style === 'ms') return utc;
  if (style === 'Z') return `${utc.slice(0, 19)}Z`;
  if (style === 'comma') return `${utc.slice(0, 19)},${utc.slice(20, 23)}Z`;
  if (style === 'nanos') return `${utc.slice(0, 23)}456789Z`;
  if (style === 'date') return utc.slice(0, 10);
  const d = new Date(ms); // local wall-clock time, read by the gateway in the same TZ
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const date = `${p(d.getFullYear(), 4)}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  return `${date}${style === 'space' ? ' ' : 'T'}${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

const at = (offsetMs: number, fraction = '') => (now: number) => `${now + offsetMs}${fraction}`;
const isoText = (offsetMs: number, style: IsoStyle) => (now: number) => JSON.stringify(isoAt(now + offsetMs, style));

/** `ts` values: mostly ones the contract accepts (past, or under 5 minutes ahead), then far away or wrong. */
export const tsValue: fc.Arbitrary<Text> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -30 * YEAR, max: -MINUTE }).map((d): Text => [at(d)]) },
  { weight: 1, arbitrary: fc.integer({ min: -DAY, max: 2 * MINUTE }).map((d): Text => [at(d, '.5')]) },
  { weight: 4, arbitrary: fc.tuple(fc.integer({ min: -20 * YEAR, max: 2 * MINUTE }), fc.constantFrom(...ISO_STYLES)).map(([d, s]): Text => [isoText(d, s)]) },
  { weight: 1, arbitrary: fc.integer({ min: 10 * MINUTE, max: YEAR }).map((d): Text => [at(d)]) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 10 * MINUTE, max: YEAR }), fc.constantFrom(...ISO_STYLES)).map(([d, s]): Text => [isoText(d, s)]) },
  {
    weight: 3,
    arbitrary: fc.constantFrom<Text>(
      ['-1'], ['0'], ['-0'], ['0.4'], ['1e-400'], ['1e20'], ['1e21'], ['1e400'], ['-1e400'], ['8640000000000001'],
      ['"9999-12-31T23:59:59Z"'], ['"1000-01-01T00:00:00Z"'], ['"1000-01-01"'], ['"1600-06-15T12:00:00+01:00"'],
      ['"2024-02-30T00:00:00Z"'], ['"2024-13-01"'], ['"24-01-01"'], ['"2024-01-01T25:00:00Z"'], ['"1700000000000"'],
      ['"NaN"'], ['null'], ['""'], ['[1]'], ['{}'], ['true'],
    ),
  },
);

const entry = (name: string, value: fc.Arbitrary<Text>) => value.map((v): [string, Text] => [name, v]);

/** Extra entries: unknown keys, and a repeated key whose last value JSON.parse keeps. */
function extras(names: string[]): fc.Arbitrary<Array<[string, Text]>> {
  const unknown = fc.tuple(strangeKey, fc.oneof(hostileValue, fc.constant<Text>(['1'])));
  const repeated = fc.tuple(fc.constantFrom(...names), hostileValue);
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant<Array<[string, Text]>>([]) },
    { weight: 1, arbitrary: unknown.map((e) => [e]) },
    { weight: 1, arbitrary: repeated.map((e) => [e]) },
  );
}

/** Puts `ts` (when there is one) and the extra entries at random places among the fields. */
function assemble(fields: Array<[string, Text]>, ts: Text | null, extra: Array<[string, Text]>, pos: number): Text {
  const all = [...fields, ...extra];
  if (ts) all.splice(pos % (all.length + 1), 0, ['ts', ts]);
  return objectText(all);
}

/** Telemetry of `kind` derived from its schema: any subset of its fields, in any order, values valid or hostile. */
export function telemetryText(kind: KindName): fc.Arbitrary<Text> {
  const shape = shapeOf(KINDS[kind].telemetry);
  const names = [...KINDS[kind].fields];
  const reading = fc
    .tuple(
      fc.shuffledSubarray(names).chain((picked) => fc.tuple(...picked.map((n) => entry(n, fieldValue(shape[n]))))),
      fc.option(tsValue, { freq: 2 }),
      extras(names),
      fc.nat(),
    )
    .map(([fields, ts, extra, pos]) => assemble(fields, ts, extra, pos));
  return fc.oneof({ weight: 12, arbitrary: reading }, { weight: 1, arbitrary: brokenPayload });
}

/** Events of `kind` derived from its event schemas: a type (its own, another kind's, or hostile) and details. */
export function eventText(kind: KindName): fc.Arbitrary<Text> {
  const own = Object.keys(KINDS[kind].events);
  const foreign = KIND_NAMES.flatMap((k) => Object.keys(KINDS[k].events)).filter((t) => !own.includes(t));
  const typeText = fc.oneof(
    { weight: 12, arbitrary: fc.constant<Text | null>(null) }, // the schema's own literal
    { weight: 1, arbitrary: fc.constantFrom(...foreign).map((t): Text | null => [JSON.stringify(t)]) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<Text | null>(['"__proto__"'], ['"constructor"'], ['"toString"'], ['""'], ['1'], ['null'], ['"FIRE_ALARM"'], ['1e400']),
    },
  );
  const event = fc.constantFrom(...own).chain((type) => {
    const shape = shapeOf(KINDS[kind].events[type]);
    const details = Object.keys(shape).filter((k) => k !== 'type' && k !== 'ts');
    return fc
      .tuple(
        typeText,
        fc.shuffledSubarray(details).chain((picked) => fc.tuple(...picked.map((n) => entry(n, fieldValue(shape[n]))))),
        fc.option(tsValue, { freq: 2 }),
        extras(['type', ...details]),
        fc.nat(),
        fc.boolean(),
      )
      .map(([typeOverride, fields, ts, extra, pos, omitType]) => {
        const withType: Array<[string, Text]> = omitType && pos % 8 === 0 ? fields : [['type', typeOverride ?? [JSON.stringify(type)]], ...fields];
        return assemble(withType, ts, extra, pos);
      });
  });
  return fc.oneof({ weight: 12, arbitrary: event }, { weight: 1, arbitrary: brokenPayload });
}

/** The fuzz run's messages: every kind, telemetry twice as often as events, QoS 0 and 1 mixed. */
export const payloadSample: fc.Arbitrary<PayloadSample> = fc
  .tuple(fc.constantFrom(...KIND_NAMES), fc.constantFrom<'telemetry' | 'event'>('telemetry', 'telemetry', 'event'), fc.constantFrom<0 | 1>(0, 1))
  .chain(([kind, suffix, qos]) =>
    (suffix === 'telemetry' ? telemetryText(kind) : eventText(kind)).map((text): PayloadSample => ({ kind, suffix, text, qos })),
  );

