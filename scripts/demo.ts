/**
 * `npm run demo`: a gateway with the default rule pack (rules/), the demo community of the simulators
 * (devices/sites/demo.yaml) and a scripted timeline of faults (devices/sites/demo-timeline.yaml); the alarms
 * and work orders print as they happen, read from their MQTT topics as the security desk would.
 *
 *   npm run demo -- [--speed 1] [--duration 10m] [--timeline FILE]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from '../src/config/duration.js';
import { Topics } from '../src/topics.js';
import { Simulator } from '../devices/runtime/simulator.js';
import { parseScenario } from '../devices/scenarios.js';
import { loadSite } from '../devices/site.js';

const { values: args } = parseArgs({
  options: {
    speed: { type: 'string', default: '1' },
    duration: { type: 'string' },
    timeline: { type: 'string', default: 'devices/sites/demo-timeline.yaml' },
  },
});

const COLOURS: Record<string, string> = { critical: '\x1b[41;97m', major: '\x1b[31m', minor: '\x1b[33m', warning: '\x1b[36m' };
const RESET = '\x1b[0m';
/** The gateway started below reads BASE_TOPIC from the same environment. */
const BASE_TOPIC = process.env.BASE_TOPIC ?? 'sc';
const TOPICS = new Topics(BASE_TOPIC);
const tty = process.stdout.isTTY;
const colour = (severity: string, text: string) => (tty ? `${COLOURS[severity] ?? ''}${text}${RESET}` : text);
const clock = () => new Date().toTimeString().slice(0, 8);

/** Starts the gateway as `npm run dev` does, on free ports with its own data dir; resolves with its ports. */
function startGateway(dataDir: string, token: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, DATA_DIR: dataDir, ADMIN_TOKEN: token, RULES_DIR: 'rules', MQTT_PORT: '0', MQTT_WS_PORT: '0', HTTP_PORT: '0', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise<{ child: typeof child; mqttPort: number; httpPort: number }>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /MQTT on port (\d+), MQTT over WebSocket on port \d+, HTTP on port (\d+)/.exec(out);
      if (m) resolve({ child, mqttPort: Number(m[1]), httpPort: Number(m[2]) });
    });
    child.once('exit', (code) => reject(new Error(`the gateway exited with ${code}: ${out}`)));
  });
}

/** Prints alarms and work orders from their topics (contract §4) as an operator subscriber sees them. */
async function watch(mqttUrl: string, apiUrl: string, token: string, site: string) {
  const res = await fetch(`${apiUrl}/api/operators`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'demo desk', sites: [site] }),
  });
  const { mqtt: creds } = (await res.json()) as { mqtt: { username: string; password: string } };
  const client = await mqtt.connectAsync(mqttUrl, { ...creds, protocolVersion: 4 });
  const seen = new Map<string, string>();
  client.on('message', (topic, payload) => {
    if (payload.length === 0) return; // a retained message deleted after its final state was printed
    const body = JSON.parse(payload.toString('utf8')) as Record<string, string | number>;
    if (topic.includes('/alarms/')) {
      const state = String(body.state);
      const key = `${body.id}:${state}:${body.severity}:${body.count}`;
      if (seen.get(String(body.id)) === key) return;
      seen.set(String(body.id), key);
      const what = state === 'active' && Number(body.count) > 1 ? `repeat ×${body.count}` : state;
      process.stdout.write(`${clock()}  ${colour(String(body.severity), `ALARM ${String(body.severity).padEnd(8)}`)} ${what.padEnd(12)} ${body.type} @ ${body.source}: ${body.message}\n`);
    } else if (topic.includes('/workorders/')) {
      process.stdout.write(`${clock()}  WORK ORDER ${String(body.priority).padEnd(7)} ${String(body.status).padEnd(12)} ${body.id}: ${body.title} (due ${String(body.dueAt).slice(5, 16).replace('T', ' ')} UTC)\n`);
    }
  });
  await client.subscribeAsync([TOPICS.alarmsFilter(site), TOPICS.workOrdersFilter(site)], { qos: 1 });
  return client;
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gateway-demo-'));
  const token = randomBytes(18).toString('base64url');
  const gateway = await startGateway(dataDir, token);
  const apiUrl = `http://127.0.0.1:${gateway.httpPort}`;
  const mqttUrl = `mqtt://127.0.0.1:${gateway.mqttPort}`;
  process.stdout.write(`gateway: MQTT ${mqttUrl}, API ${apiUrl}, admin token ${token}\n`);
  const site = await loadSite('devices/sites/demo.yaml');
  const watcher = await watch(mqttUrl, apiUrl, token, site.site);
  const timeline = (parseYaml(await readFile(args.timeline!, 'utf8')) as string[]).map(parseScenario);
  const sim = new Simulator({
    site,
    apiUrl,
    mqttUrl,
    token,
    stateFile: join(dataDir, 'simulator.json'),
    speed: Number(args.speed),
    baseTopic: BASE_TOPIC,
    log: (line) => process.stdout.write(`${clock()}  ${line}\n`),
  });
  await sim.start();
  process.stdout.write(`${clock()}  ${sim.specs.length} devices of ${site.site} connected; ${timeline.length} scenarios to come (Ctrl-C to stop)\n`);
  sim.schedule(timeline);
  const stop = async () => {
    await sim.stop();
    await watcher.endAsync();
    gateway.child.kill('SIGTERM');
    await new Promise((r) => gateway.child.once('exit', r));
    await rm(dataDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  const duration = args.duration === undefined ? undefined : parseDuration(args.duration);
  if (duration !== undefined) setTimeout(() => void stop(), duration);
}

main().catch((err: Error) => {
  process.stderr.write(`demo: ${err.message}\n`);
  process.exit(1);
});
