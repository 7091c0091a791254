// The kinds of value an environment variable holds, each from its text to what the gateway uses.
import cron from 'node-cron';
import { z } from 'zod';
import { formatDuration, parseDuration } from './duration.js';

export const port = z.coerce.number().int().min(0).max(65535);
export const positiveInt = z.coerce.number().int().positive();
export const nonEmpty = z.string().min(1);
export const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Contract §6 durations (`500ms`, `10s`, `5m`, `2h`) → milliseconds. */
export const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration such as 500ms, 10s, 5m or 2h` });
    return z.NEVER;
  }
  return ms;
});

/** A duration of at least `min` ms. */
export const minDuration = (min: number) => duration.refine((ms) => ms >= min, `at least ${formatDuration(min)}`);

/** A topic root: levels of letters, digits, `_` and `-`, without wildcards. */
export const topicRoot = z
  .string()
  .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, 'topic levels of letters, digits, _ and -, no wildcards');

/** An http(s) base URL, without the trailing slash that would double the one of each path. */
export const httpBase = z.url({ protocol: /^https?$/ }).transform((url) => url.replace(/\/+$/, ''));

/** `268435456`, `512KB`, `256MB`, `1GB` (binary units) → bytes. */
export const byteSize = z.string().transform((text, ctx) => {
  const m = /^(\d+)\s*(B|KB|MB|GB)?$/i.exec(text.trim());
  const bytes = m ? Number(m[1]) * 1024 ** ['B', 'KB', 'MB', 'GB'].indexOf((m[2] ?? 'B').toUpperCase()) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 65_536) {
    ctx.addIssue({ code: 'custom', message: 'a size of at least 64KB, such as 268435456, 512MB or 1GB' });
    return z.NEVER;
  }
  return bytes;
});

/** `hq-ops:secret1,hq-night:secret2` → account → HMAC secret (a secret may hold `:` but not `,`). */
export const trustedAccounts = z.string().transform((text, ctx) => {
  const accounts: Record<string, string> = {};
  for (const [i, entry] of text.split(',').entries()) {
    const colon = entry.indexOf(':');
    const name = entry.slice(0, colon).trim();
    const secret = entry.slice(colon + 1);
    let problem: string | undefined;
    if (colon < 1 || !/^[A-Za-z0-9_.@-]{1,64}$/.test(name)) problem = `entry ${i + 1} is not account:secret (account: letters, digits, _ . @ -)`;
    else if (secret.length < 16) problem = `the secret of ${name} must be at least 16 characters`;
    else if (Object.hasOwn(accounts, name)) problem = `${name} is listed twice`;
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }
    accounts[name] = secret;
  }
  return accounts;
});

/** A node-cron expression. */
export const cronExpression = z.string().superRefine((expr, ctx) => {
  const v = cron.validateDetailed(expr);
  if (!v.valid) ctx.addIssue({ code: 'custom', message: `not a cron expression: ${v.errors.map((e) => e.message).join('; ')}` });
});

/** An IANA time zone name this runtime knows; the machine's own when unset. */
export const ianaTimeZone = z
  .string()
  .default(() => Intl.DateTimeFormat().resolvedOptions().timeZone)
  .refine((zone) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  }, 'not a known time zone');
