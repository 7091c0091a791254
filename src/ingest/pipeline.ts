import { z } from 'zod';
import type { Bus, Origin } from '../bus.js';
import { checkEvent, checkTelemetry, describeIssues, type TelemetryFields } from '../devices/kinds/index.js';
import type { Failures, FailureStage } from '../failures.js';
import { firstNonFinite, notFinite } from '../finite.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Rejections } from './rejections.js';
import { resolveTs } from './timestamp.js';

/**
 * Where accepted measurements go; the promise settles once the point is safe (QoS 1 waits for it). A field is a
 * number, a boolean or an enum's text (contract §9: stored as a string field).
 */
export interface IngestSink {
  telemetry(o: Origin, fields: TelemetryFields, ts: number, qos: number): Promise<void> | undefined;
  event(o: Origin, type: string, details: Record<string, unknown>, ts: number, qos: number): Promise<void> | undefined;
}

/** A vendor's message mapped by its profile (src/profiles/mapping.ts): the kind's telemetry and events, checked. */
export interface MappedMessage {
  telemetry?: Record<string, unknown>;
  events: ReadonlyArray<{ type: string; ts: number; details: Record<string, unknown> }>;
  ts: number;
}

export type MapOutcome = ({ ok: true } & MappedMessage) | { ok: false; reason: string };

export interface IngestResult {
  accepted: boolean;
  /** Settles when the message is safe; absent when it already is. */
  safe?: Promise<void>;
}

/** Payloads above this are refused before parsing. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

/** The reason a device is given when its message's handling failed inside the gateway. */
export const INTERNAL_ERROR = 'internal_error';

const CommandResultSchema = z.looseObject({
  id: z.string().min(1).max(128),
  ok: z.boolean(),
  error: z.string().max(1024).optional(),
});

const REJECTED: IngestResult = { accepted: false };
const ACCEPTED: IngestResult = { accepted: true };

type Handler = (o: Origin, topic: string, payload: Buffer, qos: number, resend: boolean) => IngestResult;

/**
 * Validated ingest (contract §2): one handler per topic suffix, each turning a device's message into
 * a stored point and a bus fact, or a rejection that names the field.
 */
export class Ingest {
  private readonly handlers: Record<string, Handler>;
  private readonly accepted: Record<string, Record<string, () => void>> = {};
  /** The step of the message in hand, for the failure count if it throws. */
  private stage: FailureStage = 'validation';

  constructor(
    private readonly bus: Bus,
    private readonly sink: IngestSink,
    private readonly rejections: Rejections,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly failures: Failures,
    private readonly now: () => number = Date.now,
  ) {
    this.handlers = {
      telemetry: (o, t, p, q, r) => this.telemetry(o, t, p, q, r),
      event: (o, t, p, q, r) => this.event(o, t, p, q, r),
      status: (o, t, p) => this.status(o, t, p),
      'cmd/result': (o, t, p) => this.commandResult(o, t, p),
    };
  }

  /**
   * Handles one message from a device; `suffix` is what follows its own topic prefix. This is the message's
   * failure boundary (docs/architecture.md): whatever its handling raises is counted, logged and answered as
   * a refusal with reason `internal_error`; it never reaches the broker, the process or another message.
   * `resend`: the device sends again a message whose hand-off failed; it is stored, and the rules, which saw it
   * the first time, do not see it again.
   */
  handle(o: Origin, topic: string, suffix: string, payload: Buffer, qos: number, resend = false): IngestResult {
    this.stage = 'validation';
    try {
      const handler = Object.hasOwn(this.handlers, suffix) ? this.handlers[suffix] : undefined;
      if (!handler) return this.reject(o, topic, `topic: unknown suffix ${JSON.stringify(suffix)} (telemetry, event, status, cmd/result)`);
      if (payload.length > MAX_PAYLOAD_BYTES) return this.reject(o, topic, `payload: larger than ${MAX_PAYLOAD_BYTES} bytes`);
      return handler(o, topic, payload, qos, resend);
    } catch (err) {
      this.failures.report(this.stage, err, { site: o.site, kind: o.kind, device: o.device, topic });
      return this.rejectSafely(o, topic, payload);
    }
  }

  /**
   * Handles a message a profiled device (or a bridge for it) sent in its vendor's JSON: `map` turns the parsed
   * payload into the kind's telemetry and events. From there it is the native path: the same storage, bus facts
   * and refusals, within the same failure boundary.
   */
  handleMapped(
    o: Origin,
    topic: string,
    payload: Buffer,
    qos: number,
    map: (body: unknown, receivedAt: number) => MapOutcome,
    /** The payload already parsed (a bridge read the device's name from it). */
    parsed?: unknown,
  ): IngestResult {
    this.stage = 'validation';
    try {
      if (payload.length > MAX_PAYLOAD_BYTES) return this.reject(o, topic, `payload: larger than ${MAX_PAYLOAD_BYTES} bytes`);
      const body = parsed ?? parseJson(payload);
      if (body === undefined) return this.reject(o, topic, 'payload: not valid JSON', payload);
      const now = this.now();
      const mapped = map(body, now);
      if (!mapped.ok) return this.reject(o, topic, mapped.reason, payload);
      // The vendor's time is held to the same limits as a native `ts` (the events carry the message's time).
      const time = resolveTs(mapped.ts, now);
      if (!time.ok) return this.reject(o, topic, time.reason, payload);
      return this.accept(o, mapped, qos);
    } catch (err) {
      this.failures.report(this.stage, err, { site: o.site, kind: o.kind, device: o.device, topic });
      return this.rejectSafely(o, topic, payload);
    }
  }

  /**
   * Takes in what the gateway read from a polled device: `map` turns the raw values into the kind's telemetry
   * and events (refused as a device's message would be, on `source`, e.g. `modbus://10.0.3.7:502/3`).
   */
  handlePolled(o: Origin, source: string, map: () => MapOutcome): IngestResult {
    this.stage = 'validation';
    try {
      const mapped = map();
      if (!mapped.ok) return this.reject(o, source, mapped.reason);
      return this.accept(o, mapped, 0);
    } catch (err) {
      this.failures.report(this.stage, err, { site: o.site, kind: o.kind, device: o.device, topic: source });
      return this.rejectSafely(o, source, Buffer.alloc(0));
    }
  }

  /** Stores a mapped message's reading and events and tells the bus (a poller's values come in here too). */
  accept(o: Origin, m: MappedMessage, qos: number): IngestResult {
    this.stage = 'storage';
    const pending: Array<Promise<void>> = [];
    if (m.telemetry) {
      const fields = m.telemetry as TelemetryFields;
      const safe = this.sink.telemetry(o, fields, m.ts, qos);
      if (safe) pending.push(safe);
      this.count(o, 'telemetry');
      this.bus.emit('telemetryAccepted', { site: o.site, kind: o.kind, device: o.device, zone: o.zone, ts: m.ts, fields });
    }
    for (const e of m.events) {
      const safe = this.sink.event(o, e.type, e.details, e.ts, qos);
      if (safe) pending.push(safe);
      this.count(o, 'event');
      this.bus.emit('eventAccepted', { site: o.site, kind: o.kind, device: o.device, zone: o.zone, ts: e.ts, type: e.type, details: e.details });
    }
    if (pending.length === 0) return ACCEPTED;
    return { accepted: true, safe: pending.length === 1 ? pending[0] : Promise.all(pending).then(() => undefined) };
  }

  private telemetry(o: Origin, topic: string, payload: Buffer, qos: number, resend: boolean): IngestResult {
    const body = parseJson(payload);
    if (body === undefined) return this.reject(o, topic, 'payload: not valid JSON', payload);
    const checked = checkTelemetry(o.kind, body);
    if (!checked.ok) return this.reject(o, topic, checked.reason, payload);
    const reading = checked.value as TelemetryFields & { ts?: number | string };
    const time = resolveTs(reading.ts, this.now());
    if (!time.ok) return this.reject(o, topic, time.reason, payload);
    const fields = reading.ts === undefined ? reading : withoutTs(reading);
    this.stage = 'storage';
    const safe = this.sink.telemetry(o, fields, time.ms, qos);
    this.count(o, 'telemetry');
    if (resend) return safe ? { accepted: true, safe } : ACCEPTED;
    // Named, not spread: V8 spreads an object into a literal ~50× slower, and this runs per message.
    this.bus.emit('telemetryAccepted', { site: o.site, kind: o.kind, device: o.device, zone: o.zone, ts: time.ms, fields });
    return safe ? { accepted: true, safe } : ACCEPTED;
  }

  private event(o: Origin, topic: string, payload: Buffer, qos: number, resend: boolean): IngestResult {
    const body = parseJson(payload);
    if (body === undefined) return this.reject(o, topic, 'payload: not valid JSON', payload);
    const checked = checkEvent(o.kind, body);
    if (!checked.ok) return this.reject(o, topic, checked.reason, payload);
    const { ts, type, ...details } = checked.value as { ts?: number | string; type: string };
    const time = resolveTs(ts, this.now());
    if (!time.ok) return this.reject(o, topic, time.reason, payload);
    this.stage = 'storage';
    const safe = this.sink.event(o, type, details, time.ms, qos);
    this.count(o, 'event');
    if (resend) return safe ? { accepted: true, safe } : ACCEPTED;
    this.bus.emit('eventAccepted', { site: o.site, kind: o.kind, device: o.device, zone: o.zone, ts: time.ms, type, details });
    return safe ? { accepted: true, safe } : ACCEPTED;
  }

  private status(o: Origin, topic: string, payload: Buffer): IngestResult {
    const text = payload.toString();
    if (text !== 'online' && text !== 'offline') {
      return this.reject(o, topic, 'payload: status must be "online" or "offline"', payload);
    }
    this.count(o, 'status');
    // Nothing to store: online state lives in the registry, which starts every device offline after a restart.
    this.bus.emit('statusReceived', { site: o.site, kind: o.kind, device: o.device, zone: o.zone, online: text === 'online', ts: this.now() });
    return ACCEPTED;
  }

  private commandResult(o: Origin, topic: string, payload: Buffer): IngestResult {
    const body = parseJson(payload);
    if (body === undefined) return this.reject(o, topic, 'payload: not valid JSON', payload);
    const result = CommandResultSchema.safeParse(body);
    if (!result.success) return this.reject(o, topic, describeIssues(result.error), payload);
    // The schema is loose (a result may carry what the device measured): every number in it must be finite.
    const bad = firstNonFinite(result.data);
    if (bad !== undefined) return this.reject(o, topic, notFinite(bad), payload);
    this.count(o, 'cmd_result');
    const { id, ok, error } = result.data;
    this.bus.emit('commandResultReceived', { site: o.site, kind: o.kind, device: o.device, zone: o.zone, id, ok, error, body: result.data });
    return ACCEPTED;
  }

  private reject(o: Origin, topic: string, reason: string, payload?: Buffer): IngestResult {
    this.log.debug({ site: o.site, kind: o.kind, device: o.device, reason }, 'message rejected');
    this.rejections.reject({ topic, reason, site: o.site, kind: o.kind, device: o.device, payload });
    return REJECTED;
  }

  /** The refusal of a message whose handling failed; a failure here too is only counted. */
  private rejectSafely(o: Origin, topic: string, payload: Buffer): IngestResult {
    try {
      return this.reject(o, topic, INTERNAL_ERROR, payload);
    } catch (err) {
      this.failures.report('ingest', err, { site: o.site, kind: o.kind, device: o.device, topic });
      return REJECTED;
    }
  }

  private count(o: Origin, type: string): void {
    const byKind = (this.accepted[type] ??= {});
    let inc = byKind[o.kind];
    if (!inc) {
      inc = this.metrics.counterFor('gateway_messages_accepted_total', 'Device messages accepted, by kind and type', {
        kind: o.kind,
        type,
      });
      byKind[o.kind] = inc;
    }
    inc();
  }
}

/** The measurements without `ts` (a plain loop: this runs for every reading). */
function withoutTs(body: Record<string, number | boolean | string | undefined>): TelemetryFields {
  const fields: TelemetryFields = {};
  for (const key in body) if (key !== 'ts') fields[key] = body[key] as number | boolean | string;
  return fields;
}

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8')) as unknown;
  } catch {
    // Not an error of the gateway's: the caller turns `undefined` into a rejection that says so.
    return undefined;
  }
}
