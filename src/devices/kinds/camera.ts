import { z } from 'zod';
import { eventSchemas, NonNegativeSchema, PctSchema, telemetrySchema, TextSchema } from './common.js';

/** IP cameras and recorders. */
export const CameraTelemetrySchema = telemetrySchema({
  recording: z.boolean(),
  fps: NonNegativeSchema,
  bitrateKbps: NonNegativeSchema,
  storageFreePct: PctSchema,
});
export type CameraTelemetry = z.infer<typeof CameraTelemetrySchema>;

export const CAMERA_EVENTS = eventSchemas({
  motion: { region: TextSchema.optional() },
  intrusion: { region: TextSchema.optional() },
  video_loss: {},
  tamper: {},
  face_match: { list: TextSchema },
});
