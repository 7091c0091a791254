/**
 * Commands from headquarters (issue 6): who may send them. MQTT does not tell a subscriber who published a
 * message, so trust rests on the central broker's ACL and on an HMAC-SHA256 over the message, keyed by the
 * secret of the account named in `by` (UPSTREAM_TRUSTED). This file holds the checks; sending is elsewhere.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { DEVICE_ID_RE, SITE_RE } from '../topics.js';

/** How far a command's `ts` may be from the gateway's clock. */
export const MAX_SKEW_MS = 5 * 60_000;
/** How long a command id is remembered, to refuse it when it comes again. */
export const REPLAY_WINDOW_MS = 60 * 60_000;
/** Ids remembered at most; beyond it the oldest go (they are older than MAX_SKEW_MS long before that matters). */
const MAX_REMEMBERED = 100_000;

const SIG_RE = /^[0-9a-f]{64}$/i;

/** A command once it is trusted. */
export const HqCommandSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'letters, digits, _ . : - (1 to 128)'),
  /** The site it is meant for: it must be the site of the topic it came on (else a signed command could be replayed to another site). */
  site: z.string().regex(SITE_RE),
  device: z.string().regex(DEVICE_ID_RE),
  action: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - (1 to 64)'),
  params: z.record(z.string(), z.unknown()).optional(),
  by: z.string(),
  /** Epoch milliseconds, or ISO-8601 with an offset. */
  ts: z.union([z.number().int().nonnegative(), z.iso.datetime({ offset: true })]),
  sig: z.string(),
});
export type HqCommand = z.infer<typeof HqCommandSchema>;

/** Why a command was refused, as `gateway_upstream_commands_total{outcome}` counts it. */
export type RefusedOutcome = 'invalid' | 'untrusted' | 'stale' | 'replayed';

export type Verdict = { ok: true; command: HqCommand } | { ok: false; outcome: RefusedOutcome; reason: string; by?: string; id?: string };

/**
 * RFC 8785 (JCS) for values parsed from JSON: object keys sorted by UTF-16 code units, no whitespace,
 * strings and numbers as ECMAScript's JSON.stringify writes them, arrays in their order.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The `sig` of a message: HMAC-SHA256, hex, over the canonical JSON of the message without `sig`. */
export function signCommand(message: Record<string, unknown>, secret: string): string {
  const { sig: _sig, ...unsigned } = message;
  return createHmac('sha256', secret).update(canonicalJson(unsigned), 'utf8').digest('hex');
}

/** Checks commands: JSON object → trusted account → signature → fields → site → time → not seen before. */
export class CommandVerifier {
  /** Command id → when it may be forgotten; insertion order is time order. */
  private readonly seen = new Map<string, number>();

  constructor(private readonly trusted: Readonly<Record<string, string>>) {}

  verify(site: string, payload: Buffer | string, now = Date.now()): Verdict {
    let raw: unknown;
    try {
      raw = JSON.parse(payload.toString());
    } catch {
      // The verdict says it: nothing more to learn from a parser's message about untrusted bytes.
      return { ok: false, outcome: 'invalid', reason: 'not JSON' };
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, outcome: 'invalid', reason: 'not a JSON object' };
    const msg = raw as Record<string, unknown>;
    const by = typeof msg.by === 'string' ? msg.by : undefined;
    const id = typeof msg.id === 'string' ? msg.id.slice(0, 128) : undefined;
    const refuse = (outcome: RefusedOutcome, reason: string): Verdict => ({ ok: false, outcome, reason, by, id });
    const secret = by !== undefined && Object.hasOwn(this.trusted, by) ? this.trusted[by] : undefined;
    if (secret === undefined) return refuse('untrusted', by === undefined ? 'by: missing' : 'by: not a trusted account');
    if (typeof msg.sig !== 'string' || !SIG_RE.test(msg.sig)) return refuse('untrusted', 'sig: missing or not 64 hex digits');
    const expected = Buffer.from(signCommand(msg, secret), 'hex');
    if (!timingSafeEqual(Buffer.from(msg.sig, 'hex'), expected)) return refuse('untrusted', 'sig: does not match');
    const parsed = HqCommandSchema.safeParse(msg);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return refuse('invalid', `${issue.path.join('.') || 'message'}: ${issue.message}`);
    }
    const command = parsed.data;
    if (command.site !== site) return refuse('invalid', `site: ${command.site} is not the site of the topic (${site})`);
    const ts = typeof command.ts === 'number' ? command.ts : Date.parse(command.ts);
    if (Math.abs(now - ts) > MAX_SKEW_MS) return refuse('stale', `ts: more than ${MAX_SKEW_MS / 60_000} minutes from the gateway's clock`);
    this.forget(now);
    if (this.seen.has(command.id)) return refuse('replayed', 'id: seen within the last hour');
    if (this.seen.size >= MAX_REMEMBERED) this.seen.delete(this.seen.keys().next().value as string);
    this.seen.set(command.id, now + REPLAY_WINDOW_MS);
    return { ok: true, command };
  }

  /** Drops the ids whose hour has passed. */
  private forget(now: number): void {
    for (const [id, until] of this.seen) {
      if (until > now) break;
      this.seen.delete(id);
    }
  }
}
