import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startMosquittoConfig } from './mosquitto-server.js';

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
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
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
 * Mosquitto on a free loopback port with a password file (`users`), an ACL file and persistence in a
 * temporary directory; resolves once it accepts TCP connections.
 */
export async function startMosquitto(opts: { users: Record<string, string>; acl: string }): Promise<MosquittoServer> {
  const config = [
    // Run as whoever runs the tests (root would otherwise drop to the `mosquitto` user, who cannot read the temp dir).
    `user ${userInfo().username}`,
    'listener {port} 127.0.0.1',
    'allow_anonymous false',
    'password_file {dir}/passwd',
    'acl_file {dir}/aclfile',
    'persistence true',
    'persistence_location {dir}/',
    'log_dest file {dir}/mosquitto.log',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    '',
  ].join('\n');
  // The password file must exist, hashed by mosquitto_passwd, before the broker reads its config.
  const seedDir = await mkdtemp(join(tmpdir(), 'mosquitto-passwd-'));
  const passwd = join(seedDir, 'passwd');
  try {
    await writeFile(passwd, '');
    for (const [user, password] of Object.entries(opts.users)) await run('mosquitto_passwd', ['-b', passwd, user, password]);
    const server = await startMosquittoConfig(config, { passwd: await readFile(passwd, 'utf8'), aclfile: opts.acl });
    return {
      port: server.port,
      dir: server.dir,
      stop: server.pause,
      start: server.resume,
      remove: server.stop,
      log: () => readFile(join(server.dir, 'mosquitto.log'), 'utf8').catch(() => ''),
    };
  } finally {
    await rm(seedDir, { recursive: true, force: true });
  }
}
