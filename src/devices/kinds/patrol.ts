import type { z } from 'zod';
import { eventSchemas, LabelSchema, PctSchema, telemetrySchema } from './common.js';

/** A guard-tour checkpoint (NFC/RFID tag reader); a missing `checkpoint_scan` is what rules watch (contract §9). */
export const PatrolTelemetrySchema = telemetrySchema({
  batteryPct: PctSchema,
});
export type PatrolTelemetry = z.infer<typeof PatrolTelemetrySchema>;

export const PATROL_EVENTS = eventSchemas({
  // A guard's tag may carry a name or a badge number: stored as text either way.
  checkpoint_scan: { guard: LabelSchema, route: LabelSchema.optional() },
  tamper: {},
});
