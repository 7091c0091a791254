import { KIND_NAMES } from '../../src/devices/kinds/index.js';
import { eventually } from './gateway.js';
import { alignRefusals, compareStored, type Ledger, type Refusal } from './fuzz-ledger.js';
import type { FuzzRig } from './fuzz-rig.js';

/** The message counters the payload fuzz checks, as differences from `before`. */
async function counted(rig: FuzzRig, before: Record<string, number>) {
  const m = await rig.metrics();
  const delta = (name: string) => (m[name] ?? 0) - (before[name] ?? 0);
  return {
    accepted: delta('gateway_messages_accepted_total'),
    rejected: delta('gateway_messages_rejected_total'),
    failures: delta('gateway_message_failures_total'),
  };
}

/**
 * Where the gateway's counters differ from the ledger: every valid message (and good reading) accepted,
 * every other one rejected, none failing inside the gateway. Waits for QoS 0 messages still in flight.
 */
export async function countProblems(rig: FuzzRig, before: Record<string, number>, ledger: Ledger, goodReadings: number): Promise<string[]> {
  const expected = { accepted: ledger.accepted + goodReadings, rejected: ledger.refused, failures: 0 };
  const total = expected.accepted + expected.rejected;
  await eventually(async () => ((c) => c.accepted + c.rejected >= total)(await counted(rig, before)), 20_000).catch(() => undefined);
  const counts = await counted(rig, before);
  return JSON.stringify(counts) === JSON.stringify(expected) ? [] : [`metrics ${JSON.stringify(counts)}, expected ${JSON.stringify(expected)}`];
}

/** Every refusal published on the rejected topic, in order per device, with the reason the oracle expects. */
export function refusalProblems(ledger: Ledger, seen: Map<string, Refusal[]>): string[] {
  const problems: string[] = [];
  for (const [device, sent] of ledger.refusals) problems.push(...alignRefusals(sent, seen.get(device) ?? []));
  for (const device of seen.keys()) if (!ledger.refusals.has(device)) problems.push(`${device}: refused, but sent nothing invalid`);
  return problems;
}

/** Every row of the kinds' measurements and `events`, by `measurement|device`. */
async function storedRows(rig: FuzzRig): Promise<Map<string, Array<Record<string, unknown>>>> {
  const stored = new Map<string, Array<Record<string, unknown>>>();
  for (const m of [...KIND_NAMES, 'events']) {
    for (const row of await rig.rows(m)) {
      const key = `${m}|${String(row.device)}`;
      stored.set(key, [...(stored.get(key) ?? []), row]);
    }
  }
  return stored;
}

/**
 * Where InfluxDB differs from the ledger: the fuzz devices (`fz-…`) hold exactly their valid messages, every
 * field finite and within its schema's bounds; the good device every reading; no one else anything (the
 * must-show cases' `nf-…` devices aside). QoS 0 points are written in the background, so it reads again
 * until they agree or a few seconds have passed.
 */
export async function storageProblems(rig: FuzzRig, ledger: Ledger, good: { device: string; readings: number }): Promise<string[]> {
  const check = (stored: Map<string, Array<Record<string, unknown>>>): string[] => {
    const found: string[] = [];
    const goodStored = stored.get(`lighting|${good.device}`)?.length ?? 0;
    if (goodStored !== good.readings) found.push(`good device: ${goodStored} readings stored, ${good.readings} acknowledged`);
    const fuzzed = [...stored.keys()].filter((k) => k.split('|')[1].startsWith('fz-') && k !== `lighting|${good.device}`);
    for (const key of new Set([...ledger.series(), ...fuzzed])) {
      const [measurement, device] = key.split('|');
      found.push(...compareStored(ledger, measurement, device, stored.get(key) ?? []));
    }
    for (const key of stored.keys()) if (!/^[a-z]+\|(?:fz|nf)-/.test(key)) found.push(`${key}: points of a device nobody registered`);
    return found;
  };
  // A batch InfluxDB failed (a timeout under load) is spooled, acknowledged, and written when the spool replays
  // (the rig retries every 2 s at most); a spool that does not drain is a problem of its own.
  const held = async () => ((m) => (m.gateway_spool_points ?? 0) + (m.gateway_influx_pending_points ?? 0))(await rig.metrics());
  const drained = await eventually(async () => (await held()) === 0, 20_000, 250).then(() => true, () => false);
  const problems: string[] = drained ? [] : [`InfluxDB writes did not settle: ${await held()} points still spooled or pending after 20 s`];
  let stored: string[] = [];
  await eventually(async () => ((stored = check(await storedRows(rig))), stored.length === 0), 5000, 250).catch(() => undefined);
  return [...problems, ...stored];
}
