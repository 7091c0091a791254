import { applyFloodStep, restoreSteps, type FloodAction, type FloodPlan, type FloodStep } from '../flood.js';
import type { SimDevice } from './device-client.js';

/** A flood being played (Simulator.flood). */
export interface PlayingFlood {
  plan: FloodPlan;
  /** Real epoch ms the mains failed. */
  startedAt: number;
  /** The steps played so far, with the real epoch ms each was played at. */
  played: Array<FloodStep & { at: number }>;
  /** The mains return now (if they have not): `mains_restored`, then the fed devices come back after their boot times. */
  restore(): void;
  /** Resolves with the real epoch ms at which `action` was (first) played; never, if it never is. */
  reached(action: FloodAction): Promise<number>;
}

/** What the flood needs of the simulator: its devices, its simulated clock, its timers (cleared on stop). */
export interface FloodHost {
  device(id: string): SimDevice | undefined;
  simNow(): number;
  later(ms: number, run: () => void): void;
  log?: (line: string) => void;
}

/**
 * Plays `plan` (devices/flood.ts) from now on the simulator's devices: the room's faults and the fire on their
 * models, the power loss and return on the fed devices' connections. The return is played by `restore()`,
 * whether the plan's outage runs out or the caller ends it first; `onRestored` is told when it is.
 */
export function playFlood(host: FloodHost, plan: FloodPlan, onRestored: () => void): PlayingFlood {
  const startedAt = Date.now();
  const played: PlayingFlood['played'] = [];
  const waiting = new Map<FloodAction, Array<(at: number) => void>>();
  const run = (step: FloodStep) => {
    const at = Date.now();
    playStep(host, plan, step);
    played.push({ ...step, at });
    for (const resolve of waiting.get(step.action) ?? []) resolve(at);
    waiting.delete(step.action);
  };
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    onRestored();
    const [mains, ...back] = restoreSteps(plan, Date.now() - startedAt);
    run(mains);
    back.forEach((step, i) =>
      host.later(step.atMs - mains.atMs, () => {
        run(step);
        if (i === back.length - 1) host.log?.(`flood ${plan.power}: its ${plan.fed.length} devices are powered again and reconnecting`);
      }),
    );
  };
  host.log?.(
    `flood: ${plan.power} loses the mains, its generator fails: ${plan.fed.length} devices go dark (${plan.loss}); ` +
      (plan.fire ? `fire in ${plan.fire.zone} (${plan.fire.origin}) in ${plan.fire.atMs / 1000} s` : 'no fire detector in the building'),
  );
  for (const step of plan.steps) {
    if (step.action === 'power-on') continue;
    const go = step.action === 'mains-restored' ? restore : () => run(step);
    if (step.atMs === 0) go();
    else host.later(step.atMs, go);
  }
  return {
    plan,
    startedAt,
    played,
    restore,
    reached: (action) => {
      const done = played.find((p) => p.action === action);
      if (done) return Promise.resolve(done.at);
      return new Promise((resolve) => waiting.set(action, [...(waiting.get(action) ?? []), resolve]));
    },
  };
}

function playStep(host: FloodHost, plan: FloodPlan, step: FloodStep): void {
  const models = step.devices.flatMap((id) => host.device(id)?.model ?? []);
  applyFloodStep(step, models, host.simNow());
  if (step.action === 'power-off') for (const id of step.devices) host.device(id)?.powerOff(plan.loss);
  else if (step.action === 'power-on') for (const id of step.devices) host.device(id)?.revive();
  // The room's news goes out at once, before the fed devices go dark: its monitor is on its own battery.
  else if (step.devices.includes(plan.power)) host.device(plan.power)?.tick(Date.now());
  if (step.action !== 'power-on') {
    host.log?.(`flood ${plan.power}: ${step.action} (${step.devices.length === 1 ? step.devices[0] : `${step.devices.length} devices`})`);
  }
}
