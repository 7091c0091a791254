import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxQuery } from '../../src/storage/influx/query.js';
import { freePort } from './net.js';

const INFLUXD = '/usr/bin/influxd';
const READY_TIMEOUT_MS = 20_000;
const KILL_AFTER_MS = 10_000;

/** A throw-away influxd on free ports with its own data dir. */
export interface InfluxServer {
  url: string;
  port: number;
  /** SIGTERM (SIGKILL after 10 s) and remove the data dir. */
  stop(): Promise<void>;
  /** SIGKILL, keeping the data dir: a crash or a pulled plug. */
  kill(): Promise<void>;
  /** Start again on the same port and data dir (after kill(), or it stops the running one first). */
  restart(): Promise<void>;
  /** InfluxQL through the project's own client; `db` may be left out for server-wide statements. */
  query(q: string, db?: string): Promise<Array<Record<string, unknown>>>;
}

/** Spawns `/usr/bin/influxd` with a temporary config; resolves once `/ping` answers. */
export async function startInflux(): Promise<InfluxServer> {
  const dir = await mkdtemp(join(tmpdir(), 'influxd-'));
  const port = await freePort();
  const rpcPort = await freePort();
  const config = join(dir, 'influxd.conf');
  await writeFile(config, renderConfig(dir, port, rpcPort));
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined = await launch(config, url);
  let removed = false;

  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child;
    child = undefined;
    if (running) await terminate(running, signal);
  };
  return {
    url,
    port,
    async stop() {
      await halt('SIGTERM');
      removed = true;
      await rm(dir, { recursive: true, force: true });
    },
    kill: () => halt('SIGKILL'),
    async restart() {
      if (removed) throw new Error('influxd was stopped and its data dir removed; restart() follows kill()');
      await halt('SIGTERM');
      child = await launch(config, url);
    },
    query: (q, db = '') => new InfluxQuery({ url, db, timeoutMs: 10_000 }).query(q),
  };
}

function renderConfig(dir: string, port: number, rpcPort: number): string {
  return `reporting-enabled = false
bind-address = "127.0.0.1:${rpcPort}"
[meta]
  dir = "${join(dir, 'meta')}"
[data]
  dir = "${join(dir, 'data')}"
  wal-dir = "${join(dir, 'wal')}"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:${port}"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
[logging]
  level = "error"
  suppress-logo = true
`;
}

async function launch(config: string, url: string): Promise<ChildProcess> {
  const child = spawn(INFLUXD, ['-config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const ping = new InfluxQuery({ url, db: '', timeoutMs: 1000 });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`influxd exited (${child.exitCode ?? child.signalCode}) before answering /ping:\n${output}`);
    }
    if (await ping.ping()) return child;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await terminate(child, 'SIGKILL');
  throw new Error(`influxd did not answer /ping within ${READY_TIMEOUT_MS} ms:\n${output}`);
}

/** Signals only the PID we started and waits for it to exit (SIGKILL if SIGTERM is not enough). */
function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill(signal);
  });
}
