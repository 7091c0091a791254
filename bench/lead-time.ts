/**
 * `npm run bench:lead-time`: how early the default pack's prediction rules (rules/prediction.yaml) warn before
 * the failures of the simulators' slow faults, and how often they warn on healthy devices. The demo site's
 * lamps, and copies of its pump set, distribution rooms and building meters, live weeks of virtual time through
 * their models (devices/runtime/virtual-player.ts); a share of them decays (devices/sim/decay.ts `planDecays`,
 * after a warm-up that gives the baselines their history), and every device's readings go through the real rule
 * engine (`simulateRules`). For each rule: the lead time (failure event − first warning after the onset)
 * as min / median / p90 over the decaying devices it is meant for, those it missed, and its false alarms (raises
 * on a healthy device, or on a decaying one before its onset) per device-week after the warm-up. The existing
 * threshold rules at the same levels run beside them, for comparison.
 *
 *   npm run bench:lead-time -- [--weeks 6] [--warmup 14d] [--interval 2m] [--fraction 0.35] [--seed 1]
 *                              [--pumps 16] [--rooms 12] [--meters 12] [--corridors 20]
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseDuration } from '../src/config/duration.js';
import { createLogger } from '../src/log.js';
import { parseRuleFile } from '../src/rules/loader.js';
import type { Rule } from '../src/rules/schema.js';
import { simulateRules } from '../src/rules/simulate.js';
import type { DeviceSpec } from '../devices/models/index.js';
import { playVirtual } from '../devices/runtime/virtual-player.js';
import { DECAYS, planDecays, type Decay, type DecayName } from '../devices/sim/decay.js';
import { expandSite, loadSite, placeOf } from '../devices/site.js';

const { values: args } = parseArgs({
  options: {
    weeks: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '14d' },
    interval: { type: 'string', default: '2m' },
    fraction: { type: 'string', default: '0.35' },
    seed: { type: 'string', default: '1' },
    pumps: { type: 'string', default: '16' },
    rooms: { type: 'string', default: '12' },
    meters: { type: 'string', default: '12' },
    corridors: { type: 'string', default: '20' },
  },
});

const DAY = 86_400_000;
const WEEK = 7 * DAY;
/** A Monday in the demo site's time zone. */
const START = Date.parse('2026-09-07T00:00:00+08:00');

/** Each prediction rule and the slow fault it is there to see coming. */
const TARGETS: Record<string, DecayName[]> = {
  'lamp-driver-ageing': ['lamp-decay'],
  'pump-current-high': ['pump-decay'],
  'tank-dry-forecast': ['inlet-decay'],
  'night-water-flow-high': ['leak-decay'],
  'transformer-temperature-forecast': ['transformer-decay'],
  'night-base-load-high': [],
  // The pack's existing threshold rules at the same levels, for comparison.
  'tank-level-low': ['inlet-decay'],
  'transformer-over-temperature': ['transformer-decay'],
};
const COMPARED = ['tank-level-low', 'transformer-over-temperature'];

function log(text: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);
}

async function rules(): Promise<Rule[]> {
  const load = async (file: string) => {
    const { rules: loaded, errors } = parseRuleFile(file, await readFile(file, 'utf8'));
    if (errors.length > 0) throw new Error(errors.join('\n'));
    return loaded.map((l) => l.rule);
  };
  const compared = [...(await load('rules/water.yaml')), ...(await load('rules/power.yaml'))].filter((r) => COMPARED.includes(r.id));
  return [...(await load('rules/prediction.yaml')), ...compared];
}

/** `n` copies of `spec` (its id numbered), so that a kind the demo site has few of gives a fair sample. */
function copies(spec: DeviceSpec, n: number): DeviceSpec[] {
  return Array.from({ length: n }, (_, i) => ({ ...spec, id: `${spec.id}-x${String(i + 1).padStart(2, '0')}`, parent: undefined }));
}

async function devices(): Promise<{ specs: DeviceSpec[]; place: ReturnType<typeof placeOf> }> {
  const site = await loadSite('devices/sites/demo.yaml');
  const all = expandSite(site);
  const first = (kind: string, role?: string) => all.find((d) => d.kind === kind && (role === undefined || d.tags.role === role))!;
  const specs = [
    ...all.filter((d) => d.kind === 'lighting' && d.role !== 'corridor'),
    ...all.filter((d) => d.kind === 'lighting' && d.role === 'corridor').slice(0, Number(args.corridors)),
    ...copies(first('water'), Number(args.pumps)),
    ...copies(first('power'), Number(args.rooms)),
    ...copies(first('energy', 'building'), Number(args.meters)),
  ];
  return { specs, place: placeOf(site) };
}

interface Warning {
  rule: string;
  at: number;
}

interface DeviceResult {
  spec: DeviceSpec;
  decay?: Decay;
  /** The failure event's time (undefined: healthy, or it did not fail within the run). */
  failedAt?: number;
  raises: Warning[];
}

function runDevice(spec: DeviceSpec, place: ReturnType<typeof placeOf>, pack: Rule[], decay: Decay | undefined, from: number, until: number, intervalMs: number): DeviceResult {
  const seed = Number(args.seed);
  const failure = decay ? DECAYS[decay.name].failure : undefined;
  // The rules here read telemetry only: the events are kept out of the engine, but the failure is noted.
  const played = playVirtual({ spec, place, seed, from, until, intervalMs, decay, events: () => false });
  const failedAt = decay ? played.events.find((e) => e.type === failure && e.at >= decay.onset)?.at : undefined;
  const device = { id: spec.id, kind: spec.kind, site: spec.site, zone: spec.zone, tags: spec.tags, online: true, lastSeen: from };
  const outcomes = simulateRules(pack, played.messages, [device], { timeZone: place.timeZone, from, until, log: createLogger('silent') });
  const raises = outcomes.flatMap((o) => (o.kind === 'raised' && !o.repeat ? [{ rule: ruleOf(pack, o.type), at: o.at }] : []));
  return { spec, decay, failedAt, raises };
}

function ruleOf(pack: Rule[], type: string): string {
  return pack.find((r) => r.alarm?.type === type)?.id ?? type;
}

const hours = (ms: number) => ms / 3_600_000;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function fmt(h: number | undefined): string {
  if (h === undefined) return '–';
  return h >= 48 ? `${(h / 24).toFixed(1)} d` : `${h.toFixed(1)} h`;
}

function report(results: DeviceResult[], pack: Rule[], measuredFrom: number, until: number): string {
  const missed: string[] = [];
  const lines = [
    '| rule | slow fault | warned / decayed | lead min | lead median | lead p90 | false alarms | healthy device-weeks | false alarms per device-week |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const rule of pack) {
    const kinds = rule.match?.kind ?? [];
    const covered = results.filter((r) => kinds.length === 0 || kinds.includes(r.spec.kind));
    const targets = TARGETS[rule.id] ?? [];
    const leads: number[] = [];
    let decayed = 0;
    for (const r of covered.filter((c) => c.decay && targets.includes(c.decay.name) && c.failedAt !== undefined)) {
      decayed++;
      const first = r.raises.find((w) => w.rule === rule.id && w.at >= r.decay!.onset && w.at <= r.failedAt!);
      if (first) leads.push(hours(r.failedAt! - first.at));
      else missed.push(`${rule.id}: ${r.spec.id}`);
    }
    // Healthy time after the warm-up: the whole of a healthy device's, a decaying one's until its onset.
    let healthyMs = 0;
    let falseAlarms = 0;
    for (const r of covered) {
      const healthyUntil = r.decay ? Math.min(until, r.decay.onset) : until;
      healthyMs += Math.max(0, healthyUntil - measuredFrom);
      falseAlarms += r.raises.filter((w) => w.rule === rule.id && w.at >= measuredFrom && w.at < healthyUntil).length;
    }
    leads.sort((a, b) => a - b);
    const weeks = healthyMs / WEEK;
    lines.push(
      `| ${rule.id} | ${targets.join(', ') || '(none: false alarms only)'} | ${targets.length ? `${leads.length} / ${decayed}` : '–'} | ` +
        `${fmt(leads[0])} | ${fmt(leads.length ? quantile(leads, 0.5) : undefined)} | ${fmt(leads.length ? quantile(leads, 0.9) : undefined)} | ` +
        `${falseAlarms} | ${weeks.toFixed(1)} | ${weeks > 0 ? (falseAlarms / weeks).toFixed(3) : '–'} |`,
    );
  }
  if (missed.length > 0) lines.push('', `Missed (no warning between the onset and the failure): ${missed.join('; ')}.`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const pack = await rules();
  const { specs, place } = await devices();
  const intervalMs = parseDuration(args.interval!)!;
  const warmupMs = parseDuration(args.warmup!)!;
  const until = START + Number(args.weeks) * WEEK;
  const measuredFrom = START + warmupMs;
  // Onsets after the warm-up, spread so that the longest decay still fails two days before the end.
  const longest = Math.max(...Object.values(DECAYS).map((d) => d.spanMs));
  const spreadMs = until - measuredFrom - longest - 2 * DAY;
  if (spreadMs <= 0) throw new Error(`--weeks ${args.weeks}: too short for a ${args.warmup} warm-up and a ${longest / DAY}-day decay`);
  const plans = planDecays(specs, { seed: Number(args.seed), fraction: Number(args.fraction), from: measuredFrom, spreadMs });
  const byDevice = new Map(plans.map((p) => [p.device, p]));
  log(`${specs.length} devices, ${plans.length} decaying, ${args.weeks} weeks at one reading every ${args.interval}`);
  const started = Date.now();
  const results: DeviceResult[] = [];
  for (const [i, spec] of specs.entries()) {
    const kinds = new Set(pack.flatMap((r) => r.match?.kind ?? []));
    if (!kinds.has(spec.kind)) continue;
    results.push(runDevice(spec, place, pack, byDevice.get(spec.id), START, until, intervalMs));
    if ((i + 1) % 20 === 0) log(`${i + 1}/${specs.length} devices played`);
  }
  const unfailed = results.filter((r) => r.decay && r.failedAt === undefined).map((r) => r.spec.id);
  const lines = [
    `# prediction lead time: ${results.length} devices (${plans.length} decaying), ${args.weeks} weeks of virtual time, ` +
      `a reading every ${args.interval}, warm-up ${args.warmup}, seed ${args.seed}, ${new Date().toISOString()}`,
    '',
    report(results, pack, measuredFrom, until),
    '',
    `Decays: ${Object.entries(countBy(plans.map((p) => p.name))).map(([n, c]) => `${n} ${c}`).join(', ')}` +
      (unfailed.length ? `; not failed by the end: ${unfailed.join(', ')}` : '') +
      `. Played and evaluated in ${((Date.now() - started) / 1000).toFixed(0)} s.`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function countBy(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

await main();
