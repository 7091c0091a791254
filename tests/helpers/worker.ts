import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/env.js';
import { createLogger } from '../../src/log.js';
import { IngestWorker } from '../../src/worker.js';
import { ADMIN_TOKEN } from './gateway.js';

export interface TestWorker {
  worker: IngestWorker;
  httpPort: number;
  /** GET on the worker's own HTTP port (/health, /ready, /metrics). */
  get(path: string): Promise<{ status: number; text: string }>;
  /** The sum of a counter's samples in the worker's /metrics, over every label set. */
  counter(name: string): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts an ingest worker (docs/scale-out.md) in this process, with its own data dir, on a free loopback HTTP
 * port. `env` must bring BROKER_URL, BROKER_SHARE_GROUP and PRIMARY_URL at least.
 */
export async function startWorker(env: Record<string, string>): Promise<TestWorker> {
  const dir = await mkdtemp(join(tmpdir(), 'worker-'));
  const config = loadConfig({
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    DATA_DIR: dir,
    ADMIN_TOKEN,
    INFLUX_FLUSH_INTERVAL: '20ms',
    INFLUX_RETRY_MAX: '1s',
    INFLUX_TIMEOUT: '5s',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
  const worker = new IngestWorker(config, createLogger(config.logLevel));
  const { httpPort } = await worker.start();
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${httpPort}${path}`);
    return { status: res.status, text: await res.text() };
  };
  return {
    worker,
    httpPort,
    get,
    counter: async (name) => sumCounter((await get('/metrics')).text, name),
    async stop() {
      await worker.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The sum of every sample of `name` in a Prometheus text exposition. */
export function sumCounter(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
