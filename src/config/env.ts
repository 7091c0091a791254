import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseEnv } from 'node:util';
import cron from 'node-cron';
import { z } from 'zod';
import { SITE_RE } from '../topics.js';
import { formatDuration, parseDuration } from './duration.js';

const port = z.coerce.number().int().min(0).max(65535);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration such as 500ms, 10s, 5m or 2h` });
    return z.NEVER;
  }
  return ms;
});
const positiveInt = z.coerce.number().int().positive();
/** `268435456`, `512KB`, `256MB`, `1GB` (binary units) → bytes. */
const byteSize = z.string().transform((text, ctx) => {
  const m = /^(\d+)\s*(B|KB|MB|GB)?$/i.exec(text.trim());
  const bytes = m ? Number(m[1]) * 1024 ** ['B', 'KB', 'MB', 'GB'].indexOf((m[2] ?? 'B').toUpperCase()) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 65_536) {
    ctx.addIssue({ code: 'custom', message: 'a size of at least 64KB, such as 268435456, 512MB or 1GB' });
    return z.NEVER;
  }
  return bytes;
});
/** `hq-ops:secret1,hq-night:secret2` → account → HMAC secret (a secret may hold `:` but not `,`). */
const trustedAccounts = z.string().transform((text, ctx) => {
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
/** Variables whose value a validation error must not repeat: every token, password and secret. */
const isSecret = (name: string) => /_(TOKEN|PASSWORD|SECRET|TRUSTED)$/.test(name);

/** Every setting the gateway reads from the environment (contract §8), with its default. */
export const EnvSchema = z.object({
  MQTT_HOST: z.string().min(1).default('0.0.0.0'),
  MQTT_PORT: port.default(1883),
  MQTT_WS_PORT: port.default(8083),
  MQTT_ALLOW_ANONYMOUS: bool.default(false),
  HTTP_HOST: z.string().min(1).default('0.0.0.0'),
  HTTP_PORT: port.default(8080),
  // Slow and numerous HTTP clients (docs/security.md#slow-and-numerous-http-clients).
  HTTP_HEADERS_TIMEOUT: duration.refine((ms) => ms >= 100, 'at least 100ms').default(10_000),
  HTTP_REQUEST_TIMEOUT: duration.refine((ms) => ms >= 100, 'at least 100ms').default(30_000),
  // Fastify's default: above the 60 s idle timeout of common proxies, so the proxy, not the gateway, closes an idle connection.
  HTTP_KEEP_ALIVE_TIMEOUT: duration.refine((ms) => ms >= 100, 'at least 100ms').default(72_000),
  HTTP_MAX_CONNECTIONS_PER_SOURCE: z.coerce.number().int().min(0).default(128),
  INFLUX_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8086'),
  INFLUX_DB: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only').default('smart_community'),
  INFLUX_USERNAME: z.string().optional(),
  INFLUX_PASSWORD: z.string().optional(),
  INFLUX_BATCH_SIZE: positiveInt.default(5000),
  INFLUX_FLUSH_INTERVAL: duration.default(100),
  INFLUX_TIMEOUT: duration.default(10_000),
  INFLUX_RETRY_MAX: duration.default(30_000),
  INFLUX_MAX_PENDING: positiveInt.default(100_000),
  SPOOL_MAX_MB: positiveInt.default(1024),
  DATA_DIR: z.string().min(1).default('./data'),
  RULES_DIR: z.string().min(1).default('./rules'),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  BASE_TOPIC: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, 'topic levels of letters, digits, _ and -, no wildcards')
    .default('sc'),
  TZ: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  COMMAND_TIMEOUT: duration.default(10_000),
  LAST_SEEN_FLUSH_INTERVAL: duration.default(5_000),
  REJECT_LOG_INTERVAL: duration.default(60_000),
  // How long a work order of each priority has before it is overdue.
  WORKORDER_DUE_URGENT: duration.default(30 * 60_000),
  WORKORDER_DUE_HIGH: duration.default(4 * 3_600_000),
  WORKORDER_DUE_NORMAL: duration.default(24 * 3_600_000),
  WORKORDER_DUE_LOW: duration.default(72 * 3_600_000),
  // When the monthly service reports are written (node-cron, in TZ): 00:05 on the 1st.
  REPORTS_CRON: z
    .string()
    .superRefine((expr, ctx) => {
      const v = cron.validateDetailed(expr);
      if (!v.valid) ctx.addIssue({ code: 'custom', message: `not a cron expression: ${v.errors.map((e) => e.message).join('; ')}` });
    })
    .default('5 0 1 * *'),
  // External-broker mode (docs/scale-out.md): with BROKER_URL the gateway embeds no broker and is a client of it.
  BROKER_URL: z.url({ protocol: /^(mqtts?|wss?)$/, error: 'an mqtt://, mqtts://, ws:// or wss:// URL' }).optional(),
  BROKER_USERNAME: z.string().min(1).optional(),
  BROKER_PASSWORD: z.string().min(1).optional(),
  // The MQTT client identifier (MQTT 5 §3.1.3.1): kept across restarts so the broker keeps the gateway's session.
  BROKER_CLIENT_ID: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'letters, digits, _ . and - only, 1..128').optional(),
  BROKER_SHARE_GROUP: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only (no / + #)').optional(),
  BROKER_SESSION_EXPIRY: duration.default(86_400_000),
  BROKER_RECEIVE_MAXIMUM: z.coerce.number().int().min(1).max(65535).default(2000),
  BROKER_ACCOUNTS: z.enum(['dynsec', 'none']).default('dynsec'),
  BROKER_ACCOUNT_TIMEOUT: duration.default(5_000),
  STORE_TELEMETRY: bool.default(true),
  PRIMARY_URL: z.url({ protocol: /^https?$/ }).optional(),
  DEVICE_REFRESH_INTERVAL: duration.default(30_000),
  // The upstream link to headquarters (docs/scale-out.md); without UPSTREAM_URL there is none.
  UPSTREAM_URL: z.url({ protocol: /^mqtts?$/, error: 'an mqtt:// or mqtts:// URL' }).optional(),
  UPSTREAM_USERNAME: z.string().optional(),
  UPSTREAM_PASSWORD: z.string().optional(),
  UPSTREAM_CLIENT_ID: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'letters, digits, _ . : - (1 to 128)').optional(),
  UPSTREAM_BASE_TOPIC: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, 'topic levels of letters, digits, _ and -, no wildcards')
    .default('hq'),
  UPSTREAM_SITES: z
    .string()
    .transform((text) => text.split(',').map((site) => site.trim()))
    .pipe(z.array(z.string().regex(SITE_RE, 'comma-separated sites of lowercase letters, digits and - (contract §1)')))
    .optional(),
  UPSTREAM_TRUSTED: trustedAccounts.optional(),
  UPSTREAM_MAX_BYTES: byteSize.default(256 * 1024 * 1024),
  UPSTREAM_SUMMARY_INTERVAL: duration.refine((ms) => ms >= 1000, 'at least 1s').default(3_600_000),
});

type Env = z.infer<typeof EnvSchema>;

/** The validated, frozen configuration every part receives explicitly. */
export interface Config {
  mqtt: { host: string; port: number; wsPort: number; allowAnonymous: boolean };
  http: {
    host: string;
    port: number;
    /** The whole request line and headers must arrive in this time (HTTP_HEADERS_TIMEOUT). */
    headersTimeoutMs: number;
    /** The whole request, body included, must arrive in this time (HTTP_REQUEST_TIMEOUT); a response may last longer. */
    requestTimeoutMs: number;
    /** An idle keep-alive connection is closed after this time (HTTP_KEEP_ALIVE_TIMEOUT). */
    keepAliveTimeoutMs: number;
    /** Open connections one remote address may hold; 0: no bound (HTTP_MAX_CONNECTIONS_PER_SOURCE). */
    maxConnectionsPerSource: number;
  };
  influx: {
    url: string;
    db: string;
    username?: string;
    password?: string;
    batchSize: number;
    flushIntervalMs: number;
    timeoutMs: number;
    retryMaxMs: number;
    maxPending: number;
  };
  spool: { maxBytes: number };
  dataDir: string;
  rulesDir: string;
  adminToken?: string;
  baseTopic: string;
  timeZone: string;
  logLevel: Env['LOG_LEVEL'];
  commandTimeoutMs: number;
  lastSeenFlushMs: number;
  rejectLogIntervalMs: number;
  /** Time to dueAt by work order priority. */
  workOrderDueMs: { urgent: number; high: number; normal: number; low: number };
  /** node-cron expression (in timeZone) for writing last month's service reports. */
  reportsCron: string;
  /** The link to headquarters; undefined when UPSTREAM_URL is unset. */
  upstream?: UpstreamSettings;
  /** `primary`: the whole gateway; `ingest`: an ingest worker (BROKER_SHARE_GROUP set), which only validates and stores. */
  role: 'primary' | 'ingest';
  /** The external broker (BROKER_URL); undefined: the embedded aedes broker. */
  broker?: ExternalBrokerConfig;
  /** False on a primary whose ingest workers store device telemetry and events (STORE_TELEMETRY). */
  storeTelemetry: boolean;
  /** An ingest worker's primary: its API, read for the device registry. */
  primary?: { url: string; refreshMs: number };
}

/** How the gateway reaches an external broker (docs/scale-out.md). */
export interface ExternalBrokerConfig {
  url: string;
  username?: string;
  password?: string;
  clientId: string;
  /** Set on an ingest worker: the device topics are subscribed as `$share/{group}/...`. */
  shareGroup?: string;
  sessionExpirySec: number;
  receiveMaximum: number;
  /** `dynsec`: the primary keeps Mosquitto's accounts in step with the registries; `none`: someone else does. */
  accounts: 'dynsec' | 'none';
  accountTimeoutMs: number;
}

/** UPSTREAM_*: the link to headquarters (docs/scale-out.md). */
export interface UpstreamSettings {
  url: string;
  username?: string;
  password?: string;
  clientId: string;
  baseTopic: string;
  /** The sites forwarded; undefined: every site with a registered device. */
  sites?: readonly string[];
  /** Account → HMAC secret of the accounts whose commands are accepted. */
  trusted: Readonly<Record<string, string>>;
  maxBytes: number;
  summaryIntervalMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** Reads `.env` (when present) under the real environment, which wins. */
export function readEnvironment(env: NodeJS.ProcessEnv = process.env, envFile = '.env'): Record<string, string | undefined> {
  const fromFile = existsSync(envFile) ? parseEnv(readFileSync(envFile, 'utf8')) : {};
  return { ...fromFile, ...env };
}

/** Validates the environment into a Config; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Readonly<Config> {
  const known = Object.fromEntries(
    Object.keys(EnvSchema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]),
  );
  const parsed = EnvSchema.safeParse(known);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const name = String(i.path[0]);
        return `${name}=${isSecret(name) ? '"[redacted]"' : JSON.stringify(known[name])}: ${i.message}`;
      }),
    );
  }
  const e = parsed.data;
  const problems = [...checkHttpSettings(e), ...checkBrokerSettings(e)];
  if (problems.length > 0) throw new ConfigError(problems);
  const timeZone = e.TZ ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  try {
    new Intl.DateTimeFormat('en', { timeZone });
  } catch {
    throw new ConfigError([`TZ=${JSON.stringify(timeZone)}: not a known time zone`]);
  }
  return Object.freeze({
    mqtt: { host: e.MQTT_HOST, port: e.MQTT_PORT, wsPort: e.MQTT_WS_PORT, allowAnonymous: e.MQTT_ALLOW_ANONYMOUS },
    http: {
      host: e.HTTP_HOST,
      port: e.HTTP_PORT,
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT,
      maxConnectionsPerSource: e.HTTP_MAX_CONNECTIONS_PER_SOURCE,
    },
    influx: {
      url: e.INFLUX_URL.replace(/\/+$/, ''),
      db: e.INFLUX_DB,
      username: e.INFLUX_USERNAME,
      password: e.INFLUX_PASSWORD,
      batchSize: e.INFLUX_BATCH_SIZE,
      flushIntervalMs: e.INFLUX_FLUSH_INTERVAL,
      timeoutMs: e.INFLUX_TIMEOUT,
      retryMaxMs: e.INFLUX_RETRY_MAX,
      maxPending: e.INFLUX_MAX_PENDING,
    },
    spool: { maxBytes: e.SPOOL_MAX_MB * 1024 * 1024 },
    dataDir: e.DATA_DIR,
    rulesDir: e.RULES_DIR,
    adminToken: e.ADMIN_TOKEN,
    baseTopic: e.BASE_TOPIC,
    timeZone,
    logLevel: e.LOG_LEVEL,
    commandTimeoutMs: e.COMMAND_TIMEOUT,
    lastSeenFlushMs: e.LAST_SEEN_FLUSH_INTERVAL,
    rejectLogIntervalMs: e.REJECT_LOG_INTERVAL,
    workOrderDueMs: { urgent: e.WORKORDER_DUE_URGENT, high: e.WORKORDER_DUE_HIGH, normal: e.WORKORDER_DUE_NORMAL, low: e.WORKORDER_DUE_LOW },
    reportsCron: e.REPORTS_CRON,
    upstream: e.UPSTREAM_URL
      ? {
          url: e.UPSTREAM_URL,
          username: e.UPSTREAM_USERNAME,
          password: e.UPSTREAM_PASSWORD,
          clientId: e.UPSTREAM_CLIENT_ID ?? `gw-${hostname().replace(/[^A-Za-z0-9_.:-]/g, '-')}`.slice(0, 128),
          baseTopic: e.UPSTREAM_BASE_TOPIC,
          sites: e.UPSTREAM_SITES,
          trusted: e.UPSTREAM_TRUSTED ?? {},
          maxBytes: e.UPSTREAM_MAX_BYTES,
          summaryIntervalMs: e.UPSTREAM_SUMMARY_INTERVAL,
        }
      : undefined,
    role: e.BROKER_SHARE_GROUP ? 'ingest' : 'primary',
    broker: brokerConfig(e),
    storeTelemetry: e.STORE_TELEMETRY,
    primary: e.PRIMARY_URL ? { url: e.PRIMARY_URL.replace(/\/+$/, ''), refreshMs: e.DEVICE_REFRESH_INTERVAL } : undefined,
  });
}

/** Node refuses a headers timeout longer than the request timeout, which includes the headers. */
function checkHttpSettings(e: Env): string[] {
  if (e.HTTP_HEADERS_TIMEOUT <= e.HTTP_REQUEST_TIMEOUT) return [];
  return [`HTTP_HEADERS_TIMEOUT: must not be longer than HTTP_REQUEST_TIMEOUT (${formatDuration(e.HTTP_REQUEST_TIMEOUT)}), which includes the headers`];
}

/** The settings that only make sense together (docs/scale-out.md); each problem names its variable. */
function checkBrokerSettings(e: Env): string[] {
  const problems: string[] = [];
  if (!e.BROKER_URL) {
    if (e.BROKER_SHARE_GROUP) problems.push('BROKER_SHARE_GROUP: needs BROKER_URL (aedes has no shared subscriptions)');
    if (!e.STORE_TELEMETRY) problems.push('STORE_TELEMETRY=false: needs BROKER_URL and ingest workers, or nothing would store device data');
    return problems;
  }
  if (e.BROKER_SHARE_GROUP) {
    if (!e.PRIMARY_URL) problems.push('PRIMARY_URL: required on an ingest worker (BROKER_SHARE_GROUP set), to read the device registry');
    if (!e.ADMIN_TOKEN) problems.push("ADMIN_TOKEN: required on an ingest worker, the primary's admin token");
    if (!e.STORE_TELEMETRY) problems.push('STORE_TELEMETRY=false: an ingest worker exists to store');
  } else if (e.BROKER_ACCOUNTS === 'dynsec' && !e.BROKER_USERNAME) {
    problems.push('BROKER_USERNAME: required with BROKER_ACCOUNTS=dynsec (a dynamic-security admin account)');
  }
  if (e.BROKER_PASSWORD && !e.BROKER_USERNAME) problems.push('BROKER_USERNAME: required with BROKER_PASSWORD');
  return problems;
}

function brokerConfig(e: Env): ExternalBrokerConfig | undefined {
  if (!e.BROKER_URL) return undefined;
  const host = hostname().replace(/[^A-Za-z0-9_.-]/g, '-');
  return {
    url: e.BROKER_URL,
    username: e.BROKER_USERNAME,
    password: e.BROKER_PASSWORD,
    // A worker's default differs from the primary's: two clients with one id would take each other's session.
    clientId: e.BROKER_CLIENT_ID ?? (e.BROKER_SHARE_GROUP ? `gateway-${host}-${e.BROKER_SHARE_GROUP}` : `gateway-${host}`),
    shareGroup: e.BROKER_SHARE_GROUP,
    // MQTT 5 §3.1.2.11.2: the Session Expiry Interval is a four-byte count of seconds.
    sessionExpirySec: Math.min(Math.ceil(e.BROKER_SESSION_EXPIRY / 1000), 0xffff_ffff),
    receiveMaximum: e.BROKER_RECEIVE_MAXIMUM,
    accounts: e.BROKER_ACCOUNTS,
    accountTimeoutMs: e.BROKER_ACCOUNT_TIMEOUT,
  };
}
