import type { Logger } from '../log.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { hashSecret, newSecret, secretMatches } from '../secrets.js';
import type { StateStore } from '../storage/state/store.js';

/**
 * A bridge: a vendor's gateway (zigbee2mqtt, a LoRaWAN network server, an access-control platform) that
 * publishes over one MQTT connection for the many devices registered to it. It authenticates as itself; the
 * devices behind it keep their own records, online state and rules.
 */
export interface BridgeRecord {
  id: string;
  site: string;
  /** The profiles its devices may use: the topics it may publish on and subscribe to are theirs. */
  profiles: string[];
  createdAt: number;
}

interface BridgeRow {
  id: string;
  site: string;
  profiles: string;
  secret_hash: string;
  created_at: number;
}

export class BridgeRegistry {
  readonly name = 'bridges';
  private readonly bridges = new Map<string, BridgeRecord>();
  private readonly secretHashes = new Map<string, string>();

  constructor(
    private readonly store: StateStore,
    private readonly log: Logger,
  ) {}

  stop(): void {
    // Nothing held open: every change is written at once.
  }

  start(): void {
    for (const row of this.store.db.prepare('SELECT * FROM bridges').all() as BridgeRow[]) {
      this.bridges.set(row.id, { id: row.id, site: row.site, profiles: JSON.parse(row.profiles) as string[], createdAt: row.created_at });
      this.secretHashes.set(row.id, row.secret_hash);
    }
  }

  /** Creates the bridge's account; answers its MQTT password, which is never shown again. */
  register(input: { id: string; site: string; profiles: string[] }): { bridge: BridgeRecord; password: string } {
    if (this.bridges.has(input.id)) throw new ConflictError(`bridge ${JSON.stringify(input.id)} is already registered`);
    const bridge: BridgeRecord = { id: input.id, site: input.site, profiles: [...new Set(input.profiles)], createdAt: Date.now() };
    const password = newSecret();
    const hash = hashSecret(password);
    this.store.db
      .prepare('INSERT INTO bridges (id, site, profiles, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(bridge.id, bridge.site, JSON.stringify(bridge.profiles), hash, bridge.createdAt);
    this.bridges.set(bridge.id, bridge);
    this.secretHashes.set(bridge.id, hash);
    this.log.info({ bridge: bridge.id, site: bridge.site, profiles: bridge.profiles }, 'bridge registered');
    return { bridge: { ...bridge }, password };
  }

  get(id: string): BridgeRecord | undefined {
    return this.bridges.get(id);
  }

  require(id: string): BridgeRecord {
    const bridge = this.bridges.get(id);
    if (!bridge) throw new NotFoundError('bridge', id);
    return bridge;
  }

  list(filter: { sites?: readonly string[] } = {}): BridgeRecord[] {
    return [...this.bridges.values()].filter((b) => !filter.sites || filter.sites.includes(b.site));
  }

  /** Deletes the bridge: its credentials stop working (the caller closes its connections). */
  delete(id: string): BridgeRecord {
    const bridge = this.require(id);
    this.store.db.prepare('DELETE FROM bridges WHERE id = ?').run(id);
    this.bridges.delete(id);
    this.secretHashes.delete(id);
    this.log.info({ bridge: id }, 'bridge deleted');
    return bridge;
  }

  /** The bridge whose id and password these are, or undefined. */
  authenticate(id: string, password: Buffer | undefined): BridgeRecord | undefined {
    const bridge = this.bridges.get(id);
    return bridge && secretMatches(password, this.secretHashes.get(id)) ? bridge : undefined;
  }
}
