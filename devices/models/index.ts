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
 * One model per kind of contract §1. The kinds of §9 (lift, water, power, patrol, sos, environment, waste) have
 * none yet (issue 14, later work): a site file cannot hold such devices, so the simulator never meets one.
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
