import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { SITE_RE } from '../topics.js';
import { formatDuration } from './duration.js';
import { envSchema, namesOf, v, valuesOf, type Optional, type Values } from './tree.js';
import {
  bool,
  byteSize,
  cronExpression,
  duration,
  httpBase,
  ianaTimeZone,
  minDuration,
  nonEmpty,
  port,
  positiveInt,
  topicRoot,
  trustedAccounts,
} from './values.js';

const MB = 1024 * 1024;

/**
 * Every setting the gateway reads from the environment (contract §8), where it goes in the Config, and its
 * default. Each variable's name is written here and nowhere else (a unit test counts); its schema yields its
 * value in the Config (a duration in ms, a size in bytes).
 */
const VARS = {
  mqtt: {
    host: v('MQTT_HOST', nonEmpty.default('0.0.0.0')),
    port: v('MQTT_PORT', port.default(1883)),
    wsPort: v('MQTT_WS_PORT', port.default(8083)),
    allowAnonymous: v('MQTT_ALLOW_ANONYMOUS', bool.default(false)),
    /** The priority lane's read path (src/broker/priority.ts); false: aedes reads each socket as it comes. */
    fairRead: v('MQTT_FAIR_READ', bool.default(true)),
    /** A persistent session (clean session off) not connected for this long is forgotten (src/broker/persistence.ts). */
    sessionExpiryMs: v('MQTT_SESSION_EXPIRY', minDuration(1000).default(7 * 86_400_000)),
    /** QoS 1 messages kept per persistent session; beyond it the oldest is dropped (like Mosquitto's max_queued_messages). */
    maxQueued: v('MQTT_MAX_QUEUED', positiveInt.default(1000)),
  },
  // Slow and numerous HTTP clients (docs/security.md#slow-and-numerous-http-clients).
  http: {
    host: v('HTTP_HOST', nonEmpty.default('0.0.0.0')),
    port: v('HTTP_PORT', port.default(8080)),
    /** The whole request line and headers must arrive in this time. */
    headersTimeoutMs: v('HTTP_HEADERS_TIMEOUT', minDuration(100).default(10_000)),
    /** The whole request, body included, must arrive in this time; a response may last longer. */
    requestTimeoutMs: v('HTTP_REQUEST_TIMEOUT', minDuration(100).default(30_000)),
    // Fastify's default: above the 60 s idle timeout of common proxies, so the proxy, not the gateway, closes an idle connection.
    /** An idle keep-alive connection is closed after this time. */
    keepAliveTimeoutMs: v('HTTP_KEEP_ALIVE_TIMEOUT', minDuration(100).default(72_000)),
    /** Open connections one remote address may hold; 0: no bound. */
    maxConnectionsPerSource: v('HTTP_MAX_CONNECTIONS_PER_SOURCE', z.coerce.number().int().min(0).default(128)),
  },
  // The gateway's own TLS (docs/security.md#tls): without the certificate and its key, no TLS listener.
  tls: {
    certFile: v('TLS_CERT_FILE', nonEmpty.optional()),
    keyFile: v('TLS_KEY_FILE', nonEmpty.optional()),
    /** The CA that signs device client certificates. */
    caFile: v('TLS_CA_FILE', nonEmpty.optional()),
    /** MQTT over TLS, MQTT over secure WebSocket, HTTPS for the API and the console (on the plain ones' hosts). */
    mqttsPort: v('MQTTS_PORT', port.default(8883)),
    wssPort: v('MQTT_WSS_PORT', port.default(8084)),
    httpsPort: v('HTTPS_PORT', port.default(8443)),
    /** `optional`: a device may log in with its certificate; `required`: devices must (a password alone is refused). */
    deviceCertAuth: v('DEVICE_CERT_AUTH', z.enum(['off', 'optional', 'required']).default('off')),
    /** False: the plain MQTT, WebSocket and HTTP listeners are not opened, only the TLS ones. */
    plainListeners: v('PLAIN_LISTENERS', z.enum(['on', 'off']).default('on').transform((x) => x === 'on')),
    /** How often the certificate files are read again; a change is served to new connections. */
    reloadIntervalMs: v('TLS_RELOAD_INTERVAL', minDuration(100).default(10_000)),
  },
  influx: {
    url: v('INFLUX_URL', httpBase.default('http://127.0.0.1:8086')),
    db: v('INFLUX_DB', z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only').default('smart_community')),
    username: v('INFLUX_USERNAME', z.string().optional()),
    password: v('INFLUX_PASSWORD', z.string().optional()),
    batchSize: v('INFLUX_BATCH_SIZE', positiveInt.default(5000)),
    flushIntervalMs: v('INFLUX_FLUSH_INTERVAL', duration.default(100)),
    timeoutMs: v('INFLUX_TIMEOUT', duration.default(10_000)),
    retryMaxMs: v('INFLUX_RETRY_MAX', duration.default(30_000)),
    maxPending: v('INFLUX_MAX_PENDING', positiveInt.default(100_000)),
  },
  spool: { maxBytes: v('SPOOL_MAX_MB', positiveInt.default(1024).transform((mb) => mb * MB)) },
  // The per-device quota of the embedded broker (docs/integrators.md#over-quota).
  quota: {
    /** Messages a second per device; 0 turns the quota off. */
    rate: v('DEVICE_MAX_RATE', z.coerce.number().min(0).max(1_000_000).default(10)),
    /** The bucket: messages a device may send at once; undefined: 50, or 5 s of the rate when that is more. */
    burst: v('DEVICE_MAX_BURST', positiveInt.max(1_000_000).optional()),
  },
  // Login throttling (docs/security.md#login-throttling); its other numbers are fixed.
  loginThrottle: {
    /** The longest a refused login's reply waits (the first slowed one waits 250 ms, or this if less). */
    maxDelayMs: v('LOGIN_THROTTLE_MAX_DELAY', duration.refine((ms) => ms <= 20_000, 'at most 20s').default(4_000)),
  },
  dataDir: v('DATA_DIR', nonEmpty.default('./data')),
  rulesDir: v('RULES_DIR', nonEmpty.default('./rules')),
  profilesDir: v('PROFILES_DIR', nonEmpty.default('./profiles')),
  sitesDir: v('SITES_DIR', nonEmpty.default('./sites')),
  // Notifications (docs/notifications.md): the channels themselves are in the site files.
  notify: {
    smtpUrl: v('SMTP_URL', z.url({ protocol: /^smtps?$/, error: 'an smtp:// or smtps:// URL' }).optional()),
    from: v('NOTIFY_FROM', nonEmpty.default(() => `gateway@${hostname()}`)),
    /** The console's address the notifications link to; undefined: the HTTP listener's. */
    consoleUrl: v('CONSOLE_URL', httpBase.optional()),
    /** The first retry of a failed delivery waits this long; each next one twice as long, at most 2 minutes. */
    retryDelayMs: v('NOTIFY_RETRY_DELAY', minDuration(10).default(5_000)),
    /** A delivery is retried until this long after its first attempt. */
    retryForMs: v('NOTIFY_RETRY_FOR', duration.default(600_000)),
    timeoutMs: v('NOTIFY_TIMEOUT', minDuration(100).default(10_000)),
  },
  adminToken: v('ADMIN_TOKEN', z.string().min(16, 'must be at least 16 characters').optional()),
  baseTopic: v('BASE_TOPIC', topicRoot.default('sc')),
  timeZone: v('TZ', ianaTimeZone),
  logLevel: v('LOG_LEVEL', z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
  /** Undefined: readable lines on a terminal, JSON otherwise (log.ts). */
  logFormat: v('LOG_FORMAT', z.enum(['json', 'pretty']).optional()),
  commandTimeoutMs: v('COMMAND_TIMEOUT', duration.default(10_000)),
  /** How long the audit trail keeps a record (docs/security.md#audit-trail). */
  auditRetentionMs: v('AUDIT_RETENTION', minDuration(1000).default(365 * 86_400_000)),
  lastSeenFlushMs: v('LAST_SEEN_FLUSH_INTERVAL', duration.default(5_000)),
  rejectLogIntervalMs: v('REJECT_LOG_INTERVAL', duration.default(60_000)),
  /** Time to dueAt by work order priority. */
  workOrderDueMs: {
    urgent: v('WORKORDER_DUE_URGENT', duration.default(30 * 60_000)),
    high: v('WORKORDER_DUE_HIGH', duration.default(4 * 3_600_000)),
    normal: v('WORKORDER_DUE_NORMAL', duration.default(24 * 3_600_000)),
    low: v('WORKORDER_DUE_LOW', duration.default(72 * 3_600_000)),
  },
  /** node-cron expression (in timeZone) for writing last month's service reports: 00:05 on the 1st. */
  reportsCron: v('REPORTS_CRON', cronExpression.default('5 0 1 * *')),
  // External-broker mode (docs/scale-out.md): with its url the gateway embeds no broker and is a client of it.
  broker: {
    url: v('BROKER_URL', z.url({ protocol: /^(mqtts?|wss?)$/, error: 'an mqtt://, mqtts://, ws:// or wss:// URL' }).optional()),
    username: v('BROKER_USERNAME', nonEmpty.optional()),
    password: v('BROKER_PASSWORD', nonEmpty.optional()),
    // The MQTT client identifier (MQTT 5 §3.1.3.1): kept across restarts so the broker keeps the gateway's session.
    clientId: v('BROKER_CLIENT_ID', z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'letters, digits, _ . and - only, 1..128').optional()),
    /** Set on an ingest worker: the device topics are subscribed as `$share/{group}/...`. */
    shareGroup: v('BROKER_SHARE_GROUP', z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only (no / + #)').optional()),
    // MQTT 5 §3.1.2.11.2: the Session Expiry Interval is a four-byte count of seconds.
    sessionExpirySec: v('BROKER_SESSION_EXPIRY', duration.default(86_400_000).transform((ms) => Math.min(Math.ceil(ms / 1000), 0xffff_ffff))),
    receiveMaximum: v('BROKER_RECEIVE_MAXIMUM', z.coerce.number().int().min(1).max(65535).default(2000)),
    /** `dynsec`: the primary keeps Mosquitto's accounts in step with the registries; `none`: someone else does. */
    accounts: v('BROKER_ACCOUNTS', z.enum(['dynsec', 'none']).default('dynsec')),
    accountTimeoutMs: v('BROKER_ACCOUNT_TIMEOUT', duration.default(5_000)),
  },
  /** False on a primary whose ingest workers store device telemetry and events. */
  storeTelemetry: v('STORE_TELEMETRY', bool.default(true)),
  // An ingest worker's primary.
  primary: {
    url: v('PRIMARY_URL', httpBase.optional()),
    refreshMs: v('DEVICE_REFRESH_INTERVAL', duration.default(30_000)),
  },
  // The upstream link to headquarters (docs/scale-out.md); without its url there is none.
  upstream: {
    url: v('UPSTREAM_URL', z.url({ protocol: /^mqtts?$/, error: 'an mqtt:// or mqtts:// URL' }).optional()),
    username: v('UPSTREAM_USERNAME', z.string().optional()),
    password: v('UPSTREAM_PASSWORD', z.string().optional()),
    clientId: v(
      'UPSTREAM_CLIENT_ID',
      z
        .string()
        .regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'letters, digits, _ . : - (1 to 128)')
        .default(() => `gw-${hostname().replace(/[^A-Za-z0-9_.:-]/g, '-')}`.slice(0, 128)),
    ),
    baseTopic: v('UPSTREAM_BASE_TOPIC', topicRoot.default('hq')),
    /** The sites forwarded; undefined: every site with a registered device. */
    sites: v(
      'UPSTREAM_SITES',
      z
        .string()
        .transform((text) => text.split(',').map((site) => site.trim()))
        .pipe(z.array(z.string().regex(SITE_RE, 'comma-separated sites of lowercase letters, digits and - (contract §1)')))
        .readonly()
        .optional(),
    ),
    /** Account → HMAC secret of the accounts whose commands are accepted. */
    trusted: v('UPSTREAM_TRUSTED', trustedAccounts.default(() => ({})).readonly()),
    maxBytes: v('UPSTREAM_MAX_BYTES', byteSize.default(256 * MB)),
    summaryIntervalMs: v('UPSTREAM_SUMMARY_INTERVAL', minDuration(1000).default(3_600_000)),
  },
};

/** Every variable the gateway reads, by name, each yielding its value in the Config. */
export const EnvSchema = envSchema(VARS);

/** Each field's variable name, for the messages of the checks that span several. */
const NAME = namesOf(VARS);

type Settings = Values<typeof VARS>;

/** The validated, frozen configuration every part receives explicitly. */
export type Config = Optional<ReturnType<typeof toConfig>>;
/** How the gateway reaches an external broker (docs/scale-out.md). */
export type ExternalBrokerConfig = NonNullable<Config['broker']>;
/** UPSTREAM_*: the link to headquarters (docs/scale-out.md). */
export type UpstreamSettings = NonNullable<Config['upstream']>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** Variables whose value a validation error must not repeat: every token, password and secret. */
const isSecret = (name: string) => /_(TOKEN|PASSWORD|SECRET|TRUSTED)$/.test(name) || name === NAME.notify.smtpUrl;

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
  const settings = valuesOf(VARS, parsed.data);
  const problems = [...checkHttpSettings(settings), ...checkBrokerSettings(settings), ...checkTlsSettings(settings)];
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(toConfig(settings));
}

/** The settings as the parts take them: a link that is not configured is undefined, and a role is chosen. */
function toConfig({ upstream, broker, primary, tls, ...settings }: Settings) {
  return {
    ...settings,
    /** The gateway's own TLS; undefined without its certificate and key (then no TLS listener, plain ones only). */
    tls: tls.certFile && tls.keyFile ? { ...tls, certFile: tls.certFile, keyFile: tls.keyFile } : undefined,
    /** The link to headquarters; undefined without its url. */
    upstream: upstream.url ? { ...upstream, url: upstream.url } : undefined,
    /** `primary`: the whole gateway; `ingest`: an ingest worker (a share group set), which only validates and stores. */
    role: broker.shareGroup ? ('ingest' as const) : ('primary' as const),
    /** The external broker; undefined: the embedded aedes broker. */
    broker: broker.url ? { ...broker, url: broker.url, clientId: broker.clientId ?? defaultClientId(broker.shareGroup) } : undefined,
    /** An ingest worker's primary: its API, read for the device registry. */
    primary: primary.url ? { ...primary, url: primary.url } : undefined,
  };
}

/** A worker's default differs from the primary's: two clients with one id would take each other's session. */
function defaultClientId(shareGroup: string | undefined): string {
  const host = hostname().replace(/[^A-Za-z0-9_.-]/g, '-');
  return shareGroup ? `gateway-${host}-${shareGroup}` : `gateway-${host}`;
}

/** Node refuses a headers timeout longer than the request timeout, which includes the headers. */
function checkHttpSettings({ http }: Settings): string[] {
  if (http.headersTimeoutMs <= http.requestTimeoutMs) return [];
  const name = NAME.http;
  return [`${name.headersTimeoutMs}: must not be longer than ${name.requestTimeoutMs} (${formatDuration(http.requestTimeoutMs)}), which includes the headers`];
}

/** The TLS settings that only make sense together (docs/security.md#tls); each problem names its variable. */
function checkTlsSettings({ tls, mqtt, broker }: Settings): string[] {
  const name = NAME.tls;
  const problems: string[] = [];
  if (tls.certFile && !tls.keyFile) problems.push(`${name.keyFile}: required with ${name.certFile} (its private key)`);
  if (tls.keyFile && !tls.certFile) problems.push(`${name.certFile}: required with ${name.keyFile} (the certificate of that key)`);
  const on = Boolean(tls.certFile && tls.keyFile);
  if (!on && tls.caFile) problems.push(`${name.caFile}: needs ${name.certFile} and ${name.keyFile} (client certificates are checked on the TLS listeners)`);
  if (!on && !tls.plainListeners) problems.push(`${name.plainListeners}=off: needs ${name.certFile} and ${name.keyFile}, or nothing would listen`);
  if (tls.deviceCertAuth !== 'off') {
    const setting = `${name.deviceCertAuth}=${tls.deviceCertAuth}`;
    if (!tls.caFile) problems.push(`${setting}: needs ${name.caFile} (the CA that signs device certificates)`);
    if (broker.url) problems.push(`${setting}: the embedded broker checks device certificates; with ${NAME.broker.url} the external broker does`);
    if (tls.deviceCertAuth === 'required' && mqtt.allowAnonymous) {
      problems.push(`${setting}: contradicts ${NAME.mqtt.allowAnonymous}=true (anonymous clients may publish as any device)`);
    }
  }
  return problems;
}

/** The settings that only make sense together (docs/scale-out.md); each problem names its variable. */
function checkBrokerSettings({ broker, primary, adminToken, storeTelemetry }: Settings): string[] {
  const name = { ...NAME.broker, primary: NAME.primary.url, adminToken: NAME.adminToken, storeTelemetry: NAME.storeTelemetry };
  const problems: string[] = [];
  if (!broker.url) {
    if (broker.shareGroup) problems.push(`${name.shareGroup}: needs ${name.url} (aedes has no shared subscriptions)`);
    if (!storeTelemetry) problems.push(`${name.storeTelemetry}=false: needs ${name.url} and ingest workers, or nothing would store device data`);
    return problems;
  }
  if (broker.shareGroup) {
    if (!primary.url) problems.push(`${name.primary}: required on an ingest worker (${name.shareGroup} set), to read the device registry`);
    if (!adminToken) problems.push(`${name.adminToken}: required on an ingest worker, the primary's admin token`);
    if (!storeTelemetry) problems.push(`${name.storeTelemetry}=false: an ingest worker exists to store`);
  } else if (broker.accounts === 'dynsec' && !broker.username) {
    problems.push(`${name.username}: required with ${name.accounts}=dynsec (a dynamic-security admin account)`);
  }
  if (broker.password && !broker.username) problems.push(`${name.username}: required with ${name.password}`);
  return problems;
}
