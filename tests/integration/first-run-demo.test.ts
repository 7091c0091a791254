import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/gateway.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('npm run demo, as a new user runs it', () => {
  // Its own process group, as a terminal's foreground job: Ctrl-C is SIGINT to the whole group.
  const demo = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--devices', '20', '--duration', '90s'], {
    cwd: ROOT,
    detached: true,
    env: { ...process.env, NO_COLOR: '1', LOG_LEVEL: 'warn', INFLUX_URL: 'http://127.0.0.1:9', HTTP_PORT: '0', MQTT_PORT: '0', MQTT_WS_PORT: '0' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  demo.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  demo.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
  afterAll(() => {
    if (demo.exitCode === null) process.kill(-demo.pid!, 'SIGKILL');
  });

  it('says where the console is, signs in with its token, sets off a fire by hand, and stops on Ctrl-C within 5 s leaving nothing', async () => {
    await eventually(() => out.includes('demo: Ctrl-C stops') || undefined, 30_000, 200);
    const consoleUrl = /demo: the console\s+(http:\/\/localhost:\d+\/)/.exec(out)![1];
    const token = /demo: admin token\s+(\S+)/.exec(out)![1];
    const dataDir = /data in (\S+) \(removed when the demo stops\)/.exec(out)![1];
    expect(out).toContain('time zone Asia/Shanghai');
    expect(existsSync(dataDir)).toBe(true);
    expect((await fetch(consoleUrl)).status).toBe(200);
    expect((await fetch(new URL('/api/devices', consoleUrl), { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);

    // The line the demo says to type sets off a fire the desk sees.
    const fire = /type this line and press Enter:\s+(fire:\S+)/.exec(out)![1];
    demo.stdin.write(`${fire}\n`);
    await eventually(() => /ALARM \S+\s+active\s+fire_alarm @ fire-/.test(out) || undefined, 20_000, 200);

    const signalled = Date.now();
    process.kill(-demo.pid!, 'SIGINT');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 5000))]);
    expect(code).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(5000);
    expect(existsSync(dataDir)).toBe(false);
  }, 60_000);
});
