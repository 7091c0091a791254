import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditInput } from '../../audit/trail.js';
import { accessOf } from '../access.js';
import { actor } from './auth.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** What a handler adds to the audit record of its call (contract §15): merged into `changes`. */
    auditDetail?: Record<string, unknown>;
  }
}

/** The site of each kind of target, looked up before the handler runs (a deleted device's site is gone after). */
export interface AuditSites {
  alarm(id: string): string | undefined;
  workorder(id: string): string | undefined;
  device(id: string): string | undefined;
  silence(id: string): string | undefined;
  bridge(id: string): string | undefined;
}

export interface AuditHookOptions {
  audit: { record(input: AuditInput): void };
  sites?: AuditSites;
  /** A console polls `GET /api/me`: one `login` per actor and address in this time (default 10 minutes). */
  loginEveryMs?: number;
  now?: () => number;
}

/** What is known of an audited call before it answers. */
interface Pending {
  action: string;
  site?: string;
}

/** Which target kind an action's first word names, for its site. */
const TARGET_KIND: Record<string, keyof AuditSites> = {
  alarm: 'alarm',
  workorder: 'workorder',
  command: 'device',
  device: 'device',
  silence: 'silence',
  bridge: 'bridge',
};

/**
 * Records every call of a route that ROUTE_ACCESS marks with an `audit` action, once it answered below 400
 * (contract §15): who (`actor`), from where (`request.ip`), what, to what (`params.id`) and the body without its
 * secret-looking fields. A refused call (400, 401, 403, 404, 409…) changed nothing and is not recorded, except a
 * command the device did not answer in time (504), which went out all the same. The answer is never recorded
 * (it holds new passwords and tokens).
 */
export function registerAudit(app: FastifyInstance, opts: AuditHookOptions): void {
  const pending = new WeakMap<FastifyRequest, Pending>();
  const logins = new LoginWindow(opts.loginEveryMs ?? 600_000, opts.now ?? Date.now);
  app.decorateRequest('auditDetail', undefined);

  app.addHook('preHandler', async (request) => {
    const action = auditAction(request);
    if (action === undefined) return;
    pending.set(request, { action, site: siteOf(action, targetOf(request), request.body, opts.sites) });
  });

  // Recorded as the answer is sent, not after: a crash between the two cannot leave a change answered but unrecorded.
  app.addHook('onSend', async (request, reply, payload) => {
    const p = pending.get(request);
    if (!p || (reply.statusCode >= 400 && !sentUnanswered(p.action, reply.statusCode))) return payload;
    const who = actor(request);
    if (p.action === 'login' && !logins.first(who, request.ip)) return payload;
    const answered = reply.statusCode === 201 || targetOf(request) === undefined ? createdId(payload) : undefined;
    const target = targetOf(request) ?? answered;
    // A creation under its parent (a token of an operator) names what it made beside its target.
    const created = answered !== undefined && answered !== target ? { created: answered } : undefined;
    const extra = reply.statusCode >= 400 ? { ...created, status: reply.statusCode } : created;
    opts.audit.record({ actor: who, source: request.ip, action: p.action, target, site: p.site, changes: changesOf(request, extra) });
    return payload;
  });
}

/** A command that went out and was not answered in time (504): the device may have acted on it, so it is recorded. */
function sentUnanswered(action: string, status: number): boolean {
  return action === 'command.send' && status === 504;
}

/** The audit action of the route a request matched (HEAD as its GET); undefined when it is not audited. */
function auditAction(request: FastifyRequest): string | undefined {
  const method = request.method === 'HEAD' ? 'GET' : request.method;
  return accessOf(method, request.routeOptions.url)?.audit;
}

function params(request: FastifyRequest): Record<string, unknown> {
  return (request.params ?? {}) as Record<string, unknown>;
}

/** What the call is about: the route's `:id`, or the id a registration names in its body. */
function targetOf(request: FastifyRequest): string | undefined {
  const id = params(request).id;
  if (typeof id === 'string') return id;
  const body = request.body as Record<string, unknown> | undefined;
  return typeof body?.id === 'string' && request.method === 'POST' ? body.id : undefined;
}

/** The body (without secrets, cleaned when stored), the token a route names, and what the handler added. */
function changesOf(request: FastifyRequest, extra?: Record<string, unknown>): Record<string, unknown> | undefined {
  const body = request.body;
  const fromBody = body === undefined || body === null ? {} : typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : { body };
  const tokenId = params(request).tokenId;
  const changes = { ...fromBody, ...(typeof tokenId === 'string' && { tokenId }), ...extra, ...request.auditDetail };
  return Object.keys(changes).length > 0 ? changes : undefined;
}

/** The site a call is about: the body's `site` (a registration, a silence), else its target's. */
function siteOf(action: string, target: string | undefined, body: unknown, sites: AuditSites | undefined): string | undefined {
  const named = (body as Record<string, unknown> | undefined)?.site;
  if (typeof named === 'string') return named;
  const kind = TARGET_KIND[action.split('.')[0]];
  return kind && target !== undefined ? sites?.[kind](target) : undefined;
}

/** The top-level `id` of a JSON answer (a creation's new id); nothing else of the answer is read. */
function createdId(payload: unknown): string | undefined {
  if (typeof payload !== 'string' || payload.length > 65_536 || !payload.startsWith('{')) return undefined;
  try {
    const id = (JSON.parse(payload) as { id?: unknown }).id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    // Not JSON after all: the record simply has no target.
    return undefined;
  }
}

/** At most one login per actor and address in `everyMs`; the memory is swept as it grows. */
class LoginWindow {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly everyMs: number,
    private readonly now: () => number,
  ) {}

  /** Whether this is the first login of `who` from `source` in the window (and remembers it). */
  first(who: string, source: string): boolean {
    const now = this.now();
    const key = `${who}\u0000${source}`;
    const seen = this.last.get(key);
    if (seen !== undefined && now - seen < this.everyMs) return false;
    if (this.last.size >= 10_000) for (const [k, at] of this.last) if (now - at >= this.everyMs) this.last.delete(k);
    this.last.set(key, now);
    return true;
  }
}
