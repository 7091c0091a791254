/**
 * The default pack's prediction rules (rules/prediction.yaml) on the simulators' slow faults (devices/sim/decay.ts):
 * each rule warns between the fault's onset and the failure event, and stays quiet on the same device when it is
 * healthy. The device lives days of virtual time through its model (devices/runtime/virtual-player.ts) and the
 * real rule engine (`simulateRules`); the anomaly rules learn their baselines from the warm-up live, as a gateway
 * started with an empty InfluxDB would. bench/lead-time.ts measures the same over many devices and weeks.
 */
import { describe, expect, it } from 'vitest';
import { readRules } from '../../../src/rules/loader.js';
import { simulateRules } from '../../../src/rules/simulate.js';
import type { DeviceSpec } from '../../../devices/models/index.js';
import { playVirtual } from '../../../devices/runtime/virtual-player.js';
import { DECAYS, decayFrom, type DecayName } from '../../../devices/sim/decay.js';
import { expandSite, loadSite, placeOf } from '../../../devices/site.js';

const DAY = 86_400_000;
/** A Monday at midnight at the demo site (Asia/Shanghai). */
const START = Date.parse('2026-09-07T00:00:00+08:00');
/** The baselines' history before the fault starts: past the 3 days an anomaly rule needs, and a weekend. */
const WARM_UP = 8 * DAY;

const site = await loadSite('devices/sites/demo.yaml');
const place = placeOf(site);
const specs = expandSite(site);
const pack = (await readRules('rules')).rules.filter((r) => r.file.endsWith('prediction.yaml')).map((r) => r.rule);

const pick = (kind: string, role?: string): DeviceSpec => specs.find((s) => s.kind === kind && (role === undefined || s.tags.role === role))!;

const CASES: Array<{ rule: string; fault: DecayName; device: () => DeviceSpec }> = [
  { rule: 'lamp-driver-ageing', fault: 'lamp-decay', device: () => pick('lighting', 'street') },
  { rule: 'pump-current-high', fault: 'pump-decay', device: () => pick('water') },
  { rule: 'tank-dry-forecast', fault: 'inlet-decay', device: () => pick('water') },
  { rule: 'night-water-flow-high', fault: 'leak-decay', device: () => pick('water') },
  { rule: 'transformer-temperature-forecast', fault: 'transformer-decay', device: () => pick('power') },
];

/** The raises of `rule` on `spec` played from START for the warm-up, the fault's span and a day, with or without it. */
function play(rule: string, spec: DeviceSpec, fault: DecayName, decaying: boolean) {
  const onset = START + WARM_UP;
  const decay = decaying ? decayFrom(fault, onset) : undefined;
  const until = onset + DECAYS[fault].spanMs + DAY;
  const played = playVirtual({ spec, place, seed: 1, from: START, until, intervalMs: 2 * 60_000, decay, events: () => false });
  const device = { id: spec.id, kind: spec.kind, site: spec.site, zone: spec.zone, tags: spec.tags, online: true, lastSeen: START };
  const type = pack.find((r) => r.id === rule)!.alarm!.type;
  const out = simulateRules(pack, played.messages, [device], { timeZone: place.timeZone, from: START, until });
  const failedAt = played.events.find((e) => e.type === DECAYS[fault].failure && e.at >= onset)?.at;
  return { onset, failedAt, raised: out.filter((o) => o.kind === 'raised' && o.type === type && !o.repeat).map((o) => o.at) };
}

describe("the default pack's prediction rules on the simulators' slow faults", () => {
  it('has a case here for every prediction rule that a slow fault is meant for', () => {
    expect(pack.map((r) => r.id).sort()).toStrictEqual([...CASES.map((c) => c.rule), 'night-base-load-high'].sort());
  });

  it.each(CASES)('$rule warns before the $fault failure and is quiet on the healthy device', ({ rule, fault, device }) => {
    const spec = device();
    const sick = play(rule, spec, fault, true);
    expect(sick.failedAt, 'the fault ends in its failure event').toBeDefined();
    const warned = sick.raised.find((at) => at >= sick.onset && at < sick.failedAt!);
    expect(warned, `${rule}: a warning between the onset and the failure`).toBeDefined();
    expect(sick.raised.filter((at) => at < sick.onset), 'nothing before the onset').toStrictEqual([]);
    expect(play(rule, spec, fault, false).raised, 'the same device, healthy').toStrictEqual([]);
  }, 60_000);
});
