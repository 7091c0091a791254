// The demo (`npm run demo`, scripts/demo.ts) as a newcomer runs it, in a child process of its own group: the browser
// tests that need a whole community running start it here.
import { spawn, type ChildProcess } from 'node:child_process';

export interface Demo {
  child: ChildProcess;
  base: string;
  mqttUrl: string;
  token: string;
  output(): string;
}

/** Starts `scripts/demo.ts` in its own process group and reads the API address, MQTT address and admin token it prints. */
export function startDemo(env: Record<string, string>, duration: string): Promise<Demo> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--duration', duration], {
    env: { ...process.env, LOG_LEVEL: 'warn', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo printed no address and token within 60 s:\n${out}`)), 60_000);
    child.once('exit', (code) => reject(new Error(`the demo exited with ${code}:\n${out}`)));
    // Each read only once its line is whole: output comes in chunks, and a token or a port cut at a chunk's end
    // would be read short (the token then refused, one CI run in many).
    const look = () => {
      const base = /(http:\/\/(?:127\.0\.0\.1|localhost):\d+)\D/.exec(out)?.[1];
      const mqttUrl = /(mqtt:\/\/(?:127\.0\.0\.1|localhost):\d+)\D/.exec(out)?.[1];
      const token = /token\W+([A-Za-z0-9_-]{16,})\r?\n/i.exec(out)?.[1];
      if (!base || !mqttUrl || !token) return;
      clearTimeout(timer);
      child.stdout!.off('data', look);
      resolve({ child, base, mqttUrl, token, output: () => out });
    };
    child.stdout!.on('data', look);
  });
}

/** Ctrl-C to the demo's whole process group (the gateway it started included); SIGKILL if it is still there after 10 s. */
export async function stopDemo(demo: Demo | undefined): Promise<void> {
  if (!demo || demo.child.exitCode !== null || !demo.child.pid) return;
  const exited = new Promise((r) => demo.child.once('exit', r));
  process.kill(-demo.child.pid, 'SIGINT');
  const timer = setTimeout(() => demo.child.pid && process.kill(-demo.child.pid, 'SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

