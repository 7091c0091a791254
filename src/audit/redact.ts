/**
 * What the audit trail keeps of a request body (contract §15): every field but the secret-looking ones, so the
 * trail says what changed without ever holding a password, a token or a key.
 */

/** Field names that hold, or may hold, a secret: dropped with their whole value wherever they appear. */
const SECRET_FIELD = /pass(word|phrase)?|pwd|token|secret|key|credential|auth|cookie|signature|hash|private|cert/i;

/** A body larger than this (as JSON) is kept as its field names only: the trail is no copy of bulk uploads. */
export const MAX_CHANGES_BYTES = 16 * 1024;

/** Nesting kept; deeper values are replaced by `"[nested]"`. */
const MAX_DEPTH = 8;

/** A reference, not a secret (`tokenId`, `key_id`): kept. */
const REFERENCE_FIELD = /(Id|_id|Ids|_ids)$/;

/** Whether a field of this name is dropped from the trail. */
export function isSecretField(name: string): boolean {
  return SECRET_FIELD.test(name) && !REFERENCE_FIELD.test(name);
}

/** A copy of `value` without the secret-looking fields, at any depth; undefined for nothing worth keeping. */
export function withoutSecrets(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[nested]';
  if (Array.isArray(value)) return value.map((v) => withoutSecrets(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(value)) {
    if (isSecretField(name)) continue;
    out[name] = withoutSecrets(v, depth + 1);
  }
  return out;
}

/**
 * The `changes` JSON stored for a record: the value without secrets, or, past `MAX_CHANGES_BYTES`, a note of its
 * size and top-level fields. Undefined when there is nothing (no body, an empty object).
 */
export function changesJson(changes: Record<string, unknown> | undefined): string | undefined {
  if (changes === undefined) return undefined;
  const clean = withoutSecrets(changes) as Record<string, unknown>;
  if (Object.keys(clean).length === 0) return undefined;
  const text = JSON.stringify(clean);
  if (text.length <= MAX_CHANGES_BYTES) return text;
  return JSON.stringify({ truncated: true, bytes: text.length, fields: Object.keys(clean).slice(0, 100) });
}
