import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './net.js';

const run = promisify(execFile);

export interface MosquittoAuth {
  username?: string;
  password?: string;
}

function args(port: number, auth: MosquittoAuth): string[] {
  const a = ['-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv311'];
  if (auth.username) a.push('-u', auth.username);
  if (auth.password) a.push('-P', auth.password);
  return a;
}

/** Publishes one message with Debian's `mosquitto_pub`; resolves with its exit code and stderr. */
export async function mosquittoPub(
  port: number,
  auth: MosquittoAuth,
  topic: string,
  message: string,
  extra: string[] = [],
): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await run('mosquitto_pub', [...args(port, auth), '-t', topic, '-m', message, ...extra], { timeout: 10_000 });
    return { code: 0, stderr };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stderr: e.stderr ?? String(err) };
  }
}

/**
 * Subscribes with `mosquitto_sub` for `seconds` (or until `count` messages) and returns what arrived,
 * one `topic payload` line each (`-v`), plus stderr.
 */
export async function mosquittoSub(
  port: number,
  auth: MosquittoAuth,
  filter: string,
  opts: { seconds: number; count?: number; extra?: string[] },
): Promise<{ code: number; lines: string[]; stderr: string }> {
  const a = [...args(port, auth), '-t', filter, '-v', '-W', String(opts.seconds), ...(opts.extra ?? [])];
  if (opts.count) a.push('-C', String(opts.count));
  return new Promise((resolve) => {
    const child = spawn('mosquitto_sub', a, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, lines: out.split('\n').filter(Boolean), stderr: err }));
  });
}

/** A Mosquitto broker of its own (headquarters' central broker in the upstream tests). */
export interface MosquittoServer {
  port: number;
  /** Its directory: config, password file, ACL, persistence, log. */
  dir: string;
  /** SIGTERM (Mosquitto saves its persistence), keeping the directory: an outage. */
  stop(): Promise<void>;
  /** Starts again on the same port with the same config and persistence. */
  start(): Promise<void>;
  /** Stops it and removes the directory. */
  remove(): Promise<void>;
  log(): Promise<string>;
}

/**
 * Spawns `/usr/sbin/mosquitto` on a free loopback port with a password file (`users`), an ACL file and
 * persistence in a temporary directory; resolves once it accepts TCP connections.
 */
export async function startMosquitto(opts: { users: Record<string, string>; acl: string }): Promise<MosquittoServer> {
  const dir = await mkdtemp(join(tmpdir(), 'mosquitto-'));
  const port = await freePort();
  const passwd = join(dir, 'passwd');
  await writeFile(passwd, '');
  for (const [user, password] of Object.entries(opts.users)) await run('mosquitto_passwd', ['-b', passwd, user, password]);
  await writeFile(join(dir, 'aclfile'), opts.acl);
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(
    conf,
    [
      // Run as whoever runs the tests (root would otherwise drop to the `mosquitto` user, who cannot read the temp dir).
      `user ${userInfo().username}`,
      `listener ${port} 127.0.0.1`,
      'allow_anonymous false',
      `password_file ${passwd}`,
      `acl_file ${join(dir, 'aclfile')}`,
      'persistence true',
      `persistence_location ${dir}/`,
      `log_dest file ${join(dir, 'mosquitto.log')}`,
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  const start = async () => {
    if (child) return;
    const c = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child = c;
    const deadline = Date.now() + 10_000;
    while (!(await accepts(port))) {
      if (c.exitCode !== null || Date.now() > deadline) throw new Error(`mosquitto did not start on ${port}: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  await start();
  return {
    port,
    dir,
    stop,
    start,
    async remove() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
    log: () => readFile(join(dir, 'mosquitto.log'), 'utf8').catch(() => ''),
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
