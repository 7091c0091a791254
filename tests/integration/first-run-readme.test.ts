import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, NO_INFLUX } from '../helpers/gateway.js';
import { startInflux, type InfluxServer } from '../helpers/influx.js';
import { spawnGateway, type GatewayProcess } from '../helpers/process.js';

const run = promisify(execFile);
const README = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');

/** The first code block after `heading` in the README. */
function codeBlockAfter(heading: string): string {
  const at = README.indexOf(heading);
  if (at < 0) throw new Error(`README has no "${heading}"`);
  const m = /```\w*\n([\s\S]*?)```/.exec(README.slice(at));
  return m![1];
}

/** The shell commands of a block: continuation lines joined, comment-only lines and `X=…` placeholders left out. */
function commandsOf(block: string): string[] {
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#') && !/^[A-Z_]+=…/.test(line));
}

/**
 * Runs the README's "First device in two minutes" as written, against the gateway started as the quick
 * start says, with the ports it was given and the secrets it printed put where the README has `…`.
 */
async function firstDevice(g: GatewayProcess, token: string): Promise<string[]> {
  const outputs: string[] = [];
  let password = '';
  for (const command of commandsOf(codeBlockAfter('### First device in two minutes'))) {
    let line = command.replaceAll('localhost:8080', `127.0.0.1:${g.httpPort}`).replace(/-P '…'/, `-P '${password}'`);
    if (line.startsWith('mosquitto_pub ')) line = line.replace('mosquitto_pub ', `mosquitto_pub -h 127.0.0.1 -p ${g.mqttPort} `);
    const { stdout } = await run('bash', ['-c', line], { env: { ...process.env, TOKEN: token }, timeout: 10_000 });
    outputs.push(stdout);
    const mqtt = /"password":"([^"]+)"/.exec(stdout);
    if (mqtt) password = mqtt[1];
  }
  return outputs;
}

const DEVICE = 'smoke-b3-f12-01';

/** The quick start: a fresh data dir, no ADMIN_TOKEN; answers the gateway and the token it printed. */
async function quickStart(dataDir: string, influxUrl: string): Promise<{ g: GatewayProcess; token: string }> {
  const g = await spawnGateway({ DATA_DIR: dataDir, INFLUX_URL: influxUrl, ADMIN_TOKEN: '', LOG_LEVEL: 'info', LOG_FORMAT: 'json' });
  await eventually(() => /gateway: ADMIN_TOKEN=/.test(g.output()) || undefined, 5000);
  // The two lines the README shows, with the ports this run was given.
  const shown = codeBlockAfter('it prints a generated admin token once:').trim().split('\n');
  const wsPort = /WebSocket on port (\d+)/.exec(g.output())![1];
  expect(g.output()).toContain(`${shown[0].replace('1883', String(g.mqttPort)).replace('8083', wsPort).replace('8080', String(g.httpPort))}\n`);
  const token = /gateway: ADMIN_TOKEN=(\S+) \(shown once: keep it safe\)/.exec(g.output())![1];
  expect(shown[1]).toBe('gateway: ADMIN_TOKEN=… (shown once: keep it safe)');
  // "Open http://localhost:8080/ for the operator console".
  expect((await fetch(`http://127.0.0.1:${g.httpPort}/`)).status).toBe(200);
  return { g, token };
}

describe("the README's quick start and first device, as written", () => {
  let dataDir: string;
  let influx: InfluxServer;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'readme-'));
    influx = await startInflux();
  });
  afterAll(async () => {
    await influx?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('without InfluxDB: the device is online and its history says plainly that readings wait in the spool', async () => {
    const { g, token } = await quickStart(join(dataDir, 'down'), NO_INFLUX);
    try {
      const [registered, published, history, shown] = await firstDevice(g, token);
      expect(JSON.parse(registered)).toMatchObject({ id: DEVICE, kind: 'fire', mqtt: { username: DEVICE } });
      expect(published).toBe('');
      expect(JSON.parse(history)).toStrictEqual({
        error: 'storage_unavailable',
        message: expect.stringMatching(/^telemetry history is unavailable: InfluxDB does not answer; .*spool.*\(1 point, \d+ B spooled so far\)/),
      });
      expect(JSON.parse(shown)).toMatchObject({ id: DEVICE, online: true, lastSeen: expect.any(String) });
      // What the README says the user sees, but for the spool's size.
      const said = codeBlockAfter('Meanwhile the history answers 503 and says so:').trim();
      const bytes = /(\d+) B spooled/.exec(history)![1];
      expect(history.trim()).toBe(said.replace(/\d+ B spooled/, `${bytes} B spooled`));
      // One short warning, no stack trace.
      await eventually(() => g.output().includes('InfluxDB does not answer: request answered 503') || undefined, 3000);
      expect(g.output()).not.toMatch(/\n\s+at /);
    } finally {
      expect(await g.terminate()).toBe(0);
    }
  }, 45_000);

  it('with InfluxDB: the history answers the reading just published', async () => {
    const { g, token } = await quickStart(join(dataDir, 'up'), influx.url);
    try {
      const outputs = await firstDevice(g, token);
      const history = JSON.parse(outputs[2]) as Array<Record<string, unknown>>;
      // The writer batches for up to INFLUX_FLUSH_INTERVAL (100 ms) and a QoS 1 PUBACK waits for it.
      expect(history).toStrictEqual([{ time: expect.any(String), temperatureC: 21.5 }]);
      expect(JSON.parse(outputs[3])).toMatchObject({ id: DEVICE, online: true });
    } finally {
      expect(await g.terminate()).toBe(0);
    }
  }, 45_000);
});
