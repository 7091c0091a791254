import { z } from 'zod';
import { eventSchemas, FiniteSchema, LabelSchema, NonNegativeSchema, PctSchema, telemetrySchema } from './common.js';

/** Smoke, heat and CO detectors. */
export const FireTelemetrySchema = telemetrySchema({
  smokeObscurationPct: PctSchema,
  temperatureC: FiniteSchema,
  coPpm: NonNegativeSchema,
  batteryPct: PctSchema,
});
export type FireTelemetry = z.infer<typeof FireTelemetrySchema>;

export const FIRE_EVENTS = eventSchemas({
  fire_alarm: {},
  // A panel's fault code may be numeric or text; it is stored as text so the InfluxDB field keeps one type.
  fault: { code: LabelSchema.optional() },
  test: {},
  reset: {},
});
