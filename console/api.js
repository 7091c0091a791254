// The gateway's HTTP API with the operator's token, and its live event stream.

const TOKEN_KEY = 'token';

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) ?? localStorage.getItem(TOKEN_KEY);
}

/** Keeps the token for this tab, and across restarts of the browser only when asked to. */
export function saveToken(value, remember) {
  sessionStorage.setItem(TOKEN_KEY, value);
  if (remember) localStorage.setItem(TOKEN_KEY, value);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(TOKEN_KEY);
}

/** An answer the API refused: `status` and the API's own `{ error, message }`. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error;
    /** The server's own sentence (English, naming the field); console/errors.js shows it as the detail. */
    this.serverMessage = body?.message;
  }
}

/** Listeners told when the token stops working (401), so the console goes back to the sign-in page. */
const unauthorized = new Set();
export function onUnauthorized(fn) {
  unauthorized.add(fn);
  return () => unauthorized.delete(fn);
}

/** Listeners told when the API refuses a call for the role (403): the role may have changed since sign-in. */
const forbidden = new Set();
export function onForbidden(fn) {
  forbidden.add(fn);
  return () => forbidden.delete(fn);
}

/** Calls the API; answers the parsed JSON (or the text for CSV), throws ApiError for anything but 2xx. */
export async function api(method, path, body, opts = {}) {
  const headers = { authorization: `Bearer ${opts.token ?? token()}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const type = res.headers.get('content-type') ?? '';
  const payload = type.includes('json') ? await res.json() : await res.text();
  if (!res.ok) {
    if (res.status === 401 && !opts.token) for (const fn of unauthorized) fn();
    if (res.status === 403 && !opts.token) for (const fn of forbidden) fn();
    throw new ApiError(res.status, typeof payload === 'object' ? payload : undefined);
  }
  return payload;
}

export const get = (path) => api('GET', path);

/**
 * Follows `GET /api/events` (server-sent events) with the token in the header, and reconnects with a
 * growing pause when the stream breaks. `onOpen` runs on every (re)connection, after the `ready` event,
 * so the caller reloads what it shows and misses nothing that changed while the stream was down.
 */
export function follow({ onEvent, onOpen, onDown }) {
  let stopped = false;
  let controller;
  let pause = 1000;
  const run = async () => {
    while (!stopped) {
      controller = new AbortController();
      try {
        const res = await fetch('/api/events', { headers: { authorization: `Bearer ${token()}` }, signal: controller.signal });
        if (res.status === 401) {
          for (const fn of unauthorized) fn();
          return;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const name = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (!name || data === undefined) continue;
            if (name === 'ready') {
              pause = 1000;
              await onOpen();
            } else onEvent(name, JSON.parse(data));
          }
        }
      } catch (err) {
        if (stopped) return;
        console.warn('live stream broken', err);
      }
      if (stopped) return;
      onDown();
      // A phone back on the network tries at once rather than after the pause (up to 30 s).
      await new Promise((r) => {
        const go = () => { clearTimeout(timer); removeEventListener('online', go); r(); };
        const timer = setTimeout(go, pause);
        addEventListener('online', go);
      });
      pause = Math.min(pause * 2, 30_000);
    }
  };
  run();
  return () => {
    stopped = true;
    controller?.abort();
  };
}
