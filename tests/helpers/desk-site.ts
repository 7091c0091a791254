import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Simulator, type SimulatorOptions } from '../../devices/runtime/simulator.js';
import { loadSite } from '../../devices/site.js';
import { ADMIN_TOKEN, startGateway, type TestGateway } from './gateway.js';

/** A message the security desk's subscriber received, with the time it came. */
export interface DeskMessage {
  at: number;
  topic: string;
  body: any;
}

export interface DeskSite {
  gw: TestGateway;
  sim: Simulator;
  /** Alarms and work orders of the site as the desk's MQTT subscriber received them. */
  received: DeskMessage[];
  stop(): Promise<void>;
}

/**
 * A gateway with `env`, a simulated site from `siteFile` registered and connected to it, and a security desk
 * operator subscribed to the site's alarms and work orders: the scenario tests' setting.
 */
export async function startDeskSite(
  siteFile: string,
  env: Record<string, string>,
  sim: Pick<SimulatorOptions, 'intervalMs' | 'speed' | 'seed' | 'decay'>,
): Promise<DeskSite> {
  const gw = await startGateway(env);
  const site = await loadSite(siteFile);
  const simulator = new Simulator({
    site,
    apiUrl: `http://127.0.0.1:${gw.httpPort}`,
    mqttUrl: gw.mqttUrl,
    token: ADMIN_TOKEN,
    stateFile: join(await mkdtemp(join(tmpdir(), 'desk-site-')), 'state.json'),
    ...sim,
  });
  await simulator.start();
  const op = (await gw.api('POST', '/api/operators', { name: 'security desk', sites: [site.site] })).body;
  const desk = await gw.connect(op.mqtt);
  const received: DeskMessage[] = [];
  desk.on('message', (topic, payload) => {
    if (payload.length > 0) received.push({ at: Date.now(), topic, body: JSON.parse(payload.toString('utf8')) });
  });
  await desk.subscribeAsync([`sc/${site.site}/alarms/#`, `sc/${site.site}/workorders/#`], { qos: 1 });
  return {
    gw,
    sim: simulator,
    received,
    async stop() {
      await simulator.stop();
      await gw.stop();
    },
  };
}
