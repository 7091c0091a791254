import type { z } from 'zod';
import { eventSchemas, FiniteSchema, PctSchema, telemetrySchema } from './common.js';

/** A bin or compactor with a fill sensor. */
export const WasteTelemetrySchema = telemetrySchema({
  fillPct: PctSchema,
  temperatureC: FiniteSchema,
  batteryPct: PctSchema,
});
export type WasteTelemetry = z.infer<typeof WasteTelemetrySchema>;

export const WASTE_EVENTS = eventSchemas({
  full: {},
  emptied: {},
  fire: {},
});
