import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../../errors.js';
import type { RefusalLog } from '../../refusal-log.js';
import type { LoginThrottle } from '../../security/throttle.js';

/** The HTTP login throttle and where its refusals are logged. */
export interface ApiThrottle {
  throttle: LoginThrottle;
  refusals: RefusalLog;
}

/**
 * A bearer token checked under the login throttle (contract §15), per source address (`request.ip`: the API
 * trusts no proxy header). A token the source holds works whatever its failures. A refused one is answered
 * 401, late once the source failed more than a few times, and 429 with `Retry-After` once it failed too
 * often, without a look at the token. Resolves with what `authenticate` returns, or undefined once it has
 * answered; errors other than 401 pass through.
 */
export async function throttledLogin<T>(
  t: ApiThrottle | undefined,
  request: FastifyRequest,
  reply: FastifyReply,
  authenticate: () => T,
): Promise<T | undefined> {
  if (!t) return authenticate();
  try {
    return authenticate();
  } catch (err) {
    if (!(err instanceof GatewayError) || err.code !== 'unauthorized') throw err;
    const source = request.ip;
    const verdict = t.throttle.check(source);
    if (verdict.blocked) {
      t.refusals.noteAttempt(source, 'http token refused', 'blocked', { url: request.url }, 'info');
      const seconds = Math.max(1, Math.ceil((verdict.retryAfterMs ?? 1000) / 1000));
      const refusal = new GatewayError('too_many_requests', `too many refused tokens from ${source}; try again in ${seconds} s`);
      void reply.code(refusal.statusCode).header('retry-after', String(seconds)).send({ error: refusal.code, message: refusal.message });
      return undefined;
    }
    const delayMs = t.throttle.failed(source);
    t.refusals.noteAttempt(source, 'http token refused', delayMs > 0 ? 'delayed' : 'unauthorized', { url: request.url, message: err.message }, 'info');
    if (delayMs > 0) await held(t.throttle, source, delayMs, reply);
    void reply.code(err.statusCode).send({ error: err.code, message: err.message });
    return undefined;
  }
}

/** Waits `delayMs`, or less when the client goes away meanwhile (its place is freed at once). */
function held(throttle: LoginThrottle, source: string, delayMs: number, reply: FastifyReply): Promise<void> {
  return new Promise((resolve) => {
    const gone = () => {
      cancel();
      resolve();
    };
    const cancel = throttle.later(source, delayMs, () => {
      reply.raw.off('close', gone);
      resolve();
    });
    reply.raw.once('close', gone);
  });
}
