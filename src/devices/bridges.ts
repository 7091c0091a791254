import type { Logger } from '../log.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { hashSecret, newSecret } from '../secrets.js';
import type { StateStore } from '../storage/state/store.js';
import { CredentialHashes } from './credential-overlap.js';

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
  previous_secret_hash: string | null;
  previous_secret_until: number | null;
}

export class BridgeRegistry {
  readonly name = 'bridges';
  private readonly bridges = new Map<string, BridgeRecord>();
  /** Password hashes, with the previous one during a rotation's overlap. */
  private readonly secretHashes = new CredentialHashes((id) => this.overlapEnded?.(id));
  private overlapEnded?: (id: string) => void;

  constructor(
    private readonly store: StateStore,
    private readonly log: Logger,
  ) {}

  stop(): void {
    // Every change is written at once; only the overlap timers are held.
    this.secretHashes.stop();
  }

  start(): void {
    for (const row of this.store.db.prepare('SELECT * FROM bridges').all() as BridgeRow[]) {
      this.bridges.set(row.id, { id: row.id, site: row.site, profiles: JSON.parse(row.profiles) as string[], createdAt: row.created_at });
      this.secretHashes.load(row.id, row.secret_hash, row.previous_secret_hash, row.previous_secret_until);
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
    this.secretHashes.forget(id);
    this.log.info({ bridge: id }, 'bridge deleted');
    return bridge;
  }

  /** Who closes the bridge's connections when a password overlap ends (the gateway: the broker). */
  onOverlapEnded(listener: (id: string) => void): void {
    this.overlapEnded = listener;
  }

  /**
   * Replaces the bridge's MQTT password (new credentials), the previous one working for `overlapMs` (contract §15;
   * CredentialHashes.replace); when an overlap ends, the `onOverlapEnded` listener closes its connections.
   */
  setPassword(id: string, password: string, overlapMs = 0): void {
    this.require(id);
    this.secretHashes.replace(id, hashSecret(password), overlapMs, (hash, previous, until) =>
      this.store.db
        .prepare('UPDATE bridges SET secret_hash = ?, previous_secret_hash = ?, previous_secret_until = ? WHERE id = ?')
        .run(hash, previous, until, id),
    );
    this.log.info({ bridge: id, overlapMs }, 'bridge credentials replaced');
  }

  /** The bridge whose id and password these are (the previous password too, during an overlap), or undefined. */
  authenticate(id: string, password: Buffer | undefined): BridgeRecord | undefined {
    const bridge = this.bridges.get(id);
    return bridge && this.secretHashes.matches(id, password) ? bridge : undefined;
  }
}
