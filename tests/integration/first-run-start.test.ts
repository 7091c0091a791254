import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, NO_INFLUX } from '../helpers/gateway.js';
import { runGatewayToExit, spawnGateway } from '../helpers/process.js';

/** Holds a loopback port, as another program would; resolves with the port. */
function holdPort(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

const TOKEN_LINE = /gateway: ADMIN_TOKEN=(\S+) \(shown once: keep it safe\)/g;
const HAS_TOKEN_LINE = /gateway: ADMIN_TOKEN=/;

describe('a first start that fails, then good ones', () => {
  let dataDir: string;
  const busy = createServer();
  let busyPort: number;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'first-run-'));
    busyPort = await holdPort(busy);
  });
  afterAll(async () => {
    await new Promise((r) => busy.close(r));
    await rm(dataDir, { recursive: true, force: true });
  });

  it('prints the admin token once, at the first start that succeeds, and it works; logs readable or JSON lines', async () => {
    // Without ADMIN_TOKEN, as a new user starts it.
    const env = { DATA_DIR: dataDir, INFLUX_URL: NO_INFLUX, ADMIN_TOKEN: '' };
    const failed = await runGatewayToExit({ ...env, MQTT_PORT: String(busyPort) });
    expect(failed.code).toBe(1);
    expect(failed.output).not.toMatch(TOKEN_LINE);

    // Readable log lines (as at a terminal), with the gateway's own lines printed as ever.
    const good = await spawnGateway({ ...env, LOG_FORMAT: 'pretty', LOG_LEVEL: 'info' });
    try {
      await eventually(() => / INFO: .*gateway started/.test(good.output()) || undefined, 5000);
      expect(good.output()).not.toContain('{"level"');
      // The token line follows the ports line the helper waits for.
      await eventually(() => HAS_TOKEN_LINE.test(good.output()) || undefined, 5000);
      const tokens = [...good.output().matchAll(TOKEN_LINE)].map((m) => m[1]);
      expect(tokens).toHaveLength(1);
      const res = await fetch(`http://127.0.0.1:${good.httpPort}/api/devices`, { headers: { authorization: `Bearer ${tokens[0]}` } });
      expect(res.status).toBe(200);
    } finally {
      expect(await good.terminate()).toBe(0);
    }

    // JSON log lines when told so (and by default when the output is not a terminal, as here).
    const third = await spawnGateway({ ...env, LOG_FORMAT: 'json', LOG_LEVEL: 'info' });
    try {
      await eventually(() => /\{"level":30,.*"msg":"gateway started"\}/.test(third.output()) || undefined, 5000);
      expect(third.output()).toMatch(/^gateway: MQTT on port \d+, MQTT over WebSocket on port \d+, HTTP on port \d+$/m);
      expect(third.output()).not.toMatch(TOKEN_LINE);
    } finally {
      expect(await third.terminate()).toBe(0);
    }
  }, 60_000);

  it.each(['MQTT_PORT', 'MQTT_WS_PORT', 'HTTP_PORT'])('stops with one line naming %s when its port is in use', async (setting) => {
    const { code, output } = await runGatewayToExit({ DATA_DIR: dataDir, INFLUX_URL: NO_INFLUX, ADMIN_TOKEN: 'a-test-token-of-16-chars', [setting]: String(busyPort) });
    expect(code).toBe(1);
    expect(output).toContain(`gateway: port ${busyPort} is in use (${setting}); stop what holds it or set ${setting} to another port`);
    // No stack trace, and no fatal JSON line.
    expect(output).not.toMatch(/\n\s+at /);
    expect(output).not.toContain('"level":60');
  });
});
