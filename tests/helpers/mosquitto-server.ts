import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './net.js';

const run = promisify(execFile);
const MOSQUITTO = existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto';
/** Debian's path of the dynamic-security plugin (the Docker image has it at /usr/lib/mosquitto_dynamic_security.so). */
export const DYNSEC_PLUGIN = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';
const READY_TIMEOUT_MS = 10_000;
const KILL_AFTER_MS = 5_000;

/** A throw-away Mosquitto 2 on a free loopback port, with its own temporary directory. */
export interface MosquittoProcess {
  port: number;
  url: string;
  /** The temporary directory (config, dynsec.json, password file, persistence, log). */
  dir: string;
  /** What Mosquitto printed so far (with `log_dest stderr`). */
  output(): string;
  /** SIGTERM (SIGKILL after 5 s) by PID, keeping the directory and the port: an outage. */
  pause(): Promise<void>;
  /** Starts it again on the same port with the same config and persistence. */
  resume(): Promise<void>;
  /** SIGTERM (SIGKILL after 5 s) by PID, then removes the directory. */
  stop(): Promise<void>;
}

/**
 * Starts `mosquitto -c <dir>/mosquitto.conf` with `config` as the file's text, on a free loopback port:
 * `{port}` and `{dir}` in `config` are replaced. `files` are written into the directory first (by name).
 * Resolves once the port accepts connections.
 */
export async function startMosquittoConfig(config: string, files: Record<string, string> = {}): Promise<MosquittoProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'mosquitto-'));
  const port = await freePort();
  const file = join(dir, 'mosquitto.conf');
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  await writeFile(file, config.replaceAll('{port}', String(port)).replaceAll('{dir}', dir));
  let out = '';
  let running: { child: ChildProcess; exited: Promise<void> } | undefined;
  const resume = async () => {
    if (running) return;
    const child = spawn(MOSQUITTO, ['-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer): void => {
      out = (out + chunk.toString()).slice(-8000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    running = { child, exited };
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!(await accepts(port))) {
      if (child.exitCode !== null || child.signalCode !== null) {
        running = undefined;
        throw new Error(`mosquitto exited (${child.exitCode ?? child.signalCode}) before listening:\n${out}`);
      }
      if (Date.now() > deadline) {
        await pause();
        throw new Error(`mosquitto did not listen within ${READY_TIMEOUT_MS} ms:\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const pause = async () => {
    const r = running;
    running = undefined;
    if (r) await terminate(r.child, r.exited, 'SIGTERM');
  };
  try {
    await resume();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    output: () => out,
    pause,
    resume,
    async stop() {
      await pause();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A Mosquitto 2 with the dynamic-security plugin and no anonymous access, its dynsec.json initialised by
 * `mosquitto_ctrl dynsec init` with `admin` as the only account. `extra` lines are appended to the config.
 */
export async function startMosquittoDynsec(admin: { username: string; password: string }, extra: string[] = []): Promise<MosquittoProcess> {
  const config = [
    'listener {port} 127.0.0.1',
    'allow_anonymous false',
    'persistence false',
    `plugin ${DYNSEC_PLUGIN}`,
    'plugin_opt_config_file {dir}/dynsec.json',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    // Run as whoever runs the tests (root would otherwise drop to the `mosquitto` user, who cannot read the temp dir).
    `user ${userInfo().username}`,
    ...extra,
    '',
  ].join('\n');
  // The plugin reads its file at start: initialise one elsewhere, then hand its text to the server's directory.
  const seedDir = await mkdtemp(join(tmpdir(), 'dynsec-seed-'));
  const seed = join(seedDir, 'dynsec.json');
  try {
    await run('mosquitto_ctrl', ['dynsec', 'init', seed, admin.username, admin.password], { timeout: 10_000 });
    return await startMosquittoConfig(config, { 'dynsec.json': await readFile(seed, 'utf8') });
  } finally {
    await rm(seedDir, { recursive: true, force: true });
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Signals only the PID we started and waits for it to exit. */
async function terminate(child: ChildProcess, exited: Promise<void>, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const force = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
  child.kill(signal);
  await exited;
  clearTimeout(force);
}
