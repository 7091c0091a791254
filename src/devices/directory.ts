import type { Logger } from '../log.js';
import type { KindName } from './kinds/index.js';

/** What an ingest worker needs of a device: enough to check its topic and tag its points. */
export interface DirectoryDevice {
  id: string;
  kind: KindName;
  site: string;
  zone: string;
}

export interface DirectoryOptions {
  /** The primary's base URL (PRIMARY_URL). */
  url: string;
  /** The primary's admin token. */
  token: string;
  refreshMs: number;
  timeoutMs: number;
  log: Logger;
}

/** How long a device the primary does not know is not asked about again. */
const UNKNOWN_TTL_MS = 10_000;

/**
 * An ingest worker's copy of the primary's device registry, read over the primary's API: the whole list at
 * start and every `refreshMs` (`GET /api/devices`), and one device when a message names one not in the copy
 * (`GET /api/devices/{id}`), so a device registered a moment ago is stored from its first message.
 */
export class RemoteDeviceDirectory {
  readonly name = 'device directory';
  private devices = new Map<string, DirectoryDevice>();
  private readonly unknown = new Map<string, number>();
  private readonly lookups = new Map<string, Promise<DirectoryDevice | undefined>>();
  private timer?: NodeJS.Timeout;
  /** True once the list was read at least once. */
  loaded = false;

  constructor(private readonly opts: DirectoryOptions) {}

  /** Reads the list once (a primary not up yet is logged, and asked again at the next refresh). */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.opts.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  get size(): number {
    return this.devices.size;
  }

  /**
   * The device `id` when the copy has it under this site and kind; otherwise a promise of what the primary says
   * (undefined: not registered there). Rejects when the primary cannot be asked.
   */
  resolve(id: string, site: string, kind: string): DirectoryDevice | undefined | Promise<DirectoryDevice | undefined> {
    const known = this.devices.get(id);
    if (known && known.site === site && known.kind === kind) return known;
    const until = this.unknown.get(id);
    if (until !== undefined && until > Date.now()) return undefined;
    let lookup = this.lookups.get(id);
    if (!lookup) {
      lookup = this.lookup(id).finally(() => this.lookups.delete(id));
      this.lookups.set(id, lookup);
    }
    return lookup.then((d) => {
      if (d && d.site === site && d.kind === kind) return d;
      this.unknown.set(id, Date.now() + UNKNOWN_TTL_MS);
      return undefined;
    });
  }

  private async refresh(): Promise<void> {
    try {
      const list = (await this.get('/api/devices')) as DirectoryDevice[];
      const next = new Map<string, DirectoryDevice>();
      for (const d of list) next.set(d.id, this.keep(d));
      this.devices = next;
      this.unknown.clear();
      if (!this.loaded) this.opts.log.info({ devices: next.size, primary: this.opts.url }, 'device registry read from the primary');
      this.loaded = true;
    } catch (err) {
      this.opts.log.warn({ err, primary: this.opts.url }, 'device registry not read from the primary');
    }
  }

  private async lookup(id: string): Promise<DirectoryDevice | undefined> {
    const d = (await this.get(`/api/devices/${encodeURIComponent(id)}`)) as DirectoryDevice | undefined;
    if (!d) return undefined;
    const kept = this.keep(d);
    this.devices.set(id, kept);
    return kept;
  }

  /** The same object while a device does not change, so the caches keyed on it hold. */
  private keep(d: DirectoryDevice): DirectoryDevice {
    const old = this.devices.get(d.id);
    if (old && old.site === d.site && old.kind === d.kind && old.zone === d.zone) return old;
    return { id: d.id, kind: d.kind, site: d.site, zone: d.zone };
  }

  /** GET on the primary's API; undefined for a 404. */
  private async get(path: string): Promise<unknown> {
    const res = await fetch(`${this.opts.url}${path}`, {
      headers: { authorization: `Bearer ${this.opts.token}` },
      signal: AbortSignal.timeout(this.opts.timeoutMs),
    });
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`the primary answered ${res.status} to GET ${path}`);
    return res.json();
  }
}
