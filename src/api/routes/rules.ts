import type { FastifyInstance } from 'fastify';
import { GatewayError, ValidationError } from '../../errors.js';
import type { ReloadResult } from '../../rules/loader.js';
import { RulesInvalidError } from '../../rules/loader.js';
import type { RuleTestResult } from '../../rules/replay.js';
import { parseRule, type Rule } from '../../rules/schema.js';
import { visibleSites } from '../plugins/auth.js';
import { errorResponses } from './schemas.js';

export interface RuleRouteDeps {
  /** The rules in force, as data (file, id, definition). */
  rules(): unknown[];
  /** One rule in force by id. */
  rule(id: string): Rule | undefined;
  reloadRules(): Promise<ReloadResult>;
  /** Replays `rule` over stored history between `from` and `to`, limited to `sites` when given. */
  testRule(rule: Rule, from: number, to: number, sites?: readonly string[]): Promise<RuleTestResult>;
}

/** The longest stretch of history one test replays: a month of a site's traffic is already a lot of rows. */
const MAX_TEST_RANGE_MS = 31 * 86_400_000;

const testBody = {
  type: 'object',
  additionalProperties: false,
  required: ['from', 'to'],
  properties: {
    id: { type: 'string', description: 'a rule in force' },
    rule: { type: 'object', description: 'a rule as a rule file writes it (contract §6)' },
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
  },
} as const;

/** `GET /api/rules`, `POST /api/rules/reload` (contract §5) and `POST /api/rules/test`. */
export function ruleRoutes(app: FastifyInstance, deps: RuleRouteDeps): void {
  app.get('/api/rules', { schema: { tags: ['rules'], summary: 'The rules in force' } }, async () => deps.rules());

  app.post(
    '/api/rules/reload',
    { schema: { tags: ['rules'], summary: 'Reload the rules folder; a bad file → 400 and the rules in force stay', response: errorResponses } },
    async () => {
      const result = await deps.reloadRules();
      if (!result.ok) throw new RulesInvalidError(result.errors);
      return result;
    },
  );

  app.post<{ Body: { id?: string; rule?: unknown; from: string; to: string } }>(
    '/api/rules/test',
    {
      schema: {
        tags: ['rules'],
        summary: 'What a rule would have raised over stored history, with no side effect',
        body: testBody,
        response: errorResponses,
      },
    },
    async (request) => {
      const { id, rule: raw, from, to } = request.body;
      const rule = ruleToTest(id, raw, deps);
      const start = Date.parse(from);
      const end = Date.parse(to);
      if (!(end > start)) throw new ValidationError('to', 'must be after from');
      if (end - start > MAX_TEST_RANGE_MS) throw new ValidationError('to', 'a test covers at most 31 days');
      try {
        return await deps.testRule(rule, start, end, visibleSites(request));
      } catch (err) {
        if (err instanceof GatewayError) throw err;
        throw new GatewayError('storage_unavailable', 'the history could not be read from InfluxDB', { cause: err });
      }
    },
  );
}

function ruleToTest(id: string | undefined, raw: unknown, deps: RuleRouteDeps): Rule {
  if ((id === undefined) === (raw === undefined)) throw new ValidationError('body', 'give either id (a rule in force) or rule (a rule to try)');
  if (id !== undefined) {
    const rule = deps.rule(id);
    if (!rule) throw new ValidationError('id', `no rule ${JSON.stringify(id)} is in force`);
    return rule;
  }
  const parsed = parseRule(raw, 'rule', 0);
  if (!parsed.ok) throw new ValidationError('', parsed.errors.join('; '));
  return parsed.rule;
}
