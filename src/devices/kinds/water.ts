import { z } from 'zod';
import { CountSchema, eventSchemas, FiniteSchema, LabelSchema, NonNegativeSchema, PctSchema, telemetrySchema, TextSchema } from './common.js';

/**
 * Secondary water supply: a pump set, a tank, a pressure or flow point. `volumeM3` is the cumulative register;
 * `runHours` and `starts` are cumulative counters.
 */
export const WaterTelemetrySchema = telemetrySchema({
  levelPct: PctSchema,
  pressureMpa: NonNegativeSchema,
  flowM3h: NonNegativeSchema,
  volumeM3: NonNegativeSchema,
  pumpRunning: z.boolean(),
  pumpCurrentA: NonNegativeSchema,
  frequencyHz: NonNegativeSchema,
  runHours: NonNegativeSchema,
  starts: CountSchema,
  chlorineMgL: NonNegativeSchema,
  turbidityNtu: NonNegativeSchema,
  temperatureC: FiniteSchema,
});
export type WaterTelemetry = z.infer<typeof WaterTelemetrySchema>;

export const WATER_EVENTS = eventSchemas({
  // A pump set numbers its pumps (`2`) or names them (`P2`): stored as text either way.
  pump_fault: { pump: LabelSchema.optional(), code: LabelSchema.optional() },
  pump_start: { pump: LabelSchema.optional() },
  pump_stop: { pump: LabelSchema.optional() },
  dry_run: {},
  overflow: {},
  leak: { location: TextSchema.optional() },
});
