import { z } from 'zod';
import { CountSchema, eventSchemas, PctSchema, telemetrySchema } from './common.js';

/** Space sensors (`occupied`) and lot counters (`freeSpaces`, `capacity`), and barriers. */
export const ParkingTelemetrySchema = telemetrySchema({
  occupied: z.boolean(),
  freeSpaces: CountSchema,
  capacity: CountSchema,
  batteryPct: PctSchema,
});
export type ParkingTelemetry = z.infer<typeof ParkingTelemetrySchema>;

const Plate = z.string().min(1).max(16);

export const PARKING_EVENTS = eventSchemas({
  vehicle_entry: { plate: Plate },
  vehicle_exit: { plate: Plate },
  barrier_fault: {},
  barrier_open: {},
});
