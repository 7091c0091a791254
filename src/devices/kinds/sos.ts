import type { z } from 'zod';
import { eventSchemas, LabelSchema, PctSchema, telemetrySchema, TextSchema } from './common.js';

/** An emergency call point: in a lift car, a car park, an elderly resident's home. */
export const SosTelemetrySchema = telemetrySchema({
  batteryPct: PctSchema,
});
export type SosTelemetry = z.infer<typeof SosTelemetrySchema>;

/** `call` is a life-safety event (contract §9, index.ts). */
export const SOS_EVENTS = eventSchemas({
  call: { location: TextSchema.optional() },
  cancel: {},
  tamper: {},
  fault: { code: LabelSchema.optional() },
});
