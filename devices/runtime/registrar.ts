import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DeviceSpec } from '../models/model.js';

/** MQTT credentials as the gateway issues them (contract §5: shown once, at registration). */
export interface Credentials {
  username: string;
  password: string;
}

/** What the simulator keeps between runs: each device's credentials and the operator it watches with. */
interface StateFile {
  version: 1;
  gateway: string;
  devices: Record<string, Credentials & { kind: string; site: string; zone: string }>;
  operators: Record<string, Credentials>;
}

export class RegistrationError extends Error {}

/** A device as the gateway lists it, as far as registering again depends on it. */
interface KnownDevice {
  id: string;
  kind: string;
  site: string;
  zone: string;
  parent?: string | null;
  position?: { x: number; y: number };
}

/** A device registered before it had a position (or with another) is registered again, with this one. */
function samePosition(a: KnownDevice['position'], b: DeviceSpec['position']): boolean {
  return a?.x === b?.x && a?.y === b?.y;
}

/** How many registrations run at once: enough to hide the round trip, few enough not to crowd the gateway. */
const CONCURRENCY = 8;

/**
 * Registers the simulated devices through the gateway's API, idempotently: credentials are kept in a state
 * file (mode 0600), so a restarted simulator reuses them; a device the gateway does not know, or knows with
 * another kind, site or zone, or whose password was lost, is registered (again).
 */
export class Registrar {
  private state: StateFile = { version: 1, gateway: '', devices: {}, operators: {} };
  /** Saves run one after another: workers finishing together must not interleave their writes. */
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly apiUrl: string,
    private readonly token: string,
    private readonly stateFile: string,
  ) {}

  async load(): Promise<void> {
    try {
      const parsed = JSON.parse(await readFile(this.stateFile, 'utf8')) as StateFile;
      // Credentials issued by another gateway are worthless here.
      if (parsed.version === 1 && parsed.gateway === this.apiUrl) this.state = parsed;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new RegistrationError(`${this.stateFile}: unreadable (${(err as Error).message}); remove it to start afresh`, { cause: err });
      }
    }
    this.state.gateway = this.apiUrl;
  }

  /**
   * Credentials for every device, registering those that need it; `progress` is called as it goes. Parents
   * are registered before their children (the gateway refuses a parent it does not know): in waves, the
   * devices with no parent among `specs` first, then their children, and so on.
   */
  async ensure(specs: readonly DeviceSpec[], progress: (done: number, registered: number) => void = () => {}): Promise<Map<string, Credentials>> {
    const known = await this.knownDevices();
    const out = new Map<string, Credentials>();
    let done = 0;
    let registered = 0;
    for (const wave of parentsFirst(specs)) {
      let next = 0;
      const worker = async () => {
        while (next < wave.length) {
          const spec = wave[next++];
          const kept = this.state.devices[spec.id];
          const there = known.get(spec.id);
          const same =
            there &&
            there.kind === spec.kind &&
            there.site === spec.site &&
            there.zone === spec.zone &&
            (there.parent ?? undefined) === spec.parent &&
            samePosition(there.position, spec.position);
          if (kept && same && kept.kind === spec.kind && kept.zone === spec.zone) {
            out.set(spec.id, kept);
          } else {
            out.set(spec.id, await this.register(spec, there !== undefined));
            registered++;
          }
          if (++done % 100 === 0) {
            progress(done, registered);
            await this.save();
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, wave.length) }, worker));
    }
    await this.save();
    if (done % 100 !== 0) progress(done, registered);
    return out;
  }

  /** Registers `spec` afresh (its kept password no longer works). */
  async reissue(spec: DeviceSpec): Promise<Credentials> {
    const creds = await this.register(spec, true);
    await this.save();
    return creds;
  }

  /** An operator account for `site` that the simulator watches rejections with (contract §3). */
  async operator(site: string, renew = false): Promise<Credentials> {
    const kept = this.state.operators[site];
    if (kept && !renew) return kept;
    const res = await this.call('POST', '/api/operators', { name: `simulator ${site}`, sites: [site] });
    if (res.status !== 201) throw new RegistrationError(`creating the simulator's operator for ${site}: ${describe(res)}`);
    const creds = (res.body as { mqtt: Credentials }).mqtt;
    this.state.operators[site] = creds;
    await this.save();
    return creds;
  }

  private async knownDevices(): Promise<Map<string, KnownDevice>> {
    const res = await this.call('GET', '/api/devices');
    if (res.status !== 200) throw new RegistrationError(`listing the gateway's devices: ${describe(res)}`);
    const list = res.body as KnownDevice[];
    return new Map(list.map((d) => [d.id, d]));
  }

  private async register(spec: DeviceSpec, exists: boolean): Promise<Credentials> {
    if (exists) {
      const del = await this.call('DELETE', `/api/devices/${encodeURIComponent(spec.id)}`);
      if (del.status !== 204 && del.status !== 200 && del.status !== 404) {
        throw new RegistrationError(`re-registering ${spec.id}: delete answered ${describe(del)}`);
      }
    }
    const body = { id: spec.id, kind: spec.kind, site: spec.site, zone: spec.zone, name: spec.name, tags: spec.tags, parent: spec.parent, position: spec.position };
    const res = await this.call('POST', '/api/devices', body);
    if (res.status !== 201) throw new RegistrationError(`registering ${spec.id}: ${describe(res)}`);
    const creds = (res.body as { mqtt: Credentials }).mqtt;
    this.state.devices[spec.id] = { ...creds, kind: spec.kind, site: spec.site, zone: spec.zone };
    return creds;
  }

  private async call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${this.apiUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      throw new RegistrationError(`the gateway's API at ${this.apiUrl} is unreachable: ${(err as Error).message}`, { cause: err });
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON: the text is the body (describe() shows it).
    }
    return { status: res.status, body: parsed };
  }

  /** Writes the state atomically (a crash never leaves half a file) and readable by its owner only. */
  private save(): Promise<void> {
    const run = this.saving.catch(() => undefined).then(() => this.write());
    this.saving = run;
    return run;
  }

  private async write(): Promise<void> {
    await mkdir(dirname(this.stateFile), { recursive: true });
    const tmp = `${this.stateFile}.tmp`;
    await writeFile(tmp, JSON.stringify(this.state), { mode: 0o600 });
    await rename(tmp, this.stateFile);
  }
}

/**
 * `specs` in registration waves: those whose parent is not among them (or who have none) first, then their
 * children, and so on; a parent cycle (no real wiring has one) ends up in the last wave, as it stands.
 */
export function parentsFirst(specs: readonly DeviceSpec[]): DeviceSpec[][] {
  const ids = new Set(specs.map((s) => s.id));
  const placed = new Set<string>();
  const waves: DeviceSpec[][] = [];
  let rest = [...specs];
  while (rest.length > 0) {
    const wave = rest.filter((s) => s.parent === undefined || !ids.has(s.parent) || placed.has(s.parent));
    if (wave.length === 0) {
      waves.push(rest);
      break;
    }
    for (const s of wave) placed.add(s.id);
    waves.push(wave);
    rest = rest.filter((s) => !placed.has(s.id));
  }
  return waves;
}

function describe(res: { status: number; body: unknown }): string {
  const b = res.body as { error?: string; message?: string } | undefined;
  return `${res.status}${b?.message ? ` ${b.error}: ${b.message}` : ''}`;
}
