import { parseIsoTs } from '../devices/kinds/common.js';

/** How far ahead of the gateway's clock a device's `ts` may be (contract §2). */
export const MAX_FUTURE_MS = 5 * 60_000;

/** The point's time in epoch ms: the device's `ts` (number or ISO-8601), else the receive time. */
export function resolveTs(ts: number | string | undefined, now: number): { ok: true; ms: number } | { ok: false; reason: string } {
  if (ts === undefined) return { ok: true, ms: now };
  const ms = typeof ts === 'number' ? Math.round(ts) : parseIsoTs(ts);
  if (!Number.isFinite(ms)) return { ok: false, reason: 'ts: not a valid time' };
  if (ms > now + MAX_FUTURE_MS) return { ok: false, reason: 'ts: more than 5 minutes in the future' };
  if (ms < 0) return { ok: false, reason: 'ts: before 1970-01-01T00:00:00Z' };
  return { ok: true, ms };
}
