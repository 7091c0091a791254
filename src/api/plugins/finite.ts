import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../../errors.js';
import { firstNonFinite } from '../../finite.js';

/**
 * Refuses a JSON body holding a number JSON.parse turned into ±Infinity (`1e400`), wherever it sits, even
 * in free-form objects such as a command's `params` that the route schemas do not describe.
 */
export function refuseNonFiniteBodies(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    if (request.body === null || typeof request.body !== 'object') return;
    const path = firstNonFinite(request.body);
    if (path !== undefined) throw new ValidationError(path ? `body.${path}` : 'body', 'must be a finite number');
  });
}
