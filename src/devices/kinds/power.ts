import { z } from 'zod';
import { eventSchemas, FiniteSchema, LabelSchema, NonNegativeSchema, PctSchema, PowerFactorSchema, telemetrySchema } from './common.js';

/** A distribution room: transformer, switchgear, standby generator. */
export const PowerTelemetrySchema = telemetrySchema({
  voltageV: NonNegativeSchema,
  currentA: NonNegativeSchema,
  powerKw: FiniteSchema,
  powerFactor: PowerFactorSchema,
  transformerTempC: FiniteSchema,
  roomTempC: FiniteSchema,
  humidityPct: PctSchema,
  breakerClosed: z.boolean(),
  onGenerator: z.boolean(),
  generatorFuelPct: PctSchema,
});
export type PowerTelemetry = z.infer<typeof PowerTelemetrySchema>;

export const POWER_EVENTS = eventSchemas({
  breaker_trip: { circuit: LabelSchema.optional() },
  mains_loss: {},
  mains_restored: {},
  generator_start: {},
  generator_fault: { code: LabelSchema.optional() },
  flooding: {},
});
