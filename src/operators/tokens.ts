import { NotFoundError } from '../errors.js';
import { hashSecret, newSecret } from '../secrets.js';
import type { StateStore } from '../storage/state/store.js';

/** An operator's API token as listed: never its secret, which is shown once when it is issued. */
export interface TokenRecord {
  id: string;
  operator: string;
  createdAt: number;
  /** Epoch ms; null: it does not expire. */
  expiresAt: number | null;
  revokedAt: number | null;
  /** Epoch ms, to the minute (LAST_USED_RESOLUTION_MS); null: never used. */
  lastUsedAt: number | null;
}

/** What a presented token is: an operator's live token, one that no longer works and why, or nobody's. */
export type TokenLookup = { found: 'live'; token: TokenRecord } | { found: 'dead'; token: TokenRecord; why: 'revoked' | 'expired' } | { found: 'none' };

interface TokenRow {
  id: string;
  operator: string;
  hash: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

/**
 * `last_used_at` is written at most once a minute per token: every request would otherwise cost the store a
 * synchronous write (synchronous = FULL).
 */
export const LAST_USED_RESOLUTION_MS = 60_000;

/** The operators' API tokens (table `operator_tokens`), stored hashed. */
export class OperatorTokens {
  constructor(private readonly store: StateStore) {}

  /** Issues a token for `operator`; `expiresInMs` undefined: it never expires. The secret is returned once. */
  issue(operator: string, expiresInMs?: number, now = Date.now()): { token: TokenRecord; secret: string } {
    const secret = newSecret();
    const token: TokenRecord = {
      id: `tok-${newSecret().slice(0, 12).replace(/[^A-Za-z0-9]/g, 'x')}`,
      operator,
      createdAt: now,
      expiresAt: expiresInMs === undefined ? null : now + expiresInMs,
      revokedAt: null,
      lastUsedAt: null,
    };
    this.store.db
      .prepare('INSERT INTO operator_tokens (id, operator, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)')
      .run(token.id, operator, hashSecret(secret), token.createdAt, token.expiresAt);
    return { token, secret };
  }

  /** The operator's tokens, oldest first (revoked and expired ones too, until the operator is deleted). */
  list(operator: string): TokenRecord[] {
    const rows = this.store.db.prepare('SELECT * FROM operator_tokens WHERE operator = ? ORDER BY created_at, id').all(operator) as TokenRow[];
    return rows.map(fromRow);
  }

  /** Revokes one of the operator's tokens; revoking a revoked one answers it as it is. */
  revoke(operator: string, id: string, now = Date.now()): TokenRecord {
    const row = this.store.db.prepare('SELECT * FROM operator_tokens WHERE id = ? AND operator = ?').get(id, operator) as TokenRow | undefined;
    if (!row) throw new NotFoundError('token', id);
    if (row.revoked_at === null) {
      this.store.db.prepare('UPDATE operator_tokens SET revoked_at = ? WHERE id = ?').run(now, id);
      row.revoked_at = now;
    }
    return fromRow(row);
  }

  /** Looks a presented secret up; a live token's last use is noted (to the minute). */
  lookup(secret: string, now = Date.now()): TokenLookup {
    const row = this.store.db.prepare('SELECT * FROM operator_tokens WHERE hash = ?').get(hashSecret(secret)) as TokenRow | undefined;
    if (!row) return { found: 'none' };
    if (row.revoked_at !== null) return { found: 'dead', token: fromRow(row), why: 'revoked' };
    if (row.expires_at !== null && row.expires_at <= now) return { found: 'dead', token: fromRow(row), why: 'expired' };
    if (row.last_used_at === null || now - row.last_used_at >= LAST_USED_RESOLUTION_MS) {
      this.store.db.prepare('UPDATE operator_tokens SET last_used_at = ? WHERE id = ?').run(now, row.id);
      row.last_used_at = now;
    }
    return { found: 'live', token: fromRow(row) };
  }

  /** Removes every token of a deleted operator. */
  removeAll(operator: string): void {
    this.store.db.prepare('DELETE FROM operator_tokens WHERE operator = ?').run(operator);
  }
}

function fromRow(row: TokenRow): TokenRecord {
  return {
    id: row.id,
    operator: row.operator,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  };
}
