import { randomBytes } from 'node:crypto';

let lastIdMs = 0;
let idSeq = 0;

/**
 * A unique id that sorts by creation time: `prefix-` + epoch ms (base 36, 9 digits), a sequence within the
 * millisecond, and 32 random bits (so ids of two gateways, or of a restarted one, never collide).
 */
export function sortableId(prefix: string, now = Date.now()): string {
  idSeq = now === lastIdMs ? idSeq + 1 : 0;
  lastIdMs = now;
  return `${prefix}-${now.toString(36).padStart(9, '0')}${idSeq.toString(36).padStart(2, '0')}${randomBytes(4).toString('hex')}`;
}
