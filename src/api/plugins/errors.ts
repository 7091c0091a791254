import type { FastifyError, FastifyInstance } from 'fastify';
import { GatewayError } from '../../errors.js';
import { LogLimiter } from '../../log.js';
import type { RefusalLog } from '../../refusal-log.js';

interface AjvError {
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

/** Turns ajv's report into "body.kind: must be one of ..." so the answer names the field (contract §5). */
export function describeValidation(context: string | undefined, errors: AjvError[]): { field: string; message: string } {
  const e = errors[0];
  const path = e.instancePath.split('/').filter(Boolean);
  if (typeof e.params.missingProperty === 'string') path.push(e.params.missingProperty);
  if (typeof e.params.additionalProperty === 'string') {
    path.push(e.params.additionalProperty);
    return { field: [context, ...path].filter(Boolean).join('.'), message: 'unknown field' };
  }
  let message = e.message ?? 'is invalid';
  if (Array.isArray(e.params.allowedValues)) message = `must be one of ${e.params.allowedValues.join(', ')}`;
  if (typeof e.params.missingProperty === 'string') message = 'is required';
  return { field: [context, ...path].filter(Boolean).join('.'), message };
}

/**
 * Every error leaves as `{ error, message }` with its status; 5xx logged at error (fastify style), 4xx at info
 * through the refusal log, summarised per client address, since anyone who reaches the port can cause them.
 */
export function registerErrorHandling(app: FastifyInstance, refusals: RefusalLog): void {
  // InfluxDB away is a known, degraded state (warn, house style §5) that the writer already reports: each
  // history asked meanwhile is no error to act on, and a chart polling it must not fill the log with stacks.
  const storageWarnings = new LogLimiter(60_000);
  app.setErrorHandler((err: FastifyError | GatewayError, request, reply) => {
    if (err instanceof GatewayError) {
      if (err.code === 'storage_unavailable') {
        const heldBack = storageWarnings.allow('storage');
        if (heldBack !== undefined) request.log.warn({ code: err.code, url: request.url, heldBack }, 'InfluxDB does not answer: request answered 503');
      } else if (err.statusCode >= 500) request.log.error({ err, code: err.code, url: request.url }, 'request failed');
      else refusals.note(request.ip, 'request failed', { code: err.code, message: err.message, url: request.url }, 'info');
      return reply.status(err.statusCode).send({ error: err.code, message: err.message });
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      const { field, message } = describeValidation(fe.validationContext, fe.validation as AjvError[]);
      refusals.note(request.ip, 'request refused by validation', { field, url: request.url }, 'info');
      return reply.status(400).send({ error: 'validation_failed', message: `${field}: ${message}` });
    }
    const status = fe.statusCode ?? 500;
    if (status < 500) {
      refusals.note(request.ip, 'request refused', { code: fe.code, url: request.url }, 'info');
      const code = status === 413 ? 'payload_too_large' : status === 404 ? 'not_found' : 'validation_failed';
      return reply.status(status).send({ error: code, message: fe.message });
    }
    request.log.error({ err, url: request.url }, 'request failed');
    return reply.status(500).send({ error: 'internal', message: 'internal error' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );
}
