import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planFlood, type FloodOptions, type FloodPlan } from '../flood.js';
import { loadSite, type Site } from '../site.js';
import type { PlayingFlood } from './flood-player.js';
import { Simulator, type SimulatorOptions } from './simulator.js';

export type { PlayingFlood } from './flood-player.js';

export interface FloodScenarioOptions extends FloodOptions, Pick<SimulatorOptions, 'intervalMs' | 'qos' | 'speed' | 'startAt' | 'seed' | 'baseTopic' | 'keepaliveS' | 'log'> {
  /** The gateway's HTTP API, e.g. `http://127.0.0.1:8080`. */
  apiUrl: string;
  /** The gateway's MQTT listener, e.g. `mqtt://127.0.0.1:1883`. */
  mqttUrl: string;
  /** The admin token, to register the devices. */
  token: string;
  /** The site: a site file's path or a loaded site (e.g. tests/fixtures/sites/flood.yaml: one room feeding 300 devices). */
  site: string | Site;
  /** The distribution room, its building or zone, or the site (default: the room feeding the most devices). */
  target?: string;
  /** The devices' credentials (default: a new file in a temporary folder). */
  stateFile?: string;
  /** Start the flood as soon as every device is connected (default true); false: call `begin()`. */
  begin?: boolean;
}

export interface FloodScenario {
  sim: Simulator;
  /** What the flood does and when (known before anything connects). */
  plan: FloodPlan;
  /** Starts the flood now (once; later calls answer the same); `startFloodScenario` calls it unless `begin: false`. */
  begin(): PlayingFlood;
  /** The flood in progress, once begun. */
  readonly playing: PlayingFlood | undefined;
  /** The mains return now: `mains_restored`, then the fed devices come back after their boot times. */
  restore(): void;
  /** Every device says offline and disconnects (the dark ones just go), and the timers stop. */
  stop(): Promise<void>;
}

/**
 * The `mains-loss-flood` scenario against a running gateway, for a test or a demonstration: registers the
 * site's devices (each fed device under its distribution room as `parent`, rooms first), connects them all,
 * then plays the flood of devices/flood.ts. The plan is checked before anything is registered: a site or
 * target without a distribution room feeding devices, or a fire zone without detectors, throws at once.
 *
 *   const flood = await startFloodScenario({ apiUrl, mqttUrl, token, site: 'tests/fixtures/sites/flood.yaml',
 *     fireAfterMs: 3000, outageMs: 20_000, loss: 'close', bootSpreadMs: 1000 });
 *   await flood.playing!.reached('fire');
 */
export async function startFloodScenario(opts: FloodScenarioOptions): Promise<FloodScenario> {
  const site = typeof opts.site === 'string' ? await loadSite(opts.site) : opts.site;
  const flood: FloodOptions = {
    fireAfterMs: opts.fireAfterMs,
    fireZone: opts.fireZone,
    fireForMs: opts.fireForMs,
    outageMs: opts.outageMs,
    loss: opts.loss,
    bootSpreadMs: opts.bootSpreadMs,
    seed: opts.seed,
  };
  const sim = new Simulator({
    site,
    apiUrl: opts.apiUrl.replace(/\/$/, ''),
    mqttUrl: opts.mqttUrl,
    token: opts.token,
    stateFile: opts.stateFile ?? join(await mkdtemp(join(tmpdir(), 'flood-')), 'state.json'),
    intervalMs: opts.intervalMs,
    qos: opts.qos,
    speed: opts.speed,
    startAt: opts.startAt,
    seed: opts.seed,
    baseTopic: opts.baseTopic,
    keepaliveS: opts.keepaliveS,
    log: opts.log,
    flood,
  });
  const plan = planFlood(sim.specs, opts.target, sim.floodOptions());
  await sim.start();
  let playing: PlayingFlood | undefined;
  const scenario: FloodScenario = {
    sim,
    plan,
    begin: () => (playing ??= sim.flood(plan.power)),
    get playing() {
      return playing;
    },
    restore: () => playing?.restore(),
    stop: () => sim.stop(),
  };
  if (opts.begin !== false) scenario.begin();
  return scenario;
}
