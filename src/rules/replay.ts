/**
 * `POST /api/rules/test`: what a rule would have done over a stretch of stored history, with no side effect.
 * The history is read by an injected function (gateway.ts reads InfluxDB); the replay is simulateRule.
 */
import { KIND_NAMES, KINDS, type KindName } from '../devices/kinds/index.js';
import type { DeviceMessage, HistoryNeed } from '../devices/kinds/messages.js';
import type { RuleDevice } from './actions.js';
import { referencedNames, type Rule } from './schema.js';
import { simulateRule, type SimOptions, type SimOutcome } from './simulate.js';
import { historyPerHour } from './conditions/anomaly.js';
import type { HistoryQuery, HistoryReading } from './conditions/types.js';
import { devicesMatching } from './match.js';


export interface RuleTestResult {
  rule: string;
  from: string;
  to: string;
  /** Stored messages replayed. */
  messages: number;
  /** The per-measurement row limit was hit: the replay covers less than the range asked. */
  truncated: boolean;
  outcomes: Array<Omit<SimOutcome, 'at'> & { at: string }>;
}

export interface RuleTestDeps {
  history(need: HistoryNeed, from: number, to: number): Promise<{ messages: DeviceMessage[]; truncated: boolean }>;
  /** The stored readings an anomaly baseline learns from (the live rules' reader); without it, none are read. */
  baselines?: (q: HistoryQuery) => Promise<HistoryReading[]>;
  devices(): RuleDevice[];
  timeZone: string;
}

/** What `rule` reads from history. */
export function historyNeed(rule: Rule): HistoryNeed {
  const refs = referencedNames(rule.when);
  const fields = [...new Set(refs.filter((r) => r.what === 'telemetry').map((r) => r.name))];
  const events = [...new Set(refs.filter((r) => r.what === 'event').map((r) => r.name))];
  const everything = rule.when.form === 'absent';
  const candidates = rule.match.kind ?? [...KIND_NAMES];
  // Only the kinds that have one of the fields or event types: a fire rule does not read the lighting table.
  const kinds = everything
    ? candidates
    : candidates.filter((k) => fields.some((f) => KINDS[k].fields.includes(f)) || events.some((e) => e in KINDS[k].events));
  return { kinds, fields, events, everything, sites: rule.match.site, devices: rule.match.devices };
}

/** History reads at once while a test gathers its baselines. */
const BASELINE_READS_AT_ONCE = 4;

/**
 * contract §13: an anomaly rule's baselines learn from the history before the tested stretch, as the live rule
 * learns from the history before it starts. Read here for every device the test may meet (covered and of a kind
 * with the field, or in the messages), then answered at once to the replay, which stays synchronous.
 */
async function baselinesBefore(rule: Rule, from: number, messages: readonly DeviceMessage[], devices: readonly RuleDevice[], deps: RuleTestDeps): Promise<SimOptions['history']> {
  const when = rule.when;
  const read = deps.baselines;
  if (when.form !== 'anomaly' || !read) return undefined;
  const targets = new Map<string, { site: string; kind: string }>();
  for (const d of devicesMatching(rule.match, devices)) {
    if (d.kind in KINDS && KINDS[d.kind as KindName].fields.includes(when.telemetry)) targets.set(d.id, d);
  }
  for (const m of messages) if (m.telemetry && when.telemetry in m.telemetry) targets.set(m.device, m);
  const perHour = historyPerHour(when);
  const rows = new Map<string, HistoryReading[]>();
  const queue = [...targets];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [device, { site, kind }] = next;
      rows.set(device, await read({ site, kind, device, field: when.telemetry, from: from - when.baselineMs, to: from, perHour, where: when.where }));
    }
  };
  await Promise.all(Array.from({ length: BASELINE_READS_AT_ONCE }, worker));
  return (q) => (rows.get(q.device) ?? []).filter(([ts]) => ts >= q.from && ts < q.to);
}

/** Replays `rule` over the stored messages between `from` and `to` (epoch ms). */
export async function testRule(rule: Rule, from: number, to: number, deps: RuleTestDeps): Promise<RuleTestResult> {
  const { messages, truncated } = await deps.history(historyNeed(rule), from, to);
  // The devices as they were at `from`: nothing seen yet, so `absent` counts from their first message.
  const devices = deps.devices().map((d) => ({ ...d, online: true, lastSeen: null }));
  const history = await baselinesBefore(rule, from, messages, devices, deps);
  const outcomes = simulateRule(rule, messages, devices, { timeZone: deps.timeZone, from, until: to, history });
  return {
    rule: rule.id,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    messages: messages.length,
    truncated,
    outcomes: outcomes.map((o) => ({ ...o, at: new Date(o.at).toISOString() })),
  };
}
