import { ConflictError, NotFoundError } from '../errors.js';
import type { Logger } from '../log.js';
import { hashSecret, newSecret, secretMatches } from '../secrets.js';
import type { StateStore } from '../storage/state/store.js';
import type { Role } from './roles.js';
import { OperatorTokens, type TokenRecord } from './tokens.js';

export type { TokenRecord } from './tokens.js';

/**
 * An operator account (contract §3, §15): MQTT read access to its sites' operator topics, API tokens, and a
 * role that says what the API lets it do within those sites. A disabled operator can neither log in over
 * MQTT nor use its tokens.
 */
export interface OperatorRecord {
  id: string;
  name: string;
  sites: string[];
  role: Role;
  disabled: boolean;
  createdAt: number;
}

/** What `update` may change. */
export interface OperatorChange {
  name?: string;
  sites?: string[];
  role?: Role;
  disabled?: boolean;
}

/** Who holds a presented API token: an operator's live token, a token that no longer works and why, or nobody. */
export type TokenHolder =
  | { found: 'live'; operator: OperatorRecord; token: TokenRecord }
  | { found: 'dead'; why: 'revoked' | 'expired' | 'disabled' }
  | { found: 'none' };

interface OperatorRow {
  id: string;
  name: string;
  sites: string;
  secret_hash: string;
  role: string;
  disabled: number;
  created_at: number;
}

/** Operator accounts in the state store. The MQTT username is the operator id. */
export class OperatorRegistry {
  readonly name = 'operators';
  private admin?: { hash: string; generated?: string };
  private readonly tokens: OperatorTokens;

  constructor(
    private readonly store: StateStore,
    private readonly log: Logger,
    /** ADMIN_TOKEN, when set; otherwise one is generated at the first start and kept hashed. */
    private readonly configuredAdminToken?: string,
  ) {
    this.tokens = new OperatorTokens(store);
  }

  /** Resolves the admin token: from ADMIN_TOKEN, else the stored hash, else a new one (shown once). */
  start(): void {
    if (this.configuredAdminToken) {
      this.admin = { hash: hashSecret(this.configuredAdminToken) };
      return;
    }
    const stored = this.store.getSetting('admin_token_hash');
    if (stored) {
      this.admin = { hash: stored };
      return;
    }
    // Kept in memory only until the whole start succeeded (keepGeneratedAdminToken): a start that fails after
    // this point (a port in use) must not store a token nobody was shown, or it would be lost (issue 17).
    const token = newSecret();
    this.admin = { hash: hashSecret(token), generated: token };
  }

  /**
   * Stores the token generated at this start, once the gateway has started and is about to print it; the next
   * start finds it and prints none. Does nothing when no token was generated.
   */
  keepGeneratedAdminToken(): void {
    if (!this.admin?.generated) return;
    this.store.setSetting('admin_token_hash', this.admin.hash);
    this.log.warn('admin token generated; it is printed once on standard output');
  }

  stop(): void {}

  /** The admin token's hash, once started. */
  get adminTokenHash(): string {
    if (!this.admin) throw new Error('operators are not started');
    return this.admin.hash;
  }

  /** The token generated at this start, to be shown once; undefined when there was one already. */
  get generatedAdminToken(): string | undefined {
    return this.admin?.generated;
  }

  /** Creates an operator with its first token; the password and token are returned once and stored hashed. */
  create(input: { name: string; sites: string[]; role: Role }): { operator: OperatorRecord; password: string; token: string } {
    const id = `op-${newSecret().slice(0, 10).replace(/[^A-Za-z0-9]/g, 'x')}`;
    if (this.get(id)) throw new ConflictError(`operator ${id} exists`);
    const password = newSecret();
    const operator: OperatorRecord = { id, name: input.name, sites: [...new Set(input.sites)], role: input.role, disabled: false, createdAt: Date.now() };
    const db = this.store.db;
    const token = db.transaction(() => {
      db.prepare('INSERT INTO operators (id, name, sites, secret_hash, role, disabled, created_at) VALUES (?, ?, ?, ?, ?, 0, ?)').run(
        id,
        operator.name,
        JSON.stringify(operator.sites),
        hashSecret(password),
        operator.role,
        operator.createdAt,
      );
      return this.tokens.issue(id).secret;
    })();
    this.log.info({ operator: id, sites: operator.sites, role: operator.role }, 'operator created');
    return { operator, password, token };
  }

  /** Changes an operator's name, sites, role or disabled flag; answers the operator as it is now. */
  update(id: string, change: OperatorChange): OperatorRecord {
    const before = this.require(id);
    const after: OperatorRecord = {
      ...before,
      ...(change.name !== undefined && { name: change.name }),
      ...(change.sites !== undefined && { sites: [...new Set(change.sites)] }),
      ...(change.role !== undefined && { role: change.role }),
      ...(change.disabled !== undefined && { disabled: change.disabled }),
    };
    this.store.db
      .prepare('UPDATE operators SET name = ?, sites = ?, role = ?, disabled = ? WHERE id = ?')
      .run(after.name, JSON.stringify(after.sites), after.role, after.disabled ? 1 : 0, id);
    this.log.info({ operator: id, sites: after.sites, role: after.role, disabled: after.disabled }, 'operator changed');
    return after;
  }

  require(id: string): OperatorRecord {
    const operator = this.get(id);
    if (!operator) throw new NotFoundError('operator', id);
    return operator;
  }

  get(id: string): OperatorRecord | undefined {
    const row = this.store.db.prepare('SELECT * FROM operators WHERE id = ?').get(id) as OperatorRow | undefined;
    return row && fromRow(row);
  }

  list(): OperatorRecord[] {
    return (this.store.db.prepare('SELECT * FROM operators ORDER BY created_at').all() as OperatorRow[]).map(fromRow);
  }

  /** Deletes an operator and its tokens (also undoes a creation the external broker refused). */
  remove(id: string): void {
    const db = this.store.db;
    db.transaction(() => {
      db.prepare('DELETE FROM operators WHERE id = ?').run(id);
      this.tokens.removeAll(id);
    })();
    this.log.info({ operator: id }, 'operator removed');
  }

  /** The enabled operator with this MQTT username and password, or undefined. */
  authenticate(id: string, password: Buffer | undefined): OperatorRecord | undefined {
    const row = this.store.db.prepare('SELECT * FROM operators WHERE id = ?').get(id) as OperatorRow | undefined;
    return row && row.disabled === 0 && secretMatches(password, row.secret_hash) ? fromRow(row) : undefined;
  }

  /** Who holds this API token, and whether it still works (contract §15: revoked, expired, disabled → refused). */
  byToken(secret: string): TokenHolder {
    const found = this.tokens.lookup(secret);
    if (found.found === 'none') return found;
    if (found.found === 'dead') return { found: 'dead', why: found.why };
    const operator = this.get(found.token.operator);
    if (!operator) return { found: 'none' };
    if (operator.disabled) return { found: 'dead', why: 'disabled' };
    return { found: 'live', operator, token: found.token };
  }

  /** The operator's tokens, without their secrets. */
  tokensOf(id: string): TokenRecord[] {
    this.require(id);
    return this.tokens.list(id);
  }

  /** Issues a new token for the operator (shown once); `expiresInMs` undefined: it never expires. */
  issueToken(id: string, expiresInMs?: number): { token: TokenRecord; secret: string } {
    this.require(id);
    const issued = this.tokens.issue(id, expiresInMs);
    this.log.info({ operator: id, token: issued.token.id, expiresAt: issued.token.expiresAt }, 'operator token issued');
    return issued;
  }

  /** Revokes one of the operator's tokens: it is refused from now on. */
  revokeToken(id: string, tokenId: string): TokenRecord {
    this.require(id);
    const token = this.tokens.revoke(id, tokenId);
    this.log.info({ operator: id, token: tokenId }, 'operator token revoked');
    return token;
  }
}

function fromRow(row: OperatorRow): OperatorRecord {
  return {
    id: row.id,
    name: row.name,
    sites: JSON.parse(row.sites) as string[],
    role: row.role as Role,
    disabled: row.disabled !== 0,
    createdAt: row.created_at,
  };
}
