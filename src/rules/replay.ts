/**
 * `POST /api/rules/test`: what a rule would have done over a stretch of stored history, with no side effect.
 * The history is read by an injected function (gateway.ts reads InfluxDB); the replay is simulateRule.
 */
import { KIND_NAMES, KINDS } from '../devices/kinds/index.js';
import type { DeviceMessage, HistoryNeed } from '../devices/kinds/messages.js';
import type { RuleDevice } from './actions.js';
import { referencedNames, type Rule } from './schema.js';
import { simulateRule, type SimOutcome } from './simulate.js';


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

/** Replays `rule` over the stored messages between `from` and `to` (epoch ms). */
export async function testRule(rule: Rule, from: number, to: number, deps: RuleTestDeps): Promise<RuleTestResult> {
  const { messages, truncated } = await deps.history(historyNeed(rule), from, to);
  // The devices as they were at `from`: nothing seen yet, so `absent` counts from their first message.
  const devices = deps.devices().map((d) => ({ ...d, online: true, lastSeen: null }));
  const outcomes = simulateRule(rule, messages, devices, { timeZone: deps.timeZone, from, until: to });
  return {
    rule: rule.id,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    messages: messages.length,
    truncated,
    outcomes: outcomes.map((o) => ({ ...o, at: new Date(o.at).toISOString() })),
  };
}
