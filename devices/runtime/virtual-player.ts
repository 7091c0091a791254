/**
 * Plays one simulated device on virtual time, without MQTT: the same model the simulator runs (devices/models),
 * stepped from `from` to `until` and read every `intervalMs`, with its slow fault (devices/sim/decay.ts) started at
 * its onset. For measuring the rules on weeks of a device's life in seconds (bench/lead-time.ts), and for tests.
 */
import type { DeviceMessage } from '../../src/devices/kinds/messages.js';
import { createModel, type DeviceSpec, type SimEvent, type SitePlace } from '../models/index.js';
import type { Decay } from '../sim/decay.js';
import { Random } from '../sim/random.js';

export interface VirtualPlay {
  spec: DeviceSpec;
  place: SitePlace;
  seed: number;
  /** Simulated epoch ms. */
  from: number;
  until: number;
  /** Between two readings (the model is stepped at each). */
  intervalMs: number;
  decay?: Decay;
  /** Events to keep (default every one the model sends). */
  events?: (e: SimEvent) => boolean;
}

export interface Played {
  /** Telemetry (and the kept events) as the gateway would have accepted them, in time order. */
  messages: DeviceMessage[];
  /** Every event the model sent, with its time. */
  events: Array<{ at: number; type: string }>;
}

/** Plays `p.spec` over [from, until]; the readings carry the simulated time as `ts`. */
export function playVirtual(p: VirtualPlay): Played {
  const { spec } = p;
  const model = createModel(spec, { rng: new Random(p.seed).fork(spec.id), place: p.place }, p.from);
  const messages: DeviceMessage[] = [];
  const events: Played['events'] = [];
  const origin = { device: spec.id, kind: spec.kind, site: spec.site, zone: spec.zone };
  let started = p.decay === undefined;
  for (let t = p.from + p.intervalMs; t <= p.until; t += p.intervalMs) {
    if (!started && t >= p.decay!.onset) {
      // Started at its onset, with the span the plan gives it.
      model.startFault({ name: p.decay!.name, spanMs: p.decay!.failAt - p.decay!.onset }, p.decay!.onset);
      started = true;
    }
    for (const event of model.step(t).events) {
      events.push({ at: t, type: event.type });
      if (p.events?.(event) ?? true) {
        const { type, ...details } = event;
        messages.push({ ...origin, ts: t, event: { type, details } });
      }
    }
    messages.push({ ...origin, ts: t, telemetry: model.telemetry(t) as DeviceMessage['telemetry'] });
  }
  return { messages, events };
}
