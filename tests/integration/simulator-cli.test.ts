import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startGateway, type TestGateway } from '../helpers/gateway.js';

/** Runs `npm run simulate -- args` as a user would; resolves with its exit code and everything it printed. */
function simulate(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'devices/cli.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

describe('npm run simulate', () => {
  let gw: TestGateway;
  let state: string;
  const target = () => ['--gateway', `http://127.0.0.1:${gw.httpPort}`, '--mqtt', gw.mqttUrl, '--token', ADMIN_TOKEN, '--state', state];

  beforeAll(async () => {
    gw = await startGateway();
    state = join(await mkdtemp(join(tmpdir(), 'sim-cli-')), 'state.json');
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('runs the demo site cut to 40 devices with a scenario, then says offline and stops', async () => {
    const { code, output } = await simulate([...target(), '--devices', '40', '--interval', '1s', '--duration', '4s', '--scenario', 'door-forced:b1@1s']);
    expect(code).toBe(0);
    expect(output).toMatch(/site demo: 40 devices/);
    expect(output).toMatch(/all 40 devices connected/);
    expect(output).toMatch(/scenario door-forced:b1@1s started: access-b1-/);
    expect(output).toMatch(/40\/40 connected · [\d.]+ msg\/s/);
    expect(output).toMatch(/sent \d+ messages \(\d+ events\), answered 0 commands, 0 rejected/);
    const devices = (await gw.api('GET', '/api/devices')).body as Array<{ site: string; online: boolean }>;
    expect(devices.filter((d) => d.site === 'demo')).toHaveLength(40);
    expect(devices.filter((d) => d.online)).toStrictEqual([]);
  });

  it('refuses an unknown scenario before connecting anything, naming it', async () => {
    const { code, output } = await simulate([...target(), '--scenario', 'flood:b1']);
    expect(code).toBe(2);
    expect(output).toMatch(/--scenario: scenario "flood:b1": unknown scenario flood/);
  });

  it('refuses a bad option value, naming the option', async () => {
    expect(await simulate([...target(), '--qos', '2'])).toMatchObject({ code: 2, output: expect.stringMatching(/--qos: expected 0 or 1, got "2"/) });
    expect(await simulate([...target(), '--interval', 'often'])).toMatchObject({ code: 2, output: expect.stringMatching(/--interval: expected a duration/) });
    expect(await simulate([...target(), '--decay', '1.5'])).toMatchObject({ code: 2, output: expect.stringMatching(/--decay: expected a share from 0 to 1, got "1.5"/) });
  });

  it('says the gateway is unreachable instead of hanging', async () => {
    const { code, output } = await simulate(['--gateway', 'http://127.0.0.1:9', '--token', ADMIN_TOKEN, '--state', state]);
    expect(code).toBe(1);
    expect(output).toMatch(/the gateway's API at http:\/\/127\.0\.0\.1:9 is unreachable/);
  });
});
