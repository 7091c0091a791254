import type { KindName } from '../../src/devices/kinds/index.js';
import { AccessModel } from './access.js';
import { CameraModel } from './camera.js';
import { EnergyModel } from './energy.js';
import { FireModel } from './fire.js';
import { LightingModel } from './lighting.js';
import type { DeviceModel, DeviceSpec, ModelContext } from './model.js';
import { ParkingModel } from './parking.js';

export * from './model.js';

type ModelClass = new (spec: DeviceSpec, ctx: ModelContext, now: number) => DeviceModel;

/** One model per kind (contract §1). */
const MODELS: Record<KindName, ModelClass> = {
  access: AccessModel,
  lighting: LightingModel,
  parking: ParkingModel,
  energy: EnergyModel,
  fire: FireModel,
  camera: CameraModel,
};

/** The model of `spec`'s kind, starting at simulated time `now`. */
export function createModel(spec: DeviceSpec, ctx: ModelContext, now: number): DeviceModel {
  return new MODELS[spec.kind](spec, ctx, now);
}
