import { z } from 'zod';
import { eventSchemas, FiniteSchema, NonNegativeSchema, PctSchema, telemetrySchema, TextSchema } from './common.js';

/** Air, noise, leak and soil sensors, and irrigation valves. */
export const EnvironmentTelemetrySchema = telemetrySchema({
  temperatureC: FiniteSchema,
  humidityPct: PctSchema,
  pm25Ugm3: NonNegativeSchema,
  pm10Ugm3: NonNegativeSchema,
  co2Ppm: NonNegativeSchema,
  noiseDb: NonNegativeSchema,
  waterLeak: z.boolean(),
  soilMoisturePct: PctSchema,
  valveOpen: z.boolean(),
});
export type EnvironmentTelemetry = z.infer<typeof EnvironmentTelemetrySchema>;

export const ENVIRONMENT_EVENTS = eventSchemas({
  leak: { location: TextSchema.optional() },
  valve_fault: {},
});
