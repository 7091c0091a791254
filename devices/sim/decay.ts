/**
 * Slow faults (issue 18): equipment that wears out over days before it fails, so that the forecast and anomaly
 * rules have something to warn about before the failure event. Everything here is a pure function of time and
 * seed: which devices decay, when the decay starts, how far it has gone at any moment. The models
 * (devices/models) read `severity` and add the drift to their normal daily life; the same models run on the
 * simulator's clock (real time, or compressed with `--speed`) and in virtual time (bench/lead-time.ts).
 */
import type { KindName } from '../../src/devices/kinds/index.js';

const DAY_MS = 86_400_000;

/** A slow fault a model can be put into, and what it ends in. */
export interface DecayDef {
  kind: KindName;
  /** Roles of the kind it applies to (absent: every device of the kind). */
  roles?: readonly string[];
  /** From the onset to the failure, in simulated time, when nothing compresses it. */
  spanMs: number;
  /** severity = (elapsed / span) ^ shape: above 1 wear accelerates towards the end, as it mostly does. */
  shape: number;
  /** The event the kind already has that ends it. */
  failure: string;
  description: string;
}

export const DECAYS = {
  'lamp-decay': {
    kind: 'lighting',
    roles: ['street', 'carpark'],
    spanMs: 10 * DAY_MS,
    shape: 1.5,
    failure: 'lamp_failure',
    description: "a lamp's LED driver ages: the lamp draws up to 30 % more for the same light over about 10 days, then lamp_failure",
  },
  'pump-decay': {
    kind: 'water',
    spanMs: 14 * DAY_MS,
    shape: 2,
    failure: 'pump_fault',
    description: "a booster pump's bearing wears: up to 6 A more current at the same speed over about 14 days, then pump_fault",
  },
  'inlet-decay': {
    kind: 'water',
    spanMs: 2 * DAY_MS,
    shape: 1,
    failure: 'dry_run',
    description: "a tank's inlet strainer clogs over about 2 days: the refill cannot keep up, the level falls day by day, then dry_run",
  },
  'leak-decay': {
    kind: 'water',
    spanMs: 5 * DAY_MS,
    shape: 1.5,
    failure: 'leak',
    description: 'a leak in the riser grows to 6 m³/h over about 5 days (the night flow rises first), then leak',
  },
  'transformer-decay': {
    kind: 'power',
    spanMs: 3 * DAY_MS,
    shape: 2,
    failure: 'breaker_trip',
    description: "a transformer's cooling fails over about 3 days: its temperature climbs towards 150 °C, where the controller trips the breaker",
  },
} as const satisfies Record<string, DecayDef>;
export type DecayName = keyof typeof DECAYS;
export const DECAY_NAMES = Object.keys(DECAYS) as DecayName[];

export function isDecayName(name: string): name is DecayName {
  return Object.hasOwn(DECAYS, name);
}

/** One decay in progress: from `onset` to the failure at `failAt` (simulated epoch ms). */
export interface Decay {
  name: DecayName;
  onset: number;
  failAt: number;
}

/** How far the decay has gone at `t`: 0 before the onset, rising to 1 at `failAt` (and staying there). */
export function severity(decay: Decay, t: number): number {
  if (t <= decay.onset) return 0;
  const u = Math.min(1, (t - decay.onset) / Math.max(1, decay.failAt - decay.onset));
  return u ** DECAYS[decay.name].shape;
}

/** A decay starting at `onset` and failing `spanMs` later (default: its natural span). */
export function decayFrom(name: DecayName, onset: number, spanMs: number = DECAYS[name].spanMs): Decay {
  return { name, onset, failAt: onset + Math.max(1, spanMs) };
}

/** A device the decay picks from: its id, kind and role. */
export interface DecayCandidate {
  id: string;
  kind: KindName;
  role: string;
}

export interface DecayPlanOptions {
  seed: number;
  /** Share of the devices each decay applies to that decay (0..1); at least one when above 0 and one fits. */
  fraction: number;
  /** When the first onset may come (simulated epoch ms). */
  from: number;
  /** Onsets are spread over this after `from` (default: each decay's own span). */
  spreadMs?: number;
  /** Each span is multiplied by this (default 1): below 1 compresses the decay. */
  spanScale?: number;
}

/**
 * Which devices decay and when, as a pure function of the devices, the seed and the options: a device takes at
 * most one decay (the decays of a kind share its devices in turn), its onset somewhere in the spread. A device
 * the plan does not name stays healthy, which is what false alarms are counted on.
 */
export function planDecays(devices: readonly DecayCandidate[], opts: DecayPlanOptions): Array<Decay & { device: string }> {
  const plans: Array<Decay & { device: string }> = [];
  const taken = new Set<string>();
  for (const name of DECAY_NAMES) {
    const def: DecayDef = DECAYS[name];
    const fits = devices.filter((d) => d.kind === def.kind && (!def.roles || def.roles.includes(d.role)) && !taken.has(d.id));
    if (opts.fraction <= 0 || fits.length === 0) continue;
    const want = Math.max(1, Math.round(fits.length * Math.min(1, opts.fraction)));
    // Ranked by a hash of seed, decay and id: the same seed picks the same devices, whatever their order.
    const ranked = fits.map((d) => ({ d, r: unit(opts.seed, `${name}/${d.id}`, 0) })).sort((a, b) => a.r - b.r);
    for (const { d } of ranked.slice(0, want)) {
      taken.add(d.id);
      const span = def.spanMs * (opts.spanScale ?? 1);
      const onset = opts.from + Math.floor(unit(opts.seed, `${name}/${d.id}`, 1) * (opts.spreadMs ?? span));
      plans.push({ device: d.id, ...decayFrom(name, onset, span) });
    }
  }
  return plans;
}

/** A uniform number in [0, 1) from a seed, a label and a counter: the same arguments, the same number. */
export function unit(seed: number, label: string, n: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ n, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/**
 * Measurement noise as a pure function of seed, label and time (about normal, sd 1, a new value each
 * `stepMs`): a sensor's own scatter, the same whenever and however often it is read.
 */
export function sensorNoise(seed: number, label: string, t: number, stepMs = 1000): number {
  const n = Math.floor(t / stepMs);
  // Irwin–Hall: the sum of four uniforms, centred and scaled to sd 1.
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += unit(seed, label, n * 4 + i);
  return (sum - 2) * Math.sqrt(3);
}
