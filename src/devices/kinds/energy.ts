import { z } from 'zod';
import { eventSchemas, FiniteSchema, NonNegativeSchema, PowerFactorSchema, telemetrySchema } from './common.js';

/** Energy meters; `energyKwh` is the cumulative register. */
export const EnergyTelemetrySchema = telemetrySchema({
  energyKwh: NonNegativeSchema,
  powerKw: FiniteSchema,
  voltageV: NonNegativeSchema,
  currentA: NonNegativeSchema,
  powerFactor: PowerFactorSchema,
});
export type EnergyTelemetry = z.infer<typeof EnergyTelemetrySchema>;

export const ENERGY_EVENTS = eventSchemas({
  phase_loss: { phase: z.enum(['L1', 'L2', 'L3']).optional() },
  meter_tamper: {},
});
