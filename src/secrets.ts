import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new random secret: 192 bits, URL-safe. */
export function newSecret(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * The stored form of a secret. The gateway issues every secret itself, with 192 bits of entropy, so a
 * fast hash is enough: nothing can be guessed from it, and a thousand devices reconnecting at once do
 * not queue behind a deliberately slow KDF (the reasoning behind hashed API tokens elsewhere).
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Compares a presented secret with a stored hash in constant time. */
export function secretMatches(secret: string | Buffer | undefined, hash: string | undefined): boolean {
  if (secret === undefined || hash === undefined) return false;
  const presented = createHash('sha256').update(secret).digest();
  const stored = Buffer.from(hash, 'hex');
  return stored.length === presented.length && timingSafeEqual(presented, stored);
}
