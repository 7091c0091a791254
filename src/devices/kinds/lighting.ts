import { z } from 'zod';
import { eventSchemas, NonNegativeSchema, PctSchema, telemetrySchema } from './common.js';

/** Street and corridor lighting. */
export const LightingTelemetrySchema = telemetrySchema({
  on: z.boolean(),
  brightnessPct: PctSchema,
  powerW: NonNegativeSchema,
  voltageV: NonNegativeSchema,
});
export type LightingTelemetry = z.infer<typeof LightingTelemetrySchema>;

export const LIGHTING_EVENTS = eventSchemas({
  lamp_failure: {},
  circuit_trip: {},
});
