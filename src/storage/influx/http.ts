/** Where and as whom the writer talks to InfluxDB 1.x. */
export interface InfluxTarget {
  url: string;
  db: string;
  username?: string;
  password?: string;
}

/**
 * What became of one write request:
 * - `written`: 204, every line stored;
 * - `refused`: a 4xx about the data itself (parse error, field type conflict). InfluxDB 1.x has already
 *   stored the valid lines of the request, so retrying would gain nothing; `refused` lines were not stored;
 * - `failed`: nothing can be assumed stored, try again later (network, timeout, 5xx, and the 4xx that are
 *   about the setup rather than the data: 401/403 credentials, 404 database missing).
 */
export type WriteOutcome =
  | { kind: 'written' }
  | { kind: 'refused'; refused: number; status: number; body: string }
  | { kind: 'failed'; reason: 'network' | 'timeout' | 'server' | 'setup'; status?: number; detail: string };

const BODY_LOG_CHARS = 500;

/** POST /write with `precision=ms`; never throws. */
export async function postLines(target: InfluxTarget, body: string, points: number, signal: AbortSignal): Promise<WriteOutcome> {
  const url = `${trimSlash(target.url)}/write?db=${encodeURIComponent(target.db)}&precision=ms`;
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { method: 'POST', body, headers: { ...authHeaders(target), 'content-type': 'text/plain; charset=utf-8' }, signal });
    text = res.status === 204 ? '' : await res.text();
  } catch (err) {
    return { kind: 'failed', reason: isTimeout(err) ? 'timeout' : 'network', detail: describe(err) };
  }
  if (res.status === 204) return { kind: 'written' };
  const detail = text.slice(0, BODY_LOG_CHARS);
  if (res.status === 401 || res.status === 403 || res.status === 404) return { kind: 'failed', reason: 'setup', status: res.status, detail };
  if (res.status >= 400 && res.status < 500) return { kind: 'refused', refused: refusedPoints(text, points), status: res.status, body: detail };
  return { kind: 'failed', reason: 'server', status: res.status, detail };
}

/**
 * How many lines a 4xx refused. A "partial write" names the field-type conflicts as `dropped=N` and each
 * unparsable line as "unable to parse"; any other 4xx refused the whole request.
 */
export function refusedPoints(body: string, points: number): number {
  if (!body.includes('partial write')) return points;
  const dropped = Number(/dropped=(\d+)/.exec(body)?.[1] ?? 0);
  const unparsable = body.split('unable to parse').length - 1;
  return Math.min(points, dropped + unparsable);
}

/**
 * `CREATE DATABASE` (idempotent in 1.x). 'created' also when InfluxDB answers a 4xx such as 403: an account
 * without admin rights may still write to a database someone else created, so that is not worth retrying.
 */
export async function createDatabase(target: InfluxTarget, timeoutMs: number): Promise<'created' | 'forbidden' | 'failed'> {
  const body = new URLSearchParams({ q: `CREATE DATABASE "${target.db.replace(/["\\]/g, '\\$&')}"` });
  try {
    const res = await fetch(`${trimSlash(target.url)}/query`, {
      method: 'POST',
      body,
      headers: authHeaders(target),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (res.status >= 400 && res.status < 500) return 'forbidden';
    return res.ok && !text.includes('"error"') ? 'created' : 'failed';
  } catch {
    // Unreachable: the caller retries with backoff and has already logged the outage.
    return 'failed';
  }
}

/** GET /ping → true on 204. */
export async function ping(target: InfluxTarget, timeoutMs: number): Promise<boolean> {
  try {
    const res = await fetch(`${trimSlash(target.url)}/ping`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status === 204;
  } catch {
    // Not answering is what a ping reports.
    return false;
  }
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
}

/** Basic auth keeps credentials out of URLs, which end up in logs and proxies. */
export function authHeaders(options: { username?: string; password?: string }): Record<string, string> {
  if (options.username === undefined) return {};
  const token = Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64');
  return { authorization: `Basic ${token}` };
}

export function trimSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}
