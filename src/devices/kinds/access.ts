import { z } from 'zod';
import { eventSchemas, PctSchema, telemetrySchema, TextSchema } from './common.js';

/** Door controllers and gates. */
export const AccessTelemetrySchema = telemetrySchema({
  doorOpen: z.boolean(),
  locked: z.boolean(),
  batteryPct: PctSchema,
});
export type AccessTelemetry = z.infer<typeof AccessTelemetrySchema>;

const Method = z.enum(['card', 'face', 'qr', 'pin', 'remote']);

export const ACCESS_EVENTS = eventSchemas({
  access_granted: { method: Method, credential: TextSchema.optional() },
  access_denied: { method: Method, reason: TextSchema.optional() },
  door_forced: {},
  door_held_open: { seconds: z.number().nonnegative() },
  tamper: {},
});
