import { breaksRule, fieldRules, type FieldRule, type Verdict } from './fuzz-oracle.js';

/** A message the run sent, as the ledger remembers it. */
export interface Sent {
  device: string;
  topic: string;
  /** The payload's first bytes, for failure messages. */
  preview: string;
  /** The names a reason may start with: the payload's keys and the fields of the kind's schemas. */
  keys?: string[];
  verdict: Verdict;
}

interface Point {
  fields: Record<string, unknown>;
  /** Messages that wrote this point (InfluxDB merges points of one series and time). */
  writes: number;
  preview: string;
}

/** Columns of an InfluxQL row that are not fields. */
const NOT_FIELDS = new Set(['time', 'device', 'site', 'zone', 'kind', 'type']);

const wellFormed = (s: string): string => (s as string & { toWellFormed(): string }).toWellFormed();

/**
 * What the run sent and what InfluxDB and the rejected topic must therefore show: per device and measurement
 * the points by series key (`time`, or `type@time` for events), the count of points at receive time, and the
 * refusals in the order they were sent.
 */
export class Ledger {
  readonly points = new Map<string, Map<string, Point>>();
  readonly untimed = new Map<string, number>();
  readonly refusals = new Map<string, Sent[]>();
  accepted = 0;
  refused = 0;

  note(measurement: string, sent: Sent): void {
    const { verdict, device } = sent;
    if (!verdict.ok) {
      this.refused++;
      const list = this.refusals.get(device) ?? [];
      list.push(sent);
      this.refusals.set(device, list);
      return;
    }
    this.accepted++;
    const series = `${measurement}|${device}`;
    if (verdict.ms === undefined) {
      this.untimed.set(series, (this.untimed.get(series) ?? 0) + 1);
      return;
    }
    const key = verdict.type === undefined ? String(verdict.ms) : `${verdict.type}@${verdict.ms}`;
    const points = this.points.get(series) ?? new Map<string, Point>();
    const known = points.get(key);
    points.set(key, { fields: verdict.fields, writes: (known?.writes ?? 0) + 1, preview: sent.preview });
    this.points.set(series, points);
  }

  /** Every (measurement, device) the run expects points for. */
  series(): string[] {
    return [...new Set([...this.points.keys(), ...this.untimed.keys()])];
  }
}

/** Where the stored rows of one device and measurement differ from the ledger, as readable lines. */
export function compareStored(ledger: Ledger, measurement: string, device: string, rows: Array<Record<string, unknown>>): string[] {
  const problems: string[] = [];
  const rules = fieldRules(measurement as Parameters<typeof fieldRules>[0]);
  for (const row of rows) problems.push(...ruleProblems(row, rules, device));
  const series = `${measurement}|${device}`;
  const untimed = ledger.untimed.get(series);
  if (untimed !== undefined) {
    if (rows.length !== untimed) problems.push(`${series}: ${rows.length} points stored, ${untimed} valid messages sent`);
    return problems;
  }
  const expected = ledger.points.get(series) ?? new Map<string, Point>();
  const stored = new Map(rows.map((r) => [measurement === 'events' ? `${String(r.type)}@${String(r.time)}` : String(r.time), r]));
  for (const [key, point] of expected) {
    const row = stored.get(key);
    if (!row) problems.push(`${series}: valid message not stored (${key}): ${point.preview}`);
    else if (point.writes === 1) problems.push(...valueProblems(series, key, row, point));
  }
  for (const key of stored.keys()) if (!expected.has(key)) problems.push(`${series}: a point no valid message made (${key})`);
  return problems;
}

function ruleProblems(row: Record<string, unknown>, rules: Record<string, FieldRule>, device: string): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(row)) {
    if (NOT_FIELDS.has(name) || value === null) continue;
    const broken = breaksRule(value, rules[name]);
    if (broken) out.push(`${device} @${String(row.time)}: ${name}=${JSON.stringify(value)} is ${broken}`);
  }
  return out;
}

function valueProblems(series: string, key: string, row: Record<string, unknown>, point: Point): string[] {
  const stored = Object.fromEntries(Object.entries(row).filter(([k, v]) => !NOT_FIELDS.has(k) && v !== null));
  const expected = Object.fromEntries(Object.entries(point.fields).map(([k, v]) => [k, typeof v === 'string' ? wellFormed(v) : v]));
  const names = new Set([...Object.keys(stored), ...Object.keys(expected)]);
  // `===`, not Object.is: a -0 reading is stored and read back as 0.
  const differ = [...names].filter((n) => stored[n] !== expected[n]);
  return differ.length === 0 ? [] : [`${series} ${key}: stored ${JSON.stringify(stored)}, sent ${JSON.stringify(expected)} (${point.preview})`];
}

/** The "at least one measurement" rule names every field of the kind instead of one. */
const AT_LEAST_ONE = 'at least one measurement field is required';

/** Whether a published refusal is for this message and has the reason the oracle knows, or probably gives. */
function fits(sent: Sent, got: Refusal, strong: boolean): boolean {
  const { verdict } = sent;
  if (verdict.ok || got.topic !== sent.topic || got.device !== sent.device) return false;
  if (!strong) return true;
  const reason = typeof got.reason === 'string' ? got.reason : '';
  if (verdict.reasons) return verdict.reasons.includes(reason);
  if (verdict.prefix) return reason.startsWith(verdict.prefix);
  return verdict.likely?.some((start) => reason.startsWith(start)) ?? false;
}

/** Where a published refusal differs from what the oracle expects of it. */
export function reasonProblem(sent: Sent, got: Refusal): string | undefined {
  const { verdict } = sent;
  const reason = typeof got.reason === 'string' ? got.reason : '';
  const what = `${sent.device} ${sent.preview}: reason ${JSON.stringify(got.reason)}`;
  if (got.topic !== sent.topic || got.device !== sent.device) return `${what}: published for ${String(got.device)} on ${String(got.topic)}`;
  if (verdict.ok) return `${what}: refused, but valid`;
  if (verdict.reasons && !verdict.reasons.includes(reason)) return `${what}: expected one of ${JSON.stringify(verdict.reasons)}`;
  if (verdict.prefix && !reason.startsWith(verdict.prefix)) return `${what}: expected it to start with ${JSON.stringify(verdict.prefix)}`;
  // Contract §2: the reason names the field — a key of the payload (or a path into it), `payload`, `ts` or `type`.
  const names = ['payload', 'ts', 'type', ...(sent.keys ?? [])];
  if (!reason.startsWith(AT_LEAST_ONE) && !names.some((n) => reason.startsWith(`${n}: `) || reason.startsWith(`${n}.`))) {
    return `${what}: names no field`;
  }
  return undefined;
}

const whyOf = (s: Sent): string => (s.verdict.ok ? 'valid' : s.verdict.why);

/** A refusal as published on `{site}/gateway/rejected`. */
export type Refusal = { topic?: unknown; device?: unknown; reason?: unknown };

/** How far beyond their difference in length the two sequences may drift apart while being lined up. */
const BAND = 48;
const SKIP = 3;

function pairCost(sent: Sent, got: Refusal): number {
  // A reason known only by its prefix fits many refusals: when that is all there is, prefer the other pairing.
  if (fits(sent, got, true)) return !sent.verdict.ok && sent.verdict.prefix ? 0.1 : 0;
  return fits(sent, got, false) ? 1 : 2 * SKIP + 1;
}

/**
 * Lines up the refusals one device was expected to get with those published, both in send order, and checks
 * each pair's reason. A refusal carries no message id, so the two are aligned like two texts (a banded edit
 * distance): a pair costs nothing when the reason fits what the oracle knows, a message the gateway accepted
 * against the oracle or a refusal the oracle did not expect costs a skip.
 */
export function alignRefusals(sent: Sent[], got: Refusal[]): string[] {
  const n = sent.length;
  const m = got.length;
  const band = BAND + Math.abs(n - m);
  const width = 2 * band + 1;
  const cost = new Float64Array((n + 1) * width).fill(Number.POSITIVE_INFINITY);
  const move = new Uint8Array((n + 1) * width); // 1 pair, 2 skip a sent message, 3 skip a published refusal
  const at = (i: number, j: number) => i * width + (j - i + band);
  const inBand = (i: number, j: number) => j >= 0 && j <= m && Math.abs(j - i) <= band;
  cost[at(0, 0)] = 0;
  for (let i = 0; i <= n; i++) {
    for (let j = Math.max(0, i - band); j <= Math.min(m, i + band); j++) {
      const here = at(i, j);
      const relax = (from: number, c: number, how: number) => {
        if (c < cost[here]) (cost[here] = c), (move[here] = how);
      };
      if (i > 0 && j > 0 && inBand(i - 1, j - 1)) relax(at(i - 1, j - 1), cost[at(i - 1, j - 1)] + pairCost(sent[i - 1], got[j - 1]), 1);
      if (i > 0 && inBand(i - 1, j)) relax(at(i - 1, j), cost[at(i - 1, j)] + SKIP, 2);
      if (j > 0 && inBand(i, j - 1)) relax(at(i, j - 1), cost[at(i, j - 1)] + SKIP, 3);
    }
  }
  const problems: string[] = [];
  for (let i = n, j = m; i > 0 || j > 0; ) {
    const how = move[at(i, j)];
    if (how === 1) {
      const p = reasonProblem(sent[--i], got[--j]);
      if (p) problems.push(p);
    } else if (how === 2) {
      i--;
      problems.push(`${sent[i].device} ${sent[i].preview}: accepted, but the oracle refuses it (${whyOf(sent[i])})`);
    } else {
      j--;
      problems.push(`${String(got[j].device)} on ${String(got[j].topic)}: refusal ${JSON.stringify(got[j].reason)} the oracle does not expect`);
    }
  }
  return problems.reverse();
}

const CATEGORIES: Array<[RegExp, string]> = [
  [/^metrics /, 'metrics differ from the oracle'],
  [/accepted, but the oracle refuses it \((.+)\)$/, 'accepted, but the oracle refuses it: $1'],
  [/the oracle does not expect$/, 'refused, but the oracle accepts it'],
  [/names no field$/, 'the reason names no field'],
  [/: expected (one of|it to start with) /, 'a reason other than the known one'],
  [/: published for /, 'a refusal published for another device or topic'],
  [/valid message not stored/, 'a valid message not stored'],
  [/a point no valid message made/, 'a point no valid message made'],
  [/: stored .*, sent /s, 'a stored value differs from the one sent'],
  [/ is (not a|outside|a field no)/, 'a stored field breaks its schema'],
  [/good device/, 'the good device lost readings'],
  [/did not settle/, 'InfluxDB writes did not settle'],
];

/** Problems grouped by what went wrong, each with its count and its first three examples: a failure reads at a glance. */
export function summarise(problems: string[]): Record<string, { count: number; examples: string[] }> {
  const out: Record<string, { count: number; examples: string[] }> = {};
  for (const p of problems) {
    const hit = CATEGORIES.find(([re]) => re.test(p));
    const key = hit ? p.replace(new RegExp(`^.*?${hit[0].source}.*$`, 's'), hit[1]) : 'other';
    const group = (out[key] ??= { count: 0, examples: [] });
    group.count++;
    if (group.examples.length < 3) group.examples.push(p.length > 300 ? `${p.slice(0, 300)}…` : p);
  }
  return out;
}
