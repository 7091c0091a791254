import { KIND_NAMES, type KindName } from '../../src/devices/kinds/index.js';
import { AccessModel } from './access.js';
import { CameraModel } from './camera.js';
import { EnergyModel } from './energy.js';
import { FireModel } from './fire.js';
import { LightingModel } from './lighting.js';
import type { DeviceModel, DeviceSpec, ModelContext } from './model.js';
import { ParkingModel } from './parking.js';

export * from './model.js';

type ModelClass = new (spec: DeviceSpec, ctx: ModelContext, now: number) => DeviceModel;

/**
 * One model per kind the simulator plays. The kinds of §9 have their models (lift.ts, water.ts, power.ts,
 * patrol.ts, sos.ts, environment.ts, waste.ts, unit-tested on their own) but are not played yet: a site file
 * cannot hold such devices, and the demo must hold a device of every kind played (tests/unit/devices/site.test.ts).
 * They join `SIMULATED_KINDS` with the site slots, scenarios and demo devices of issue 14's next step.
 */
const MODELS: Partial<Record<KindName, ModelClass>> = {
  access: AccessModel,
  lighting: LightingModel,
  parking: ParkingModel,
  energy: EnergyModel,
  fire: FireModel,
  camera: CameraModel,
};

/** The kinds the simulator can play, in the contract's order. */
export const SIMULATED_KINDS: readonly KindName[] = KIND_NAMES.filter((k) => MODELS[k] !== undefined);

/** The model of `spec`'s kind, starting at simulated time `now`. */
export function createModel(spec: DeviceSpec, ctx: ModelContext, now: number): DeviceModel {
  const Model = MODELS[spec.kind];
  if (!Model) throw new Error(`${spec.id}: the simulator has no model of kind ${spec.kind} (${SIMULATED_KINDS.join(', ')})`);
  return new Model(spec, ctx, now);
}
