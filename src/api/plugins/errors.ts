import type { FastifyError, FastifyInstance } from 'fastify';
import { GatewayError } from '../../errors.js';

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

/** Every error leaves as `{ error, message }` with its status; 4xx logged at info, 5xx at error (fastify style). */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | GatewayError, request, reply) => {
    if (err instanceof GatewayError) {
      const level = err.statusCode >= 500 ? 'error' : 'info';
      request.log[level]({ err, code: err.code, url: request.url }, 'request failed');
      return reply.status(err.statusCode).send({ error: err.code, message: err.message });
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      const { field, message } = describeValidation(fe.validationContext, fe.validation as AjvError[]);
      request.log.info({ field, url: request.url }, 'request refused by validation');
      return reply.status(400).send({ error: 'validation_failed', message: `${field}: ${message}` });
    }
    const status = fe.statusCode ?? 500;
    if (status < 500) {
      request.log.info({ code: fe.code, url: request.url }, 'request refused');
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
