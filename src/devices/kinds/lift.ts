import { z } from 'zod';
import { CountSchema, eventSchemas, LabelSchema, NonNegativeSchema, PctSchema, telemetrySchema } from './common.js';

/** Where the car is heading (contract §9); stored as a string field. */
export const LIFT_DIRECTIONS = ['up', 'down', 'idle'] as const;
/** The controller's operating mode (contract §9); stored as a string field. */
export const LIFT_MODES = ['normal', 'inspection', 'fire', 'out_of_service'] as const;

/** A landing as the controller numbers it: whole, and below 0 for basements (the contract gives no range). */
const FloorSchema = z.number().int();

/** One lift car: its controller, or an IoT box on it. `trips` and `runHours` are cumulative counters. */
export const LiftTelemetrySchema = telemetrySchema({
  floor: FloorSchema,
  moving: z.boolean(),
  direction: z.enum(LIFT_DIRECTIONS),
  doorOpen: z.boolean(),
  mode: z.enum(LIFT_MODES),
  loadPct: PctSchema,
  speedMps: NonNegativeSchema,
  trips: CountSchema,
  runHours: NonNegativeSchema,
});
export type LiftTelemetry = z.infer<typeof LiftTelemetrySchema>;

/** `passenger_trapped` and `alarm_button` are life-safety events (contract §9, index.ts). */
export const LIFT_EVENTS = eventSchemas({
  passenger_trapped: { floor: FloorSchema.optional() },
  released: {},
  door_fault: {},
  overspeed: {},
  stopped_between_floors: { floor: FloorSchema.optional() },
  power_loss: {},
  alarm_button: {},
  fault: { code: LabelSchema.optional() },
  maintenance_start: {},
  maintenance_end: {},
});
