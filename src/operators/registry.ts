import { ConflictError } from '../errors.js';
import type { Logger } from '../log.js';
import { hashSecret, newSecret, secretMatches } from '../secrets.js';
import type { StateStore } from '../storage/state/store.js';

/** An operator account: MQTT read access to its sites' operator topics, and an API token (contract §3). */
export interface OperatorRecord {
  id: string;
  name: string;
  sites: string[];
  createdAt: number;
}

interface OperatorRow {
  id: string;
  name: string;
  sites: string;
  secret_hash: string;
  token_hash: string;
  created_at: number;
}

/** Operator accounts in the state store. The MQTT username is the operator id. */
export class OperatorRegistry {
  readonly name = 'operators';
  private admin?: { hash: string; generated?: string };

  constructor(
    private readonly store: StateStore,
    private readonly log: Logger,
    /** ADMIN_TOKEN, when set; otherwise one is generated at the first start and kept hashed. */
    private readonly configuredAdminToken?: string,
  ) {}

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

  /** Creates an operator; the password and token are returned once and stored hashed. */
  create(input: { name: string; sites: string[] }): { operator: OperatorRecord; password: string; token: string } {
    const id = `op-${newSecret().slice(0, 10).replace(/[^A-Za-z0-9]/g, 'x')}`;
    if (this.get(id)) throw new ConflictError(`operator ${id} exists`);
    const password = newSecret();
    const token = newSecret();
    const operator: OperatorRecord = { id, name: input.name, sites: [...new Set(input.sites)], createdAt: Date.now() };
    this.store.db
      .prepare('INSERT INTO operators (id, name, sites, secret_hash, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, operator.name, JSON.stringify(operator.sites), hashSecret(password), hashSecret(token), operator.createdAt);
    this.log.info({ operator: id, sites: operator.sites }, 'operator created');
    return { operator, password, token };
  }

  get(id: string): OperatorRecord | undefined {
    const row = this.store.db.prepare('SELECT * FROM operators WHERE id = ?').get(id) as OperatorRow | undefined;
    return row && fromRow(row);
  }

  list(): OperatorRecord[] {
    return (this.store.db.prepare('SELECT * FROM operators ORDER BY created_at').all() as OperatorRow[]).map(fromRow);
  }

  /** Removes an operator (its creation undone when the external broker refused its account). */
  remove(id: string): void {
    this.store.db.prepare('DELETE FROM operators WHERE id = ?').run(id);
    this.log.info({ operator: id }, 'operator removed');
  }

  /** The operator with this MQTT username and password, or undefined. */
  authenticate(id: string, password: Buffer | undefined): OperatorRecord | undefined {
    const row = this.store.db.prepare('SELECT * FROM operators WHERE id = ?').get(id) as OperatorRow | undefined;
    return row && secretMatches(password, row.secret_hash) ? fromRow(row) : undefined;
  }

  /** The operator holding this API token, or undefined. */
  byToken(token: string): OperatorRecord | undefined {
    const row = this.store.db.prepare('SELECT * FROM operators WHERE token_hash = ?').get(hashSecret(token)) as
      | OperatorRow
      | undefined;
    return row && fromRow(row);
  }
}

function fromRow(row: OperatorRow): OperatorRecord {
  return { id: row.id, name: row.name, sites: JSON.parse(row.sites) as string[], createdAt: row.created_at };
}
