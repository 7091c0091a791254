import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface GatewayProcess {
  child: ChildProcess;
  mqttPort: number;
  httpPort: number;
  output(): string;
  /** SIGKILL: a crash, nothing flushed. */
  kill(): Promise<void>;
  /** SIGTERM and the exit code. */
  terminate(): Promise<number | null>;
}

/** Runs `src/main.ts` in a child process, as `npm start` would, and waits for its "ports" line. */
export function spawnGateway(env: Record<string, string>, timeoutMs = 30_000): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, MQTT_HOST: '127.0.0.1', HTTP_HOST: '127.0.0.1', MQTT_PORT: '0', MQTT_WS_PORT: '0', HTTP_PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway did not start within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`gateway exited with ${code}:\n${out}`), { exitCode: code, output: out }));
    });
    const onData = () => {
      // The whole line: a port cut at a chunk's end would read short.
      const m = /MQTT on port (\d+), MQTT over WebSocket on port \d+, HTTP on port (\d+)\r?\n/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve({
        child,
        mqttPort: Number(m[1]),
        httpPort: Number(m[2]),
        output: () => out,
        kill: async () => {
          child.kill('SIGKILL');
          await exited;
        },
        terminate: async () => {
          child.kill('SIGTERM');
          return exited;
        },
      });
    };
    child.stdout!.on('data', onData);
  });
}

/** Runs `src/main.ts` expecting it to exit; resolves with the code and everything it printed. */
export function runGatewayToExit(env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
  return spawnGateway(env, timeoutMs).then(
    async (g) => {
      await g.terminate();
      throw new Error(`gateway started although it should not have:\n${g.output()}`);
    },
    (err: { exitCode?: number | null; output?: string }) => {
      if (err.output === undefined) throw err;
      return { code: err.exitCode ?? null, output: err.output };
    },
  );
}

/** Registers a device through a gateway process's API; resolves with its MQTT credentials. */
export async function registerOver(
  g: GatewayProcess,
  adminToken: string,
  device: { id: string; kind: string; site: string; zone: string },
): Promise<{ username: string; password: string }> {
  const res = await fetch(`http://127.0.0.1:${g.httpPort}/api/devices`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(device),
  });
  if (res.status !== 201) throw new Error(`register ${device.id}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { mqtt: { username: string; password: string } }).mqtt;
}
