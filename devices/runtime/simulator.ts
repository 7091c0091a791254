import mqtt, { type MqttClient } from 'mqtt';
import { Topics } from '../../src/topics.js';
import { createModel, type DeviceSpec } from '../models/index.js';
import { floodRoom, planFlood, type FloodOptions } from '../flood.js';
import { applyFault, faultOf, isDecay, isFlood, resolveTargets, type ScenarioStep } from '../scenarios.js';
import { planDecays, type Decay } from '../sim/decay.js';
import { SimClock } from '../sim/clock.js';
import { Random } from '../sim/random.js';
import { expandSite, placeOf, scaleSite, type Site } from '../site.js';
import { NotAuthorizedError, SimDevice, type Counters } from './device-client.js';
import { playFlood, type PlayingFlood } from './flood-player.js';
import { Registrar } from './registrar.js';

export interface SimulatorOptions {
  site: Site;
  /** How many devices: the site grown or cut to this many (site.ts scaleSite); default: the site as written. */
  devices?: number;
  apiUrl: string;
  mqttUrl: string;
  token: string;
  /** Where the devices' credentials are kept between runs. */
  stateFile: string;
  baseTopic?: string;
  /** Real ms between two telemetry messages of a device (default 10 s). */
  intervalMs?: number;
  qos?: 0 | 1;
  /** Simulated seconds per real second (default 1). */
  speed?: number;
  /** Simulated time at the start, epoch ms (default now). */
  startAt?: number;
  seed?: number;
  /** MQTT keepalive of every device in seconds (default 30): a dark device is noticed after 1.5 × this. */
  keepaliveS?: number;
  /**
   * Slow faults on a share of the devices they fit (devices/sim/decay.ts `planDecays`): each starts somewhere
   * in its first span and fails at the end of its natural span, in simulated time. Default: none.
   */
  decay?: { fraction: number };
  /** How `mains-loss-flood` steps play (the fire's time and zone, how devices drop, their boot times). */
  flood?: FloodOptions;
  /** Lines for the user (scenarios started and ended, re-registrations). */
  log?: (line: string) => void;
  /** Registration and connection progress. */
  onProgress?: (phase: 'registering' | 'connecting', done: number, total: number) => void;
}

export interface SimulatorStats {
  devices: number;
  /** Devices registered (or registered again) by this run; 0 when every kept credential still worked. */
  registered: number;
  connected: number;
  published: number;
  events: number;
  commands: number;
  publishErrors: number;
  /** Rejections the gateway published for this simulator's devices (contract §2 `gateway/rejected`). */
  rejected: number;
  lastRejections: Array<{ topic: string; device: string; reason: string }>;
  simTime: number;
}

/** Devices stepped per slot: each device steps once a second, spread over four slots to smooth the load. */
const SLOTS = 4;
const SLOT_MS = 250;
const CONNECT_CONCURRENCY = 100;

/**
 * A simulated site: every device a real MQTT client driven by its model, registered through the API, with
 * scenarios played on a timeline. `start()` registers and connects; `stop()` says offline and disconnects.
 */
export class Simulator {
  readonly clock: SimClock;
  readonly specs: DeviceSpec[];
  private readonly devices: SimDevice[] = [];
  private readonly byId = new Map<string, SimDevice>();
  private readonly counters: Counters = { published: 0, events: 0, commands: 0, publishErrors: 0 };
  private readonly registrar: Registrar;
  private readonly topics: Topics;
  private readonly timers = new Set<NodeJS.Timeout>();
  private ticker?: NodeJS.Timeout;
  private watcher?: MqttClient;
  private rejected = 0;
  private registered = 0;
  private readonly lastRejections: SimulatorStats['lastRejections'] = [];
  private startedAt = 0;
  /** The decays `opts.decay` planned, each started when the simulated clock reaches its onset. */
  readonly decays: Array<Decay & { device: string }> = [];
  /** Floods whose mains are out, by their distribution room. */
  private readonly floods = new Map<string, PlayingFlood>();

  constructor(private readonly opts: SimulatorOptions) {
    this.clock = new SimClock(opts.startAt ?? Date.now(), opts.speed ?? 1);
    this.specs = opts.devices === undefined ? expandSite(opts.site) : scaleSite(opts.site, opts.devices);
    this.registrar = new Registrar(opts.apiUrl, opts.token, opts.stateFile);
    this.topics = new Topics(opts.baseTopic ?? 'sc');
  }

  async start(): Promise<void> {
    const { opts } = this;
    await this.registrar.load();
    const creds = await this.registrar.ensure(this.specs, (done, registered) => {
      this.registered = registered;
      opts.onProgress?.('registering', done, this.specs.length);
    });
    await this.watchRejections();
    const root = new Random(opts.seed ?? 1);
    const place = placeOf(opts.site);
    const link = { mqttUrl: opts.mqttUrl, topics: this.topics, qos: opts.qos ?? 1, intervalMs: opts.intervalMs ?? 10_000, keepaliveS: opts.keepaliveS };
    for (const spec of this.specs) {
      const model = createModel(spec, { rng: root.fork(spec.id), place }, this.clock.now());
      const device = new SimDevice(model, link, this.clock, this.counters);
      this.devices.push(device);
      this.byId.set(spec.id, device);
    }
    let next = 0;
    let done = 0;
    const worker = async () => {
      while (next < this.devices.length) {
        const device = this.devices[next++];
        await this.connectDevice(device, creds.get(device.id)!);
        opts.onProgress?.('connecting', ++done, this.devices.length);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, this.devices.length) }, worker));
    this.startedAt = Date.now();
    // Each device gets its own phase in the interval, so the traffic is even, not a burst every interval.
    this.devices.forEach((d, i) => d.reportFrom(this.startedAt + Math.floor((i / this.devices.length) * link.intervalMs)));
    let slot = 0;
    this.ticker = setInterval(() => this.tick(slot++ % SLOTS), SLOT_MS);
    this.startDecays();
  }

  private startDecays(): void {
    const fraction = this.opts.decay?.fraction ?? 0;
    if (fraction <= 0) return;
    this.decays.push(...planDecays(this.specs, { seed: this.opts.seed ?? 1, fraction, from: this.clock.now() }));
    for (const d of this.decays) {
      this.later(this.clock.toReal(d.onset - this.clock.now()), () => {
        const model = this.byId.get(d.device)!.model;
        applyFault(d.name, [model], true, this.clock.now(), d.failAt - d.onset);
        this.opts.log?.(`decay ${d.name} started on ${d.device}: fails at ${new Date(d.failAt).toISOString()} (simulated)`);
      });
    }
  }

  /** Plays scenario steps: each starts `atMs` after the start and, with `forMs`, ends that much later. */
  schedule(steps: readonly ScenarioStep[]): void {
    for (const step of steps) {
      const startIn = Math.max(0, this.startedAt + step.atMs - Date.now());
      this.later(startIn, () => {
        const ids = this.apply(step, true);
        // A slow fault's `for` is its time to the failure: it is not ended.
        if (ids.length > 0 && step.forMs !== undefined && !isDecay(step)) this.later(step.forMs, () => this.apply(step, false));
      });
    }
  }

  /** Starts (or ends) a scenario now; answers the devices it acted on. */
  apply(step: ScenarioStep, begin: boolean): string[] {
    if (isFlood(step)) return this.applyFlood(step, begin);
    const devices = resolveTargets(step, this.specs).map((spec) => this.byId.get(spec.id)!);
    const fault = faultOf(step);
    let acted: string[];
    if (fault === 'silence' || fault === 'drop') {
      for (const d of devices) {
        if (fault === 'silence') d.silence(begin);
        else if (begin) d.drop();
        else d.revive();
      }
      acted = devices.map((d) => d.id);
    } else {
      // A slow fault compressed into `for` of real time: that much simulated time at the simulator's speed.
      const spanMs = isDecay(step) && step.forMs !== undefined ? step.forMs * this.clock.speed : undefined;
      acted = applyFault(fault, devices.map((d) => d.model), begin, this.clock.now(), spanMs);
    }
    const what = begin ? 'started' : 'ended';
    this.opts.log?.(
      acted.length > 0 ? `scenario ${step.text} ${what}: ${acted.join(', ')}` : `scenario ${step.text}: no device in ${step.target} it applies to`,
    );
    return acted;
  }

  /**
   * Plays a `mains-loss-flood` now (devices/flood.ts): `target` is the distribution room, its building or zone,
   * or the site (the room feeding the most devices). The outage lasts `options.outageMs`, or until `restore()`.
   * A room already out answers the flood in progress. Throws a ScenarioError when the target has no room.
   */
  flood(target?: string, options: FloodOptions = {}): PlayingFlood {
    const plan = planFlood(this.specs, target, this.floodOptions(options));
    const running = this.floods.get(plan.power);
    if (running) return running;
    const host = { device: (id: string) => this.byId.get(id), simNow: () => this.clock.now(), later: this.later.bind(this), log: this.opts.log };
    const playing = playFlood(host, plan, () => this.floods.delete(plan.power));
    if (!playing.played.some((p) => p.action === 'mains-restored')) this.floods.set(plan.power, playing);
    return playing;
  }

  device(id: string): SimDevice | undefined {
    return this.byId.get(id);
  }

  stats(): SimulatorStats {
    return {
      devices: this.devices.length,
      registered: this.registered,
      connected: this.devices.reduce((n, d) => n + (d.connected ? 1 : 0), 0),
      ...this.counters,
      rejected: this.rejected,
      lastRejections: [...this.lastRejections],
      simTime: this.clock.now(),
    };
  }

  async stop(): Promise<void> {
    clearInterval(this.ticker);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.floods.clear();
    let next = 0;
    const worker = async () => {
      while (next < this.devices.length) await this.devices[next++].stop();
    };
    await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, this.devices.length) }, worker));
    await this.watcher?.endAsync();
  }

  /** `options` over the simulator's flood options over its seed; an option left undefined takes the one below. */
  floodOptions(options: FloodOptions = {}): FloodOptions {
    const defined = (o: FloodOptions = {}) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
    return { seed: this.opts.seed, ...defined(this.opts.flood), ...defined(options) };
  }

  /** A flood scenario step: started with `+for` the mains return when it ends. */
  private applyFlood(step: ScenarioStep, begin: boolean): string[] {
    try {
      if (!begin) {
        const playing = this.floods.get(floodRoom(this.specs, step.target).id);
        playing?.restore();
        return playing ? [playing.plan.power, ...playing.plan.fed] : [];
      }
      const { plan } = this.flood(step.target, step.forMs === undefined ? {} : { outageMs: step.forMs });
      return [plan.power, ...plan.fed];
    } catch (err) {
      this.opts.log?.(`scenario ${step.text}: ${(err as Error).message}`);
      return [];
    }
  }

  private tick(slot: number): void {
    const now = Date.now();
    for (let i = slot; i < this.devices.length; i += SLOTS) this.devices[i].tick(now);
  }

  private async connectDevice(device: SimDevice, creds: { username: string; password: string }): Promise<void> {
    try {
      await device.connect(creds);
    } catch (err) {
      if (!(err instanceof NotAuthorizedError)) throw err;
      // The gateway no longer knows this password (its data was reset): register the device again, once.
      this.opts.log?.(`${device.id}: credentials refused, registering it again`);
      this.registered++;
      await device.connect(await this.registrar.reissue(device.model.spec));
    }
  }

  /** Watches `gateway/rejected` as an operator, counting what the gateway refused from these devices. */
  private async watchRejections(): Promise<void> {
    const site = this.opts.site.site;
    const ours = new Set(this.specs.map((s) => s.id));
    const connect = async (renew: boolean) => {
      const creds = await this.registrar.operator(site, renew);
      return mqtt.connectAsync(this.opts.mqttUrl, { username: creds.username, password: creds.password, protocolVersion: 4, reconnectPeriod: 2000 });
    };
    this.watcher = await connect(false).catch((err: { code?: number }) => {
      if (err.code === 4 || err.code === 5) return connect(true);
      throw err;
    });
    this.watcher.on('message', (topic, payload) => {
      try {
        const r = JSON.parse(payload.toString('utf8')) as { topic: string; device: string; reason: string };
        if (!ours.has(r.device)) return;
        this.rejected++;
        this.lastRejections.push(r);
        if (this.lastRejections.length > 5) this.lastRejections.shift();
      } catch {
        // Not the gateway's JSON: nothing to count.
      }
    });
    await this.watcher.subscribeAsync(this.topics.rejected(site), { qos: 1 });
  }

  private later(ms: number, run: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      run();
    }, ms);
    this.timers.add(t);
  }
}
