import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../metrics.js';

/** What `/ready` reports (contract §5): the broker, the state store, InfluxDB and the spool. */
export interface Readiness {
  ready: boolean;
  broker: { listening: boolean };
  stateStore: { usable: boolean };
  influx: { reachable: boolean; mode: 'direct' | 'spooling' };
  spool: { points: number; bytes: number; droppedPoints: number };
  /** The link to headquarters, when UPSTREAM_URL is set: whether it is up and how many messages wait for it. */
  upstream?: { connected: boolean; queued: number };
}

/** Health, readiness and metrics: no token needed (contract §3). */
export function systemRoutes(app: FastifyInstance, deps: { metrics: Metrics; readiness(): Readiness }): void {
  const open = { config: { public: true } } as const;
  app.get('/health', { ...open, schema: { tags: ['system'], summary: 'Liveness', security: [] } }, async () => ({ status: 'ok' }));

  app.get(
    '/ready',
    {
      ...open,
      schema: { tags: ['system'], summary: 'Ready when the broker listens and storage is usable; InfluxDB and spool state', security: [] },
    },
    async (_request, reply) => {
      const r = deps.readiness();
      return reply.status(r.ready ? 200 : 503).send(r);
    },
  );

  app.get('/metrics', { ...open, schema: { tags: ['system'], summary: 'Prometheus text format', security: [] } }, async (_request, reply) =>
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(deps.metrics.render()),
  );
}

/** What `/ready` is read from, the same in every role. */
export interface ReadinessSources {
  broker: { readonly listening: boolean };
  /** The state store; on an ingest worker, its copy of the primary's registry. */
  store: { usable(): boolean };
  writer: { status(): { reachable: boolean; mode: 'direct' | 'spooling'; spooledPoints: number; spooledBytes: number; droppedPoints: number } };
  upstream?: { status(): { connected: boolean; queued: number } };
}

/** Ready when the broker listens (or its link is up) and the store is usable; InfluxDB and the spool are reported. */
export function readinessOf(s: ReadinessSources): () => Readiness {
  return () => {
    const w = s.writer.status();
    const listening = s.broker.listening;
    const usable = s.store.usable();
    return {
      ready: listening && usable,
      broker: { listening },
      stateStore: { usable },
      influx: { reachable: w.reachable, mode: w.mode },
      spool: { points: w.spooledPoints, bytes: w.spooledBytes, droppedPoints: w.droppedPoints },
      ...(s.upstream && { upstream: s.upstream.status() }),
    };
  };
}
