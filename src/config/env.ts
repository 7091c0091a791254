import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import cron from 'node-cron';
import { z } from 'zod';
import { parseDuration } from './duration.js';

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

/** Every setting the gateway reads from the environment (contract §8), with its default. */
export const EnvSchema = z.object({
  MQTT_HOST: z.string().min(1).default('0.0.0.0'),
  MQTT_PORT: port.default(1883),
  MQTT_WS_PORT: port.default(8083),
  MQTT_ALLOW_ANONYMOUS: bool.default(false),
  HTTP_HOST: z.string().min(1).default('0.0.0.0'),
  HTTP_PORT: port.default(8080),
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
});

type Env = z.infer<typeof EnvSchema>;

/** The validated, frozen configuration every part receives explicitly. */
export interface Config {
  mqtt: { host: string; port: number; wsPort: number; allowAnonymous: boolean };
  http: { host: string; port: number };
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
      parsed.error.issues.map((i) => `${String(i.path[0])}=${JSON.stringify(known[String(i.path[0])])}: ${i.message}`),
    );
  }
  const e = parsed.data;
  const timeZone = e.TZ ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  try {
    new Intl.DateTimeFormat('en', { timeZone });
  } catch {
    throw new ConfigError([`TZ=${JSON.stringify(timeZone)}: not a known time zone`]);
  }
  return Object.freeze({
    mqtt: { host: e.MQTT_HOST, port: e.MQTT_PORT, wsPort: e.MQTT_WS_PORT, allowAnonymous: e.MQTT_ALLOW_ANONYMOUS },
    http: { host: e.HTTP_HOST, port: e.HTTP_PORT },
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
  });
}
