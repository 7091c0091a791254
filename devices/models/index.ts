import { KIND_NAMES, type KindName } from '../../src/devices/kinds/index.js';
import { AccessModel } from './access.js';
import { CameraModel } from './camera.js';
import { EnergyModel } from './energy.js';
import { EnvironmentModel } from './environment.js';
import { FireModel } from './fire.js';
import { LiftModel } from './lift.js';
import { LightingModel } from './lighting.js';
import type { DeviceModel, DeviceSpec, ModelContext } from './model.js';
import { ParkingModel } from './parking.js';
import { PatrolModel } from './patrol.js';
import { PowerModel } from './power.js';
import { SosModel } from './sos.js';
import { WasteModel } from './waste.js';
import { WaterModel } from './water.js';

export * from './model.js';

type ModelClass = new (spec: DeviceSpec, ctx: ModelContext, now: number) => DeviceModel;

/** One model per kind the simulator plays. */
const MODELS: Record<KindName, ModelClass> = {
  access: AccessModel,
  lighting: LightingModel,
  parking: ParkingModel,
  energy: EnergyModel,
  fire: FireModel,
  camera: CameraModel,
  lift: LiftModel,
  water: WaterModel,
  power: PowerModel,
  patrol: PatrolModel,
  sos: SosModel,
  environment: EnvironmentModel,
  waste: WasteModel,
};

/** The kinds the simulator can play, in the contract's order. */
export const SIMULATED_KINDS: readonly KindName[] = KIND_NAMES.filter((k) => Object.hasOwn(MODELS, k));

/** The model of `spec`'s kind, starting at simulated time `now`. */
export function createModel(spec: DeviceSpec, ctx: ModelContext, now: number): DeviceModel {
  const Model = MODELS[spec.kind];
  if (!Model) throw new Error(`${spec.id}: the simulator has no model of kind ${spec.kind} (${SIMULATED_KINDS.join(', ')})`);
  return new Model(spec, ctx, now);
}
