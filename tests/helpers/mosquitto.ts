import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

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
