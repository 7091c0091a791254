/**
 * A site's devices played offline on simulated time, into the messages the gateway would accept from them:
 * the same models and scenarios as `npm run simulate`, stepped on a ManualClock, every message checked
 * against its kind's schema, with its `ts` in simulated time. What the rule simulator (src/rules/simulate.ts)
 * replays, so a day of a whole site runs through the rule pack in seconds.
 */
import { checkEvent, checkTelemetry, type KindName } from '../../src/devices/kinds/index.js';
import type { RuleDevice } from '../../src/rules/actions.js';
import type { SimMessage } from '../../src/rules/simulate.js';
import { createModel, type DeviceModel, type DeviceSpec } from '../../devices/models/index.js';
import { applyFault, faultOf, parseScenario, resolveTargets } from '../../devices/scenarios.js';
import { ManualClock } from '../../devices/sim/clock.js';
import { Random } from '../../devices/sim/random.js';
import { placeOf, type Site } from '../../devices/site.js';

export interface PlayOptions {
  /** Simulated epoch ms of the start. */
  start: number;
  durationMs: number;
  /** The devices played (default: all of the site). */
  specs: readonly DeviceSpec[];
  /** Telemetry interval (default 60 s); a device that reports at once (a fault) reports at its next step. */
  intervalMs?: number;
  /** How often the models are stepped (default 10 s). */
  stepMs?: number;
  /** Scenarios as the timeline writes them (`name:target@at+for`), `at` and `for` in simulated time. */
  scenarios?: readonly string[];
  seed?: number;
}

export interface Played {
  messages: SimMessage[];
  /** The devices as the rule engine sees them at the start: registered, online, with their tags. */
  devices: RuleDevice[];
  /** The devices each scenario acted on, by its text. */
  targets: Map<string, string[]>;
}

export function playSite(site: Site, opts: PlayOptions): Played {
  const { start, durationMs, specs } = opts;
  const intervalMs = opts.intervalMs ?? 60_000;
  const stepMs = opts.stepMs ?? 10_000;
  const clock = new ManualClock(start);
  const root = new Random(opts.seed ?? 1);
  const models = specs.map((s) => createModel(s, { rng: root.fork(s.id), place: placeOf(site) }, start));
  const messages: SimMessage[] = [];
  const origin = (m: DeviceModel) => ({ site: m.spec.site, kind: m.spec.kind, device: m.spec.id, zone: m.spec.zone });
  const report = (m: DeviceModel, ts: number) => {
    const checked = checkTelemetry(m.spec.kind, m.telemetry(ts));
    if (!checked.ok) throw new Error(`${m.spec.id} at ${new Date(ts).toISOString()}: telemetry refused: ${checked.reason}`);
    messages.push({ ...origin(m), ts, telemetry: checked.value } as SimMessage);
  };

  // Each scenario starts and ends on simulated time, on the devices it picks.
  const steps = (opts.scenarios ?? []).map(parseScenario);
  const targets = new Map<string, string[]>();
  const timeline: Array<{ at: number; begin: boolean; step: (typeof steps)[number]; models: DeviceModel[] }> = [];
  for (const step of steps) {
    const picked = new Set(resolveTargets(step, specs).map((s) => s.id));
    const chosen = models.filter((m) => picked.has(m.spec.id));
    targets.set(step.text, chosen.map((m) => m.spec.id));
    timeline.push({ at: start + step.atMs, begin: true, step, models: chosen });
    if (step.forMs !== undefined) timeline.push({ at: start + step.atMs + step.forMs, begin: false, step, models: chosen });
  }
  timeline.sort((a, b) => a.at - b.at);

  for (const m of models) {
    messages.push({ ...origin(m), ts: start, status: 'online' } as SimMessage);
    report(m, start);
  }
  // Each device reports at its own phase of the interval, as the simulator's devices do.
  const nextReport = new Map(models.map((m, i) => [m, start + Math.floor(((i + 1) / models.length) * intervalMs)]));
  for (let now = start + stepMs; now <= start + durationMs; now += stepMs) {
    clock.set(now);
    while (timeline.length > 0 && timeline[0].at <= now) {
      const t = timeline.shift()!;
      const fault = faultOf(t.step);
      if (fault === 'silence' || fault === 'drop') throw new Error(`${t.step.text}: a connection scenario, not played offline`);
      applyFault(fault, t.models, t.begin, now);
    }
    for (const m of models) {
      const { events, reportNow } = m.step(now);
      for (const { type, ...details } of events) {
        const checked = checkEvent(m.spec.kind, { type, ...details });
        if (!checked.ok) throw new Error(`${m.spec.id} at ${new Date(now).toISOString()}: event ${type} refused: ${checked.reason}`);
        messages.push({ ...origin(m), ts: now, event: { type, details } } as SimMessage);
      }
      if (reportNow || nextReport.get(m)! <= now) {
        report(m, now);
        if (nextReport.get(m)! <= now) nextReport.set(m, nextReport.get(m)! + intervalMs);
      }
    }
  }
  const devices = specs.map((s) => ({ id: s.id, kind: s.kind, site: s.site, zone: s.zone, tags: s.tags, online: true, lastSeen: start }));
  return { messages, devices, targets };
}

/** The kinds of contract §9, added by issue 14. */
export const NEW_KINDS: readonly KindName[] = ['lift', 'water', 'power', 'patrol', 'sos', 'environment', 'waste'];
