import { z } from 'zod';

/**
 * ISO-8601 as devices write it: a date, or a date and time to the minute, second or fraction, with `Z`,
 * `±hh:mm`, `±hhmm` or no offset (then it is the gateway's local time, TZ).
 */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$/;

/** `ts` as the contract allows it (§2): epoch milliseconds or an ISO-8601 string. */
export const TsSchema = z.union([
  z.number().finite().nonnegative(),
  z
    .string()
    .regex(ISO_8601, 'expected epoch milliseconds or an ISO-8601 time')
    .refine((text) => Number.isFinite(parseIsoTs(text)) && isRealDate(text), 'not a real date and time')
    // Epoch milliseconds cannot be negative either; and InfluxDB cannot store a time before 1677 at all.
    .refine((text) => !(parseIsoTs(text) < 0), 'before 1970-01-01T00:00:00Z'),
]);

/** Epoch ms of an ISO-8601 `ts` accepted by TsSchema (NaN otherwise). */
export function parseIsoTs(text: string): number {
  // Date.parse wants `T`, `.` and `±hh:mm`; devices also send a space, a comma or `±hhmm`.
  const normal = text
    .replace(' ', 'T')
    .replace(',', '.')
    .replace(/([+-]\d{2})(\d{2})$/, '$1:$2')
    .replace(/(T[\d:.]+[+-]\d{2})$/, '$1:00');
  return Date.parse(normal);
}
export type Ts = z.infer<typeof TsSchema>;

export const PctSchema = z.number().min(0).max(100);
export const NonNegativeSchema = z.number().nonnegative();
export const CountSchema = z.number().int().nonnegative();
export const FiniteSchema = z.number().finite();
export const PowerFactorSchema = z.number().min(-1).max(1);
/**
 * A device's free text (a fault code, a plate, a region). Control characters are refused: none belongs in such a
 * text, a newline cannot be stored as written in InfluxDB line protocol, and a NUL breaks InfluxDB's error header.
 */
export const TextSchema = z
  .string()
  .min(1)
  .max(256)
  // eslint-disable-next-line no-control-regex -- the control characters are exactly what is refused
  .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters');

/**
 * A device's name for a thing (a fault code, a pump, a circuit, a guard): text or a whole number, stored as text so
 * the InfluxDB field keeps one type whatever a device sends (`12` becomes `"12"`).
 */
export const LabelSchema = z
  .union([TextSchema, z.number().int()], { error: 'must be text (1 to 256 characters, no control characters) or a whole number' })
  .transform(String);

/** A telemetry value as ingest passes it on: a number, a boolean, or an enumerated text (contract §9: stored as a string field). */
export type TelemetryValue = number | boolean | string;
/** One accepted reading's measurements, without `ts`. */
export type TelemetryFields = Record<string, TelemetryValue>;

type Shape = Record<string, z.ZodType>;

/** A telemetry schema: every field optional, at least one present, unknown fields refused (contract §2). */
export function telemetrySchema<S extends Shape>(shape: S) {
  const fields = Object.keys(shape);
  const optional = Object.fromEntries(fields.map((k) => [k, shape[k].optional()])) as {
    [K in keyof S]: z.ZodOptional<S[K]>;
  };
  return z.strictObject({ ...optional, ts: TsSchema.optional() }).refine(
    (v) => fields.some((k) => (v as Record<string, unknown>)[k] !== undefined),
    { message: `at least one measurement field is required (${fields.join(', ')})` },
  );
}

/** One strict schema per event type, each with its own details (contract §2). */
export function eventSchemas<E extends Record<string, Shape>>(types: E) {
  return Object.fromEntries(
    Object.entries(types).map(([type, details]) => [
      type,
      z.strictObject({ type: z.literal(type), ts: TsSchema.optional(), ...details }),
    ]),
  ) as { [T in keyof E]: z.ZodObject<{ type: z.ZodLiteral<T & string>; ts: z.ZodOptional<typeof TsSchema> } & E[T]> };
}

/** Date.parse rolls 2024-02-30 over into March; a device sending that has a broken clock. */
function isRealDate(text: string): boolean {
  const [y, m, d] = text.slice(0, 10).split('-').map(Number);
  return m >= 1 && m <= 12 && d >= 1 && d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}
